"""Sparse-view CT: the field against filtered back-projection from the same views.

Shepp-Logan at 256x256 from 20 parallel-beam views (the issue's target: the field's
PSNR beats FBP by at least 5 dB). Each preset trains for --steps or --time-budget
seconds; both reconstructions are clipped to [0, 1] and scored against the phantom.
Writes benchmarks/results/ct.json and ct.png (phantom | FBP | each preset). Run:

    python benchmarks/ct.py [--presets ct siren] [--views 20] [--size 256] [--time-budget 120] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch

import inrkit
from inrkit.signals.ct import load_ct
from inrkit.signals.image import save_image

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["ct", "siren"])
    ap.add_argument("--views", type=int, default=20)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--time-budget", type=float, default=120.0)
    ap.add_argument("--batch-size", type=int, default=1 << 14, help="field samples per step (rays x size)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a loaded machine)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    signal = load_ct("sample:shepp-logan", views=args.views, size=args.size)
    runs, tiles = [], [signal.image, signal.fbp]
    for name in args.presets:
        preset = inrkit.get_preset(name)
        field = inrkit.make_field(preset.field, signal)
        cfg = inrkit.FitConfig(steps=args.steps, time_budget=args.time_budget, batch_size=args.batch_size,
                               eval_every=200, compile="off", progress=False)
        r = inrkit.fit(field, signal, cfg, preset.optim)
        m = r.metrics
        runs.append({"preset": name, **{k: m[k] for k in ("psnr", "ssim", "psnr_fbp", "ssim_fbp", "psnr_gain_over_fbp",
                                                         "projection_psnr", "steps", "seconds", "params")},
                     "history": [{"step": h["step"], "seconds": h["seconds"], "psnr": round(h["psnr"], 2)} for h in r.history]})
        tiles.append(r.prediction)
        print(f"{name}: PSNR {m['psnr']:.2f} dB vs FBP {m['psnr_fbp']:.2f} dB (+{m['psnr_gain_over_fbp']:.2f}), "
              f"SSIM {m['ssim']:.3f} vs {m['ssim_fbp']:.3f}, {m['steps']} steps in {m['seconds']:.0f} s")
    gap = np.zeros((args.size, 4), np.float32)
    save_image(args.out / "ct.png", np.concatenate([t for x in tiles for t in (x, gap)][:-1], 1)[..., None])
    result = {"signal": f"sample:shepp-logan {args.size}x{args.size}", "views": args.views,
              "time_budget": args.time_budget, "batch_size": args.batch_size, "threads": args.threads,
              "machine": f"{platform.machine()} CPU shared with other jobs; torch {torch.__version__}", "runs": runs}
    (args.out / "ct.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
