"""Issue 15: `inrkit fit image X --prior DIR` against the prior alone, bicubic and a field from scratch, at a
train stride of 2 (every second pixel kept, the others scored as `psnr_unseen`), same steps for the fits.

    python benchmarks/superres_prior.py --folder ../shared/data/images/div2k --limit 4 --size 256 --steps 100
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from inrkit.bench import interpolate_training_pixels, upscale_training_pixels
from inrkit.cli import main as cli
from inrkit.signals.image import load_image
from inrkit.superres import DEFAULT_MODEL, load_sr

OUT = Path(__file__).resolve().parent / "results" / "superres_prior.json"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "images"
                    / "div2k")
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    a = ap.parse_args()
    model, _ = load_sr(a.model)
    rows, work = [], Path(tempfile.mkdtemp())
    for path in sorted(a.folder.glob("*.png"))[:a.limit]:
        signal = load_image(str(path), size=(a.size, a.size), train_stride=2)
        for name, pred in (("bicubic", interpolate_training_pixels(signal, 3)),
                           ("liif (no fit)", upscale_training_pixels(signal, model))):
            m = signal.evaluate(pred)
            rows.append({"image": path.name, "method": name, "psnr": m["psnr"], "psnr_unseen": m["psnr_unseen"],
                         "seconds": 0.0})
        for name, extra in ((f"--prior, {a.steps} steps", ["--prior", str(a.model), "--lr", str(a.lr)]),
                            (f"ngp, {a.steps} steps", ["--preset", "ngp"]),
                            (f"siren, {a.steps} steps", ["--preset", "siren"])):
            out = work / f"{path.stem}-{name.split(',')[0].strip('-')}"
            t0 = time.perf_counter()
            assert cli(["fit", "image", str(path), "--size", f"{a.size}x{a.size}", "--train-stride", "2",
                        "--steps", str(a.steps), "--eval-every", str(a.steps), "--out", str(out), "--no-progress",
                        "--device", "cpu", *extra]) == 0
            m = json.loads((out / "metrics.json").read_text())
            rows.append({"image": path.name, "method": name, "psnr": m["psnr"], "psnr_unseen": m["psnr_unseen"],
                         "seconds": time.perf_counter() - t0})
        print(path.name, " | ".join(f"{r['method']} {r['psnr']:.2f}/{r['psnr_unseen']:.2f}" for r in rows[-5:]),
              flush=True)
    summary = {}
    for r in rows:
        summary.setdefault(r["method"], []).append(r)
    summary = {k: {m: float(np.mean([r[m] for r in v])) for m in ("psnr", "psnr_unseen", "seconds")}
               for k, v in summary.items()}
    OUT.write_text(json.dumps({"setup": {k: str(v) for k, v in vars(a).items()}, "summary": summary, "rows": rows},
                              indent=1) + "\n")
    for k, v in summary.items():
        print(f"{k:24s} PSNR {v['psnr']:.2f}  unseen {v['psnr_unseen']:.2f}  {v['seconds']:.1f} s")


if __name__ == "__main__":
    main()
