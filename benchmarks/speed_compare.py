"""Training speed of two source trees side by side: is a refactor free?

Runs the same ``inrkit fit`` commands with each tree's ``src/`` first on PYTHONPATH, alternating
trees run by run (so a slow spell of this shared machine hits both), and reports each workload's
median per-step time (medians over evaluation intervals, the first interval, with its caching and
warm-up, left out), the NeRF rays per second and the ratio after / before. Writes
benchmarks/results/speed_compare.json. Quoted in BENCHMARKS.md. Run (after ``git worktree add
/tmp/before COMMIT``):

    python benchmarks/speed_compare.py --before /tmp/before --after . --repeats 3
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MESH = HERE.parents[1] / "shared" / "data" / "meshes" / "bunny.obj"
COMMON = ["--threads", "2", "--compile", "off", "--no-progress", "--checkpoint-every", "0"]
# name: `inrkit` arguments (`{mesh}` the bunny); the figure is ms per step, or rays/s for nerf
WORKLOADS = {
    "image ngp 256x256 (full batch)": ["fit", "image", "sample:camera", "--size", "256x256", "--preset", "ngp",
                                       "--steps", "300", "--eval-every", "50"],
    "image siren 256x256 (full batch)": ["fit", "image", "sample:camera", "--size", "256x256", "--preset", "siren",
                                         "--steps", "60", "--eval-every", "10"],
    "nerf tensorf sample:spheres (4096 rays)": ["fit", "nerf", "sample:spheres", "--preset", "tensorf", "--steps",
                                                "300", "--eval-every", "50"],
    "sdf ngp-sdf bunny mesh (16384 points)": ["fit", "sdf", "{mesh}", "--preset", "ngp-sdf", "--steps", "300",
                                              "--eval-every", "50", "--mesh-resolution", "64", "--n-train", "200000"],
}


def run_once(tree: Path, args: list[str], work: Path) -> dict:
    out = work / "run"
    env = {**os.environ, "PYTHONPATH": str(tree.resolve() / "src")}
    cmd = [sys.executable, "-c", "import sys; from inrkit.cli import main; sys.exit(main(sys.argv[1:]))",
           *args, *COMMON, "--out", str(out), "--overwrite"]
    subprocess.run(cmd, cwd=work, env=env, check=True, capture_output=True, text=True)
    rows = list(csv.DictReader(open(out / "history.csv")))
    steps = [int(r["step"]) for r in rows]
    secs = [float(r["seconds"]) for r in rows]
    per_step = [(secs[i] - secs[i - 1]) / (steps[i] - steps[i - 1]) * 1000 for i in range(2, len(rows))]
    metrics = json.loads((out / "metrics.json").read_text())
    return {"ms_per_step": statistics.median(per_step), "rays_per_second": metrics.get("rays_per_second")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="checkout of the earlier commit")
    ap.add_argument("--after", type=Path, default=HERE.parent)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mesh", type=Path, default=MESH)
    ap.add_argument("--only", nargs="*", default=None, help="workload names containing these words")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "speed_compare.json")
    a = ap.parse_args()
    results = {}
    for name, args in WORKLOADS.items():
        if a.only and not any(w in name for w in a.only):
            continue
        args = [str(a.mesh) if x == "{mesh}" else x for x in args]
        runs = {"before": [], "after": []}
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(a.repeats):
                for label, tree in (("before", a.before), ("after", a.after)):
                    runs[label].append(run_once(tree, args, Path(tmp)))
        row = {}
        for label, rs in runs.items():
            row[label] = {"ms_per_step": statistics.median(r["ms_per_step"] for r in rs),
                          "runs_ms_per_step": [round(r["ms_per_step"], 2) for r in rs]}
            if rs[0]["rays_per_second"]:
                row[label]["rays_per_second"] = statistics.median(r["rays_per_second"] for r in rs)
        row["after_over_before"] = row["after"]["ms_per_step"] / row["before"]["ms_per_step"]
        results[name] = row
        print(f"{name:42s} before {row['before']['ms_per_step']:8.2f} ms/step  after {row['after']['ms_per_step']:8.2f}"
              f" ms/step  ratio {row['after_over_before']:.3f}", flush=True)
    load = os.getloadavg()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                                 "load_before_writing": load, "repeats": a.repeats,
                                 "before": str(a.before), "after": str(a.after), "results": results}, indent=2))


if __name__ == "__main__":
    main()
