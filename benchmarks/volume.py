"""Volume fitting and rendering.

Fits each preset to each volume for --time-budget seconds (random voxel batches) and
scores PSNR/SSIM over all voxels; then renders the first fitted field at --render-size
with the real `inrkit render` command in a fresh process and reads its peak memory.
Writes benchmarks/results/volume.json. Run:

    python benchmarks/volume.py [--sources sample:epi sample:shepp-logan] [--presets ngp siren] [--time-budget 60]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import inrkit
from inrkit.signals.volume import load_volume

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", nargs="+", default=["sample:epi", "sample:shepp-logan"])
    ap.add_argument("--presets", nargs="+", default=["ngp", "siren"])
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--time-budget", type=float, default=60.0)
    ap.add_argument("--batch-size", type=int, default=1 << 13)
    ap.add_argument("--render-size", default="128")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a loaded machine)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    runs, render = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for source in args.sources:
            signal = load_volume(source)
            for name in args.presets:
                preset = inrkit.get_preset(name)
                field = inrkit.make_field(preset.field, signal)
                cfg = inrkit.FitConfig(steps=args.steps, time_budget=args.time_budget, batch_size=args.batch_size,
                                       eval_every=1000, compile="off", progress=False)
                run_dir = Path(tmp) / f"{len(runs)}"
                m = inrkit.fit(field, signal, cfg, preset.optim, out_dir=run_dir, meta={"preset": name}).metrics
                runs.append({"source": source, "shape": list(signal.volume.shape), "preset": name,
                             **{k: m.get(k) for k in ("psnr", "ssim", "steps", "seconds", "params")}})
                print(f"{source} {name}: PSNR {m['psnr']:.2f} dB, SSIM {m.get('ssim', float('nan')):.4f}, "
                      f"{m['steps']} steps in {m['seconds']:.0f} s")
                if render is None:
                    out = Path(tmp) / "render.npy"
                    probe = ("import resource, sys, torch; torch.set_num_threads(%d); from inrkit.cli import main; "
                             "rc = main(sys.argv[1:]); print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); "
                             "sys.exit(rc)") % args.threads
                    t = time.perf_counter()
                    p = subprocess.run([sys.executable, "-c", probe, "render", str(run_dir), "--size", args.render_size,
                                        "--out", str(out)], check=True, capture_output=True, text=True)
                    render = {"checkpoint": f"{source} {name}", "size": args.render_size,
                              "seconds": round(time.perf_counter() - t, 1),
                              "peak_rss_mib": round(int(p.stdout.split("PEAK_KIB")[1].split()[0]) / 1024, 1),
                              "npy_mib": round(out.stat().st_size / 2**20, 1)}
                    print(render)
    result = {"time_budget": args.time_budget, "batch_size": args.batch_size, "threads": args.threads,
              "machine": f"{platform.machine()} CPU shared with other jobs; torch {torch.__version__}",
              "runs": runs, "render": render}
    (args.out / "volume.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
