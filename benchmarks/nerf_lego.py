"""NeRF presets on the Blender lego scene: mean test PSNR within a training-time budget.

Fits each preset for ``--time-budget`` seconds of training (evaluation excluded)
on ``transforms_train.json`` and scores all views of ``transforms_test.json``
(PSNR, SSIM; composited on white). Seconds to 25 dB are read off the periodic
evaluation of the first test view (the history in each run folder). Writes
benchmarks/results/nerf_lego[_SUFFIX].json after every preset. Quoted in BENCHMARKS.md. Run:

    python benchmarks/nerf_lego.py --downscale 4 --time-budget 600                      # 2-core CPU target
    python benchmarks/nerf_lego.py --device cuda --downscale 1 --time-budget 300        # a GPU, 800x800
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from inrkit.checkpoint import write_json
from inrkit.nerf.datasets import load_scene
from inrkit.presets import get_nerf_preset
from inrkit.signals.nerf import NerfSignal
from inrkit.train import FitConfig, fit

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "nerf" / "lego"


def seconds_to(history: list[dict], target: float):
    for h in history:
        if h["psnr"] >= target:
            return h["seconds"]
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA if DATA.is_dir() else Path("../shared/data/nerf/lego"))
    ap.add_argument("--presets", nargs="+", default=["tensorf", "ngp", "nerf"])
    ap.add_argument("--downscale", type=int, default=4)
    ap.add_argument("--time-budget", type=float, default=600.0)
    ap.add_argument("--batch-size", type=int, default=0, help="rays per step (0: 4096 on CPU, 16384 on CUDA)")
    ap.add_argument("--eval-every", type=int, default=0, help="steps between first-view evaluations (0: auto)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: PyTorch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=Path, default=Path("runs/nerf_lego"), help="run folders (checkpoints, renders)")
    ap.add_argument("--suffix", default="", help="results file name suffix")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    cuda = a.device.startswith("cuda")
    batch = a.batch_size or (16384 if cuda else 4096)
    train = load_scene(a.data, "train", a.downscale)
    test = load_scene(a.data, "test", a.downscale)
    name = f"nerf_lego{('_' + a.suffix) if a.suffix else ''}"
    out = HERE / "results" / f"{name}.json"
    result = {
        "scene": str(a.data), "downscale": a.downscale, "size": [train.width, train.height],
        "train_views": len(train), "test_views": len(test), "time_budget": a.time_budget, "batch_size": batch,
        "device": a.device, "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"{torch.get_num_threads()} torch threads" if not cuda else None,
        "load_average_at_start": os.getloadavg()[0],
        "presets": {},
    }
    for p in a.presets:
        preset = get_nerf_preset(p)
        signal = NerfSignal(train, test, preset.render)
        signal.downscale = a.downscale
        torch.manual_seed(a.seed)
        field = preset.field.build()
        every = a.eval_every or (500 if cuda else (100 if p != "nerf" else 50))
        cfg = FitConfig(steps=10**7, time_budget=a.time_budget, batch_size=batch if p != "nerf" else min(batch, 1024),
                        eval_every=every, checkpoint_every=0, seed=a.seed, device=a.device, progress=False)
        t0 = time.perf_counter()
        r = fit(field, signal, cfg, preset.optim, out_dir=a.runs / p, meta={"preset": p})
        m = r.metrics
        result["presets"][p] = {
            "psnr": m["psnr"], "ssim": m["ssim"], "psnr_per_view": m["psnr_per_view"], "steps": m["steps"],
            "train_seconds": m["seconds"], "wall_seconds": round(time.perf_counter() - t0, 1),
            "rays_per_second": m["rays_per_second"], "rays_per_step": cfg.batch_size, "params": m["params"],
            "seconds_to_25db_first_view": seconds_to(r.history, 25.0),
            "seconds_to_28db_first_view": seconds_to(r.history, 28.0),
            "history": r.history,
        }
        print(f"{p}: mean test PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.4f}, {m['steps']} steps in "
              f"{m['seconds']:.0f} s, 25 dB (first view) at {seconds_to(r.history, 25.0)} s", flush=True)
        result["load_average_at_end"] = os.getloadavg()[0]  # 1-minute load: other jobs slow a CPU run
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
