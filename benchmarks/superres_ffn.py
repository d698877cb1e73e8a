"""Issue 15: the learned prior's rows for the Fourier-features protocol table (every second pixel of each
512x512 image kept, the whole image scored), beside bicubic interpolation of the same pixels.

No fitting: the kept pixels are upscaled x2 through the prior, sampled where the image's pixels lie
(`inrkit.bench.upscale_training_pixels`, what `inrkit bench images --baselines liif` runs). The model
must not have seen these images: by default the shipped one (trained on scikit-image's images only).
Writes benchmarks/results/superres_ffn.json.

    python benchmarks/superres_ffn.py [--model DIR]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from inrkit.bench import interpolate_training_pixels, upscale_training_pixels
from inrkit.signals.image import load_image
from inrkit.superres import default_model, load_sr

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"
OUT = Path(__file__).resolve().parent / "results" / "superres_ffn.json"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--folders", nargs="+", default=["div2k", "text"])
    a = ap.parse_args()
    model, index = load_sr(a.model) if a.model else default_model()
    rows, t_all = [], time.perf_counter()
    for folder in a.folders:
        for path in sorted((IMAGES / folder).glob("*.png")):
            signal = load_image(str(path), size=(512, 512), train_stride=2)
            for name, predict in (("bicubic", lambda s: interpolate_training_pixels(s, 3)),
                                  ("liif", lambda s: upscale_training_pixels(s, model))):
                t0 = time.perf_counter()
                pred = predict(signal)
                m = signal.evaluate(pred)
                rows.append({"folder": folder, "image": path.name, "method": name, "psnr": m["psnr"],
                             "psnr_unseen": m["psnr_unseen"], "ssim": m.get("ssim"),
                             "seconds": time.perf_counter() - t0})
            print(folder, path.name, " ".join(f"{r['method']} {r['psnr']:.2f}/{r['psnr_unseen']:.2f}"
                                              for r in rows[-2:]), flush=True)
    summary = {}
    for r in rows:
        s = summary.setdefault(f"{r['folder']} {r['method']}", {k: [] for k in ("psnr", "psnr_unseen", "ssim")})
        for k in s:
            s[k].append(r[k])
    summary = {k: {m: [float(np.mean(v)), float(np.std(v))] for m, v in s.items()} for k, s in summary.items()}
    OUT.write_text(json.dumps({"model": str(a.model or "shipped"), "model_images": index.get("images"),
                               "summary": summary, "rows": rows,
                               "seconds": round(time.perf_counter() - t_all, 1)}, indent=1) + "\n")
    for k, v in summary.items():
        print(f"{k:16s} PSNR {v['psnr'][0]:.2f} ± {v['psnr'][1]:.2f}  unseen {v['psnr_unseen'][0]:.2f}  "
              f"SSIM {v['ssim'][0]:.4f}")


if __name__ == "__main__":
    main()
