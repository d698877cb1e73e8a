"""Speed with another busy process on the machine: steps/s idle and beside one busy process.

For each preset (sample:camera at 256x256, full batch) and each thread setting, a fit of fixed
training time runs alone ("idle") and then beside a process that keeps one core busy ("busy", a
pure-Python loop, what any other program does). `--threads 0` is inrkit's default (follow the load);
a number fixes the count (2 on a 2-core machine is PyTorch's own default). The ratio busy/idle is
what the user keeps of their speed. Writes benchmarks/results/busy_machine.json.

    python benchmarks/busy_machine.py                       # ngp and siren, threads 0 (auto) and 2
    python benchmarks/busy_machine.py --presets ngp --threads 0 1 2 --budget 10
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(preset: str, threads: int, budget: float, out: Path) -> dict:
    cmd = [sys.executable, "-m", "inrkit.cli", "fit", "image", "sample:camera", "--size", "256x256", "--preset",
           preset, "--time-budget", str(budget), "--steps", "1000000", "--eval-every", "1000000", "--no-progress",
           "--compile", "off", "--batch-size", "65536", "--threads", str(threads), "--out", str(out), "--overwrite"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    m = json.loads((out / "metrics.json").read_text())
    return {"ms_per_step": 1000 * m["seconds"] / m["steps"], "steps": m["steps"], "threads_at_end": m["threads"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["ngp", "siren"])
    ap.add_argument("--threads", type=int, nargs="+", default=[0, 2], help="0: inrkit's default (follow the load)")
    ap.add_argument("--budget", type=float, default=15.0, help="training seconds per fit")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "busy_machine.json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            for threads in args.threads:
                idle = run(preset, threads, args.budget, Path(tmp) / "r")
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                try:
                    time.sleep(1.0)
                    busy = run(preset, threads, args.budget, Path(tmp) / "r")
                finally:
                    hog.kill()
                    hog.wait()
                time.sleep(1.0)
                row = {"preset": preset, "threads": threads, "idle": idle, "busy": busy,
                       "kept": idle["ms_per_step"] / busy["ms_per_step"]}
                rows.append(row)
                print(f"{preset} threads {threads or 'auto'}: idle {idle['ms_per_step']:.0f} ms/step, busy "
                      f"{busy['ms_per_step']:.0f} ms/step ({busy['threads_at_end']} threads at the end): "
                      f"{100 * row['kept']:.0f}% of the idle speed", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"budget": args.budget, "cpu_count": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    print("\n| preset | threads | idle ms/step | busy ms/step | busy speed / idle speed |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['threads'] or 'auto'} | {r['idle']['ms_per_step']:.0f} | "
              f"{r['busy']['ms_per_step']:.0f} | {100 * r['kept']:.0f}% |")


if __name__ == "__main__":
    main()
