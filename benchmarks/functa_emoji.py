"""Functa on emoji64: test PSNR after 3 inner steps, by latent size.

Meta-trains a functa (shared SIREN, shift modulations, Meta-SGD rates, 3 inner steps) on the training
split of ../shared/data/datasets/emoji64 (Twemoji, CC-BY 4.0; split by first code point) for each
latent size, then encodes the test split (3 steps from zero) and reports the mean PSNR. On the 2-core
CPU the images are taken at 32x32 (``--size``) and the training is short (``--steps``): the paper's
setting (64x64, 10^5+ steps on accelerators) is out of reach there, so read the table as a trend.
Writes benchmarks/results/functa_emoji.json. Quoted in BENCHMARKS.md. Run alone:

    python benchmarks/functa_emoji.py --latents 64 128 256 512 --steps 600 --width 64 --depth 3 --size 32 --lr 3e-4
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from inrkit.fieldsets import load_dataset
from inrkit.fieldsets.functa import FunctaConfig, encode, train_functa

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "datasets" / "emoji64"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--latents", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--time-budget", type=float, default=0.0,
                    help="stop each latent size's training after this many seconds (or --steps, if that comes first)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "functa_emoji.json")
    a = ap.parse_args()
    size = (a.size, a.size)
    train = load_dataset(a.data, size, "train")
    test = load_dataset(a.data, size, "test")
    rows = []
    for d in a.latents:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            meta = train_functa(train, test, Path(tmp) / "f", FunctaConfig(a.width, a.depth, d), inner_steps=3,
                                steps=a.steps, batch_size=a.batch_size, lr=a.lr, eval_every=max(a.steps // 5, 1),
                                device=a.device, progress=False, time_budget=a.time_budget)
            seconds = time.perf_counter() - t
            scores = {k: encode(test, Path(tmp) / "f", inner_steps=k, device=a.device, progress=False)["mean_psnr"]
                      for k in (1, 2, 3)}
        rows.append({"latent_dim": d, "train_seconds": round(seconds, 1), "test_psnr_after": scores,
                     "history": meta["history"]})
        print(f"latent {d:4d}: test PSNR after 1/2/3 steps {scores[1]:.2f} / {scores[2]:.2f} / {scores[3]:.2f} dB "
              f"({meta['steps']} outer steps in {seconds:.0f} s)", flush=True)
    device = "cuda" if a.device != "cpu" and torch.cuda.is_available() else "cpu"
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"size": a.size, "network": f"siren {a.depth}x{a.width}", "steps": a.steps,
                                 "batch_size": a.batch_size, "lr": a.lr, "time_budget": a.time_budget,
                                 "train_images": len(train),
                                 "test_images": len(test), "device": device, "cpus": os.cpu_count(),
                                 "machine": platform.processor() or platform.machine(), "rows": rows,
                                 "load_after": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
