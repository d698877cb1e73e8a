"""Poisson reconstruction at 256x256: an image fitted from its gradient field only (and its Laplacian only).

The SIREN paper's experiment (Sec. 4.1, Table 1 of the supplement: 32.91 dB SIREN, 26.35 dB ReLU + positional
encoding, from gradients). Scored as the signal scores it: the unobservable constant (gradient) or affine part
(Laplacian) set to the image's, PSNR on [0, 1] grey values. Writes benchmarks/results/poisson.json and, per run,
the reconstruction under benchmarks/results/poisson/. Run:

    python benchmarks/poisson.py                        # ~25 minutes on a 2-core CPU
    python benchmarks/poisson.py --runs siren:gradient --budget 120   # quick look

Training seconds only (evaluation excluded), one run each, on a machine shared with other jobs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

import inrkit
from inrkit.signals.poisson import load_poisson

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="sample:camera")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", nargs="+", default=["siren:gradient", "nerf-pe:gradient", "siren:laplacian"],
                    help="PRESET:gradient|laplacian")
    ap.add_argument("--budget", type=float, nargs="+", default=[900.0, 300.0, 300.0],
                    help="seconds of training per run (one value for all, or one per run)")
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--merge", action="store_true", help="keep the other runs already in --out")
    ap.add_argument("--out", default=str(HERE / "results" / "poisson.json"))
    args = ap.parse_args()
    budgets = args.budget * len(args.runs) if len(args.budget) == 1 else args.budget

    results = {}
    for run, budget in zip(args.runs, budgets):
        name, mode = run.split(":")
        signal = load_poisson(args.source, mode, (args.size, args.size))
        preset = inrkit.get_preset(name)
        field = inrkit.make_field(preset.field, signal, seed=0)
        cfg = inrkit.FitConfig(steps=10**7, time_budget=budget, batch_size=args.batch_size,
                               eval_every=args.eval_every,
                               checkpoint_every=0, progress=False, device="cpu", compile="off")
        out_dir = Path(args.out).parent / "poisson" / f"{name}_{mode}"
        t = time.perf_counter()
        result = inrkit.fit(field, signal, cfg, preset.optim, out_dir=out_dir, meta={"preset": name})
        wall = time.perf_counter() - t
        m = result.metrics
        hit = next((h for h in result.history if h["psnr"] >= 30), None)
        results[run] = {
            "psnr": m["psnr"], "ssim": m.get("ssim"), "steps": m["steps"], "seconds": m["seconds"],
            "seconds_to_30db": hit["seconds"] if hit else None, "wall_seconds": round(wall, 1),
            "params": m["params"], "batch_size": args.batch_size,
            "history": [{k: h[k] for k in ("step", "seconds", "psnr")} for h in result.history],
        }
        print(f"{run}: PSNR {m['psnr']:.2f} dB after {m['seconds']:.0f} s ({m['steps']} steps); "
              f"30 dB after {results[run]['seconds_to_30db']} s", flush=True)
        for f in ("train_state.pt", "field.safetensors"):
            (out_dir / f).unlink(missing_ok=True)  # keep the figures, not the weights
    out = {
        "source": args.source, "size": args.size, "paper": {"siren_gradient": 32.91, "relu_pe_gradient": 26.35},
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "note": "shared with other jobs while measured"},
        "runs": results,
    }
    if args.merge and Path(args.out).exists():
        out["runs"] = {**json.loads(Path(args.out).read_text())["runs"], **results}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
