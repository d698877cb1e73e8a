"""Peak memory and time of `inrkit render` at 8192x8192 from a fitted `siren` field.

Fits siren on sample:camera at 256x256 briefly (the weights' quality does not
change the memory), then runs the real command in a subprocess and reads its
peak resident memory. Writes benchmarks/results/render_memory.json. Run:

    python benchmarks/render_memory.py [--size 8192x8192]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="8192x8192")
    ap.add_argument("--preset", default="siren")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        fit = [sys.executable, "-m", "inrkit.cli", "fit", "image", "--size", "256x256", "--preset", args.preset,
               "--steps", "50", "--compile", "off", "--no-progress", "--out", str(run)]
        subprocess.run(fit, check=True)
        image = Path(tmp) / "big.png"
        t = time.perf_counter()
        # The real command's entry point, then its own peak resident memory (Linux: KiB).
        probe = ("import resource, sys; from inrkit.cli import main; rc = main(sys.argv[1:]); "
                 "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
        p = subprocess.run([sys.executable, "-c", probe, "render", str(run), "--size", args.size, "--out", str(image)],
                           check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - t
        peak_mib = int(p.stdout.split("PEAK_KIB")[1].split()[0]) / 1024
        result = {
            "preset": args.preset,
            "size": args.size,
            "seconds": round(seconds, 1),
            "peak_rss_mib": round(peak_mib, 1),
            "png_mib": round(image.stat().st_size / 2**20, 1),
            "measure": "ru_maxrss of the render process itself (Python, torch and the PNG encoder included)",
        }
    print(result)
    (args.out / f"render_memory_{args.preset}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
