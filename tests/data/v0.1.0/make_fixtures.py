"""Write the inrkit 0.1.0 checkpoint fixtures and their reference numbers (see README.md here).

Run with inrkit 0.1.0 (commit 1af4e95) installed, NOT the current code:

    git -C REPO worktree add /tmp/inrkit-v010 1af4e95
    python -m venv /tmp/v010venv && . /tmp/v010venv/bin/activate
    pip install torch==2.13.0 -e /tmp/inrkit-v010
    OMP_NUM_THREADS=2 python tests/data/v0.1.0/make_fixtures.py tests/data/v0.1.0

Each fixture is written by 0.1.0's own ``inrkit fit`` command (``inrkit.cli.main``). Three of its
presets are shrunk in this process first (fewer parameters, so the files stay small); the field
config in each ``field.json`` records the shrunk sizes, so loading needs nothing from this script.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

import inrkit
from inrkit import presets
from inrkit.cli import main

assert inrkit.__version__ == "0.1.0", inrkit.__version__
OUT = Path(sys.argv[1]).resolve()
KEEP = {"field.safetensors", "field.json", "metrics.json", "occupancy.safetensors"}
RUNS = Path("/tmp/inrkit-v010-runs")

# ---------------------------------------------------------------- smaller presets (same kinds, fewer parameters)
# audio: siren-audio with 64 units instead of 256 (4 sine layers, first ω0 3000, hidden ω0 30).
presets.PRESETS["siren-audio"].field.network.width = 64
# sdf: ngp-sdf with 8 levels of a 2^12-row table instead of 16 of 2^19 (2 features each; with --detail 32
# the levels span 16..32 cells, so all but the coarsest are hashed).
presets.PRESETS["ngp-sdf"].field.encoding.n_levels = 8
presets.PRESETS["ngp-sdf"].field.encoding.log2_hashmap_size = 12
# nerf: tensorf with 32² planes instead of 192², and a 32³ occupancy grid instead of 64³.
_nerf_presets = presets._nerf_presets


def _small_nerf_presets():
    p = _nerf_presets()
    p["tensorf"].field.encoding.finest_resolution = 32
    p["tensorf"].render.grid_resolution = 32
    return p


presets._nerf_presets = _small_nerf_presets

COMMANDS = {
    "image": ["fit", "image", "sample:astronaut", "--preset", "ngp", "--size", "32x24", "--steps", "200"],
    "audio": ["fit", "audio", "sample:chord", "--preset", "siren-audio", "--steps", "300"],
    "sdf": ["fit", "sdf", "sample:sphere", "--preset", "ngp-sdf", "--steps", "400", "--detail", "32",
            "--n-train", "50000", "--batch-size", "4096", "--mesh-resolution", "32"],
    "nerf": ["fit", "nerf", "builtin:spheres", "--preset", "tensorf", "--downscale", "4", "--steps", "300",
             "--batch-size", "1024", "--eval-every", "100"],
}
COMMON = ["--device", "cpu", "--compile", "off", "--no-progress", "--seed", "0"]

# ~16 fixed points in the SDF field's cube [-1, 1]³ (field units): centre, axes, diagonals, near the surface.
SDF_POINTS = [
    [0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5],
    [-0.9, 0.0, 0.0], [0.0, -0.9, 0.0], [0.0, 0.0, -0.9], [0.9, 0.9, 0.9],
    [-0.9, -0.9, -0.9], [0.3, -0.4, 0.5], [-0.6, 0.2, -0.1], [0.85, 0.1, -0.2],
    [0.1, 0.95, 0.05], [-0.25, -0.25, 0.75], [0.6, 0.6, 0.0], [1.0, -1.0, 0.3],
]
AUDIO_INDICES = [0, 1, 100, 1000, 5000, 11025, 22049, 22050, 30000, 44098, 44099]
IMAGE_PIXELS = [[0, 0], [0, 63], [47, 0], [47, 63], [10, 20], [24, 32], [30, 5], [40, 50]]  # (row, col) at 2x


def fit(kind: str) -> Path:
    run = RUNS / kind
    if run.exists():
        shutil.rmtree(run)
    argv = COMMANDS[kind] + ["--out", str(run)] + COMMON
    print("inrkit", " ".join(argv), flush=True)
    torch.manual_seed(0)
    assert main(argv) == 0, kind
    dst = OUT / kind
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for f in sorted(run.iterdir()):
        if f.name in KEEP:
            shutil.copy2(f, dst / f.name)
    return dst


def floats(a) -> list[float]:
    return [float(v) for v in np.asarray(a, np.float64).reshape(-1)]


def main_() -> None:
    from inrkit.grids import evaluate_grid
    from inrkit.signals.audio import render_audio
    from inrkit.signals.image import render_image
    from inrkit.signals.shape import mesh_field, render_shape

    expected: dict = {"inrkit_version": inrkit.__version__, "commit": "1af4e95", "torch": torch.__version__,
                      "commands": {}}
    for kind in COMMANDS:
        expected["commands"][kind] = "inrkit " + " ".join(COMMANDS[kind] + ["--out", f"{kind}/"] + COMMON)

    # -- image: render at 2x (64x48), as `inrkit render image --scale 2` does, and the float field values.
    d = fit("image")
    field = inrkit.load(d)
    h, w, c = field.meta["signal"]["shape"]
    size = (2 * w, 2 * h)
    u8 = render_image(field, size, c)  # uint8 (H, W, C), what render writes to render_64x48.png
    fl = evaluate_grid(field, (size[1], size[0]), c)  # float32 (H, W, C), unclipped
    np.save(OUT / "image_render_2x_uint8.npy", u8)
    np.save(OUT / "image_render_2x_float.npy", fl)
    expected["image"] = {
        "render_size": list(size),
        "render_uint8_sha256": hashlib.sha256(np.ascontiguousarray(u8).tobytes()).hexdigest(),
        "render_uint8_mean": float(u8.astype(np.float64).mean()),
        "render_float_mean": float(fl.astype(np.float64).mean()),
        "render_float_channel_means": floats(fl.astype(np.float64).mean((0, 1))),
        "pixels_rc": IMAGE_PIXELS,
        "pixel_float_values": [floats(fl[r, cc]) for r, cc in IMAGE_PIXELS],
        "pixel_uint8_values": [[int(v) for v in u8[r, cc]] for r, cc in IMAGE_PIXELS],
        "params": field.n_params(),
    }

    # -- audio: rendered at its own rate, as `inrkit render audio` does (before the 16-bit WAV).
    d = fit("audio")
    field = inrkit.load(d)
    sig = field.meta["signal"]
    n, ch = sig["shape"]
    a = render_audio(field, n, ch)  # (N, C) float32 in [-1, 1]
    expected["audio"] = {
        "rate": sig["sample_rate"],
        "n": n,
        "channels": ch,
        "indices": AUDIO_INDICES,
        "values": floats(a[AUDIO_INDICES, 0]),
        "rms": float(np.sqrt(np.mean(a.astype(np.float64) ** 2))),
        "mean": float(a.astype(np.float64).mean()),
        "max_abs": float(np.abs(a).max()),
        "params": field.n_params(),
    }

    # -- sdf: field values at fixed points (field units), the mesh at resolution 32, a small shaded render.
    d = fit("sdf")
    field = inrkit.load(d)
    meta = field.meta["signal"]
    pts = torch.tensor(SDF_POINTS, dtype=torch.float32)
    with torch.no_grad():
        vals = field(pts)[..., 0]
    v, f = mesh_field(field, meta, 32)  # what `inrkit mesh sdf --resolution 32` writes (coarse-to-fine off below 256)
    img = render_shape(field, "sdf", (32, 32), 30.0, 20.0)
    nodes = torch.stack(torch.meshgrid(*[torch.linspace(-1, 1, 32)] * 3, indexing="ij"), -1)  # the mesh's grid
    with torch.no_grad():
        grid = field(nodes.reshape(-1, 3))  # how far the field keeps from 0 there (a sign flip changes the mesh)
    expected["sdf"] = {
        "points": SDF_POINTS,
        "values": floats(vals),
        "mesh_resolution": 32,
        "mesh_vertices": int(len(v)),
        "mesh_faces": int(len(f)),
        "mesh_vertex_mean": floats(v.astype(np.float64).mean(0)),
        "mesh_vertex_min": floats(v.min(0)),
        "mesh_vertex_max": floats(v.max(0)),
        "render_32x32_mean": float(np.asarray(img, np.float64).mean()),
        "mesh_grid_min_abs": float(np.abs(grid).min()),
        "params": field.n_params(),
    }

    # -- nerf: `inrkit eval` on the builtin test split (into a copy: eval writes into the folder), view 0.
    d = fit("nerf")
    tmp = RUNS / "nerf-eval"
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(d, tmp)
    assert main(["eval", str(tmp), "--device", "cpu"]) == 0
    ev = json.loads((tmp / "eval_test.json").read_text())
    from inrkit.cli import _nerf_signal_from_meta
    from inrkit.signals.nerf import grid_for_field

    field = inrkit.load(d)
    signal = _nerf_signal_from_meta(field.meta)
    grid = grid_for_field(field, signal.render, torch.device("cpu"), checkpoint=d)
    cams = field.meta["signal"]["cameras"]
    view = signal.render_view(field, torch.tensor(cams["test_c2w"][0]), torch.tensor(cams["test_intrinsics"][0]),
                              cams["width"], cams["height"], grid=grid)
    expected["nerf"] = {
        "eval_split": "test",
        "eval_views": ev["views"],
        "eval_psnr": ev["psnr"],
        "eval_ssim": ev["ssim"],
        "eval_psnr_per_view": [r["psnr"] for r in ev["per_view"]],
        "eval_ssim_per_view": [r["ssim"] for r in ev["per_view"]],
        "view": 0,
        "view_size": [cams["width"], cams["height"]],
        "view0_rgb_mean": floats(view["rgb"].astype(np.float64).mean((0, 1))),
        "view0_depth_mean": float(view["depth"].astype(np.float64).mean()),
        "view0_opacity_mean": float(view["opacity"].astype(np.float64).mean()),
        "grid_occupied_cells": int(grid.mask.sum()),
        "params": field.n_params(),
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(json.dumps(expected, indent=2))


if __name__ == "__main__":
    main_()
