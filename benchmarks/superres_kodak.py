"""Issue 15: learned super-resolution against bicubic and a per-image field, on the 24 Kodak images.

Each Kodak image (cropped to a multiple of the scale) is downscaled with bicubic and antialiasing
(:func:`inrkit.superres.downscale`), then brought back to its size by: bicubic interpolation; a
per-image ``ngp`` field fitted to the low-resolution image for --ngp-seconds and rendered at the full
size (on --ngp-limit images and --ngp-scales, it costs a fit each); each learned prior given with
--model NAME=DIR. Scores: PSNR on RGB, PSNR on the luminance (BT.601 Y, a border of `scale` pixels
cropped, as SR papers report) and SSIM (RGB). Writes benchmarks/results/superres_kodak.json.

    python benchmarks/superres_kodak.py --model shipped=src/inrkit/superres/default --model div2k+text=runs/sr
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from inrkit.metrics import psnr, ssim
from inrkit.superres import downscale, load_sr, upscale_bicubic, upscale_tensor

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "kodak"
OUT = Path(__file__).resolve().parent / "results" / "superres_kodak.json"


def luma_psnr(pred: np.ndarray, target: np.ndarray, border: int) -> float:
    """PSNR of BT.601 luminance (Y in [16, 235] / 255), ``border`` pixels cropped on every side."""
    w = np.array([65.481, 128.553, 24.966]) / 255

    def y(a):
        return (16 + a.astype(np.float64) @ w * 255) / 255

    sl = (slice(border, -border or None), slice(border, -border or None))
    return psnr(y(pred)[sl], y(target)[sl])


def scores(pred: np.ndarray, target: np.ndarray, scale: int) -> dict:
    return {"psnr": psnr(pred, target), "psnr_y": luma_psnr(pred, target, scale), "ssim": ssim(pred, target)}


def ngp_upscale(low: np.ndarray, size, seconds: float, seed: int = 0) -> np.ndarray:
    """A per-image ``ngp`` field fitted to ``low`` (H, W, 3) for ``seconds``, rendered at ``size = (W, H)``."""
    from inrkit.presets import get_preset
    from inrkit.signals.image import ImageSignal, render_image
    from inrkit.train import FitConfig, fit, make_field

    signal = ImageSignal(low.astype(np.float32), name="low")
    cfg = FitConfig(steps=100000, time_budget=seconds, eval_every=100000, progress=False, seed=seed, device="cpu")
    preset = get_preset("ngp", "image")
    field = make_field(preset.field, signal, seed=seed)
    fit(field, signal, cfg, preset.optim)
    return render_image(field, size, 3).astype(np.float32) / 255


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=[], help="NAME=DIR of a super-resolution model")
    ap.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4, 6, 8])
    ap.add_argument("--limit", type=int, default=24)
    ap.add_argument("--ngp-scales", type=int, nargs="*", default=[2, 4])
    ap.add_argument("--ngp-limit", type=int, default=6)
    ap.add_argument("--ngp-seconds", type=float, default=20.0)
    a = ap.parse_args()
    models = {}
    for spec in a.model:
        name, folder = spec.split("=", 1)
        models[name] = load_sr(folder)
    paths = sorted(KODAK.glob("*.png"))[:a.limit]
    rows, times = [], {name: [] for name in models}
    t_all = time.perf_counter()
    for i, path in enumerate(paths):
        full = iio.imread(path)[..., :3].astype(np.float32) / 255
        for s in a.scales:
            h, w = full.shape[0] // s * s, full.shape[1] // s * s
            hr = full[:h, :w]
            hr_t = torch.from_numpy(hr).permute(2, 0, 1)[None]  # (1, 3, H, W)
            low = downscale(hr_t, (w // s, h // s))
            base = {"image": path.name, "scale": s}
            pred = upscale_bicubic(low, (w, h))[0].permute(1, 2, 0).numpy()
            rows.append({**base, "method": "bicubic", **scores(pred, hr, s)})
            for name, (model, _) in models.items():
                t0 = time.perf_counter()
                with torch.no_grad():
                    pred = upscale_tensor(model, low, (w, h))[0].permute(1, 2, 0).numpy()
                seconds = time.perf_counter() - t0
                times[name].append({"scale": s, "seconds": seconds})
                rows.append({**base, "method": name, "seconds": seconds, **scores(pred, hr, s)})
            if s in a.ngp_scales and i < a.ngp_limit:
                pred = ngp_upscale(low[0].permute(1, 2, 0).numpy(), (w, h), a.ngp_seconds)
                rows.append({**base, "method": "ngp field", **scores(pred, hr, s)})
        done = [r for r in rows if r["image"] == path.name]
        print(path.name, " ".join(f"{r['method']}x{r['scale']}={r['psnr']:.2f}" for r in done), flush=True)
        OUT.write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    summary = {}
    for r in rows:
        key = f"{r['method']} x{r['scale']}"
        summary.setdefault(key, {"method": r["method"], "scale": r["scale"], "n": 0, "psnr": [], "psnr_y": [],
                                 "ssim": []})
        for m in ("psnr", "psnr_y", "ssim"):
            summary[key][m].append(r[m])
        summary[key]["n"] += 1
    for v in summary.values():
        for m in ("psnr", "psnr_y", "ssim"):
            v[m] = float(np.mean(v[m]))
    result = {"setup": {**vars(a), "images": len(paths), "torch_threads": torch.get_num_threads()},
              "summary": summary, "x4_seconds_median": {n: float(np.median([t["seconds"] for t in ts if t["scale"] == 4]))
                                                        for n, ts in times.items() if ts},
              "seconds": round(time.perf_counter() - t_all, 1), "rows": rows}
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    for k, v in summary.items():
        print(f"{k:24s} n={v['n']:2d}  PSNR {v['psnr']:.2f}  Y {v['psnr_y']:.2f}  SSIM {v['ssim']:.4f}")
    print(result["x4_seconds_median"])


if __name__ == "__main__":
    main()
