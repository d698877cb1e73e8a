"""Shape benchmarks on the Stanford bunny: the issue's targets, measured.

    python benchmarks/shapes.py [--mesh ../shared/data/meshes/bunny.obj] [--only occupancy,sdf,pointcloud,meshing]

Each fit runs the `inrkit fit ...` command printed in the JSON (with its time budget) into
runs/bench_shapes/NAME; results go to benchmarks/results/shapes.json. Mesh extraction at
512³ runs in a fresh process per measurement so its peak resident memory is its own.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout (a worktree one level deeper looks one more level up).
DEFAULT_MESH = next((p / "shared" / "data" / "meshes" / "bunny.obj" for p in (ROOT.parent, ROOT.parent.parent)
                     if (p / "shared" / "data").is_dir()), ROOT.parent / "shared" / "data" / "meshes" / "bunny.obj")
RESULTS = ROOT / "benchmarks" / "results" / "shapes.json"
RUNS = ROOT / "runs" / "bench_shapes"

# name: (group, command arguments after `inrkit`, target description)
FITS = {
    "occupancy-ngp": ("occupancy", ["fit", "occupancy", "{mesh}", "--preset", "ngp-occupancy",
                                    "--time-budget", "300"], "IoU >= 0.97, NC >= 0.95 in 5 min"),
    "occupancy-ffn": ("occupancy", ["fit", "occupancy", "{mesh}", "--preset", "ffn-occupancy", "--batch-size", "8192",
                                    "--time-budget", "300"], "IoU >= 0.97, NC >= 0.95 in 5 min"),
    "sdf-mesh-ngp": ("sdf", ["fit", "sdf", "{mesh}", "--mode", "mesh", "--preset", "ngp-sdf",
                             "--time-budget", "300"], "IoU >= 0.97, NC >= 0.95 in 5 min"),
    "pointcloud-siren": ("pointcloud", ["fit", "sdf", "{mesh}", "--mode", "pointcloud", "--preset", "siren-sdf",
                                        "--batch-size", "8192", "--time-budget", "600"],
                         "Chamfer-L1 < 0.5% of the bbox diagonal in 10 min"),
    "pointcloud-ngp": ("pointcloud", ["fit", "sdf", "{mesh}", "--mode", "pointcloud", "--preset", "ngp-sdf",
                                      "--time-budget", "600"], "Chamfer-L1 < 0.5% of the bbox diagonal in 10 min"),
}
KEYS = ("iou", "iou_near_surface", "chamfer_l1", "chamfer_l1_ratio", "chamfer_l2", "normal_consistency", "fscore",
        "fscore_threshold", "steps", "seconds", "params")


def inrkit(args: list[str]) -> tuple[int, float]:
    t = time.perf_counter()
    rc = subprocess.call([sys.executable, "-m", "inrkit.cli", *args], cwd=ROOT)
    return rc, time.perf_counter() - t


def run_fit(name: str, mesh: Path) -> dict:
    group, args, target = FITS[name]
    out = RUNS / name
    args = [a.format(mesh=mesh) for a in args] + ["--out", str(out), "--steps", "1000000", "--eval-every", "200",
                                                   "--checkpoint-every", "0", "--no-progress"]
    rc, wall = inrkit(args)
    m = json.loads((out / "metrics.json").read_text()) if rc == 0 else {}
    return {"group": group, "target": target, "command": "inrkit " + " ".join(args), "returncode": rc,
            "wall_seconds": round(wall, 1), **{k: m.get(k) for k in KEYS}}


MESH_CODE = """
import resource, sys, time, json, torch
from inrkit.meshing import extract_mesh
kind, res, ckpt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_grad_enabled(False)
if kind == "analytic":
    fn = lambda x: x.norm(dim=-1) - 0.5
    t = time.perf_counter(); v, f = extract_mesh(fn, resolution=res, coarse_to_fine=False)
else:
    from inrkit import load
    from inrkit.signals.shape import mesh_field
    field = load(ckpt)
    t = time.perf_counter(); v, f = mesh_field(field, field.meta["signal"], res, coarse_to_fine=True)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "vertices": len(v), "faces": len(f),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_meshing(ckpt: Path) -> dict:
    out = {}
    for kind, res in (("analytic", 512), ("field", 512), ("field", 1024)):
        if kind == "field" and not (ckpt / "field.json").exists():
            continue
        p = subprocess.run([sys.executable, "-c", MESH_CODE, kind, str(res), str(ckpt)], capture_output=True,
                           text=True, cwd=ROOT)
        key = f"{kind}_{res}"
        if p.returncode:
            out[key] = {"error": p.stderr.strip().splitlines()[-1]}
            continue
        out[key] = json.loads(p.stdout.strip().splitlines()[-1])
        print(key, out[key], flush=True)
    out["note"] = ("'analytic': a sphere SDF of radius 0.5 sampled densely (every grid point, slab by slab); "
                   f"'field': the fitted {ckpt.name} field, coarse-to-fine (blocks of 8 near the surface); "
                   "seconds of extraction and the process's peak resident memory (Python, torch and the field "
                   "included)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mesh", type=Path, default=DEFAULT_MESH)
    ap.add_argument("--only", default="occupancy,sdf,pointcloud,meshing")
    ap.add_argument("--results", type=Path, default=RESULTS, help="JSON file to update")
    a = ap.parse_args()
    results = a.results
    groups = set(a.only.split(","))
    result = json.loads(results.read_text()) if results.exists() else {}
    result.update(machine=f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPU cores, "
                  "shared with four other agents' jobs while measured (timings are noisy)",
                  mesh=str(a.mesh.name))
    result.setdefault("fits", {})
    for name, (group, _, _) in FITS.items():
        if group in groups:
            result["fits"][name] = run_fit(name, a.mesh.resolve())
            print(name, json.dumps(result["fits"][name]), flush=True)
            results.write_text(json.dumps(result, indent=2) + "\n")
    if "meshing" in groups:
        result["meshing"] = run_meshing(RUNS / "sdf-mesh-ngp")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
