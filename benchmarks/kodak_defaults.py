"""Default settings on all 24 Kodak photos (768x512) at a fixed training budget.

What a new user gets from `inrkit fit image kodimNN.png --time-budget B`: every image is fitted with
the default preset (ngp) and the default batch policy, and, side by side in the same run, with the
settings being compared (`--batch-sizes`: 0 is the automatic policy; 262144 was the default before
it). One process per fit, one fit at a time. Writes benchmarks/results/kodak_defaults.json and
prints a markdown table for BENCHMARKS.md.

    python benchmarks/kodak_defaults.py --data ../shared/data/images/kodak --budget 30
    python benchmarks/kodak_defaults.py --data ../shared/data/images/kodak --budget 30 --batch-sizes 0 262144 --limit 6
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fit(image: Path, budget: float, batch: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "inrkit.cli", "fit", "image", str(image), "--time-budget", str(budget),
           "--steps", "1000000", "--eval-every", "1000000", "--no-progress", "--out", str(out), "--overwrite"]
    if batch:
        cmd += ["--batch-size", str(batch)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    m = json.loads((out / "metrics.json").read_text())
    return {k: m[k] for k in ("psnr", "ssim", "steps", "seconds", "batch_size", "threads")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of the Kodak PNGs")
    ap.add_argument("--budget", type=float, default=30.0, help="training seconds per fit")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[0], help="0: the automatic policy")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images (0: all)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "kodak_defaults.json")
    args = ap.parse_args()
    images = sorted(args.data.glob("kodim*.png"))[: args.limit or None]
    if not images:
        sys.exit(f"no kodim*.png in {args.data}")
    load_start = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for image in images:
            for batch in args.batch_sizes:  # side by side: the settings alternate image by image
                r = fit(image, args.budget, batch, Path(tmp) / "run")
                rows.append({"image": image.name, "setting": batch, **r})
                print(f"{image.name} batch {batch or 'auto'}: {r['psnr']:.2f} dB, {r['steps']} steps "
                      f"(batch {r['batch_size']}, {r['threads']} threads)", flush=True)
    summary = {}
    for batch in args.batch_sizes:
        sel = [r for r in rows if r["setting"] == batch]
        summary[str(batch)] = {
            "psnr_mean": statistics.mean(r["psnr"] for r in sel),
            "psnr_min": min(r["psnr"] for r in sel),
            "ssim_mean": statistics.mean(r["ssim"] for r in sel),
            "steps_median": statistics.median(r["steps"] for r in sel),
            "images": len(sel),
        }
    result = {"budget": args.budget, "load_average_start": load_start, "load_average_end": os.getloadavg(),
              "cpu_count": os.cpu_count(), "summary": summary, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n| batch | images | mean PSNR (dB) | worst (dB) | mean SSIM | median steps in {args.budget:g} s |")
    print("|---|---|---|---|---|---|")
    for k, s in summary.items():
        print(f"| {'auto' if k == '0' else k} | {s['images']} | {s['psnr_mean']:.2f} | {s['psnr_min']:.2f} | "
              f"{s['ssim_mean']:.4f} | {s['steps_median']:g} |")
    print(f"load average {load_start[0]:.2f} at the start, {result['load_average_end'][0]:.2f} at the end")


if __name__ == "__main__":
    main()
