"""Checkpoints written by inrkit 0.1.0 keep loading, rendering and evaluating to the same numbers.

The fixtures in tests/data/v0.1.0 (image, audio, sdf, nerf) were written by the released 0.1.0 code
(commit 1af4e95) with make_fixtures.py there; expected.json holds what 0.1.0 computed from them
(README.md there says how). Everything here is a deterministic CPU computation, so the tolerances
are tight: a mismatch means the current code reads or evaluates an old checkpoint differently.
Commands that write into a checkpoint folder run on a copy in tmp_path.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import inrkit
from inrkit.cli import main

DATA = Path(__file__).resolve().parent / "data" / "v0.1.0"
EXPECTED = json.loads((DATA / "expected.json").read_text())
KINDS = ("image", "audio", "sdf", "nerf")
RTOL, ATOL = 1e-5, 1e-6  # float32 on the CPU, possibly with another thread count than 0.1.0 used


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), rtol=rtol, atol=atol)


def copy(kind: str, tmp_path: Path) -> Path:
    """The fixture ``kind`` copied to tmp_path (for commands that write into the checkpoint folder)."""
    dst = tmp_path / kind
    shutil.copytree(DATA / kind, dst)
    return dst


@pytest.fixture(autouse=True)
def _cpu_float32():
    torch.set_default_dtype(torch.float32)


# ---------------------------------------------------------------- every kind


def test_fixtures_are_small_and_hold_only_what_a_user_needs():
    for kind in KINDS:
        files = {p.name for p in (DATA / kind).iterdir()}
        want = {"field.safetensors", "field.json", "metrics.json"} | ({"occupancy.safetensors"} if kind == "nerf" else set())
        assert files == want, kind
        assert sum(p.stat().st_size for p in (DATA / kind).iterdir()) < 1 << 20, kind
        meta = json.loads((DATA / kind / "field.json").read_text())
        assert meta["inrkit_version"] == "0.1.0" and meta["signal"]["kind"] == kind


@pytest.mark.parametrize("kind", KINDS)
def test_load(kind):
    field = inrkit.load(DATA / kind, device="cpu")
    assert field.meta["inrkit_version"] == "0.1.0"
    assert field.meta["signal"]["kind"] == kind
    assert field.n_params() == EXPECTED[kind]["params"] == field.meta["params"]
    assert not field.training


@pytest.mark.parametrize("kind", KINDS)
def test_load_meta_and_a_file_inside_the_folder(kind):
    assert inrkit.load_meta(DATA / kind)["signal"]["kind"] == kind
    assert inrkit.load(DATA / kind / "field.json", device="cpu").n_params() == EXPECTED[kind]["params"]


@pytest.mark.parametrize("kind", KINDS)
def test_info(kind, tmp_path, capsys):
    path = copy(kind, tmp_path)
    assert main(["info", str(path)]) == 0
    assert "0.1.0" in capsys.readouterr().out
    assert main(["info", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["signal"]["kind"] == kind


# ---------------------------------------------------------------- image


def test_image_render_2x():
    exp = EXPECTED["image"]
    field = inrkit.load(DATA / "image", device="cpu")
    w, h = exp["render_size"]
    u8 = inrkit.render(field, scale=2.0, device="cpu")
    old_u8 = np.load(DATA / "image_render_2x_uint8.npy")
    assert u8.dtype == np.uint8 and u8.shape == old_u8.shape == (h, w, 3)
    diff = np.abs(u8.astype(int) - old_u8.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001  # a value on a rounding boundary may move by 1
    fl = inrkit.evaluate_grid(field, (h, w), 3)
    close(fl, np.load(DATA / "image_render_2x_float.npy"))
    close(fl.astype(np.float64).mean(), exp["render_float_mean"])
    close(fl.astype(np.float64).mean((0, 1)), exp["render_float_channel_means"])
    rows, cols = np.asarray(exp["pixels_rc"]).T
    close(fl[rows, cols], exp["pixel_float_values"])


def test_image_render_cli_writes_the_same_pixels(tmp_path):
    import imageio.v3 as iio

    path = copy("image", tmp_path)
    assert main(["render", str(path), "--scale", "2", "--device", "cpu"]) == 0
    w, h = EXPECTED["image"]["render_size"]
    png = iio.imread(path / f"render_{w}x{h}.png")
    diff = np.abs(png.astype(int).reshape(h, w, -1) - np.load(DATA / "image_render_2x_uint8.npy").astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001


# ---------------------------------------------------------------- audio


def test_audio_render_at_its_rate():
    exp = EXPECTED["audio"]
    field = inrkit.load(DATA / "audio", device="cpu")
    a = inrkit.render(field, device="cpu")
    assert a.shape == (exp["n"], exp["channels"]) and a.dtype == np.float32
    close(a[exp["indices"], 0], exp["values"])
    close(np.sqrt(np.mean(a.astype(np.float64) ** 2)), exp["rms"])
    close(a.astype(np.float64).mean(), exp["mean"], atol=1e-7)
    close(np.abs(a).max(), exp["max_abs"])


def test_audio_render_cli_writes_the_same_samples(tmp_path):
    import soundfile as sf

    exp = EXPECTED["audio"]
    path = copy("audio", tmp_path)
    assert main(["render", str(path), "--device", "cpu"]) == 0
    data, rate = sf.read(str(path / f"render_{exp['rate']}hz.wav"), dtype="float64", always_2d=True)
    assert rate == exp["rate"] and data.shape == (exp["n"], exp["channels"])
    close(data[exp["indices"], 0], exp["values"], rtol=0, atol=1.5 / 32768)  # 16-bit PCM


# ---------------------------------------------------------------- sdf


def test_sdf_values_at_fixed_points():
    exp = EXPECTED["sdf"]
    field = inrkit.load(DATA / "sdf", device="cpu")
    with torch.no_grad():
        values = field(torch.tensor(exp["points"], dtype=torch.float32))[..., 0]
    close(values.numpy(), exp["values"])


def test_sdf_mesh_at_resolution_32():
    exp = EXPECTED["sdf"]
    v, f = inrkit.mesh(DATA / "sdf", resolution=32, device="cpu")
    assert (len(v), len(f)) == (exp["mesh_vertices"], exp["mesh_faces"])
    close(v.astype(np.float64).mean(0), exp["mesh_vertex_mean"])
    close(v.min(0), exp["mesh_vertex_min"])
    close(v.max(0), exp["mesh_vertex_max"])


def test_sdf_mesh_cli(tmp_path):
    import trimesh

    exp = EXPECTED["sdf"]
    path = copy("sdf", tmp_path)
    assert main(["mesh", str(path), "--resolution", "32", "--device", "cpu"]) == 0
    m = trimesh.load(path / "mesh_32.ply", process=False)
    assert (len(m.vertices), len(m.faces)) == (exp["mesh_vertices"], exp["mesh_faces"])


def test_sdf_shaded_preview():
    img = inrkit.render_shape(inrkit.load(DATA / "sdf", device="cpu"), "sdf", (32, 32), 30.0, 20.0)
    close(np.asarray(img, np.float64).mean(), EXPECTED["sdf"]["render_32x32_mean"])


# ---------------------------------------------------------------- nerf


def test_nerf_eval_cli(tmp_path):
    exp = EXPECTED["nerf"]
    path = copy("nerf", tmp_path)
    assert main(["eval", str(path), "--device", "cpu"]) == 0
    ev = json.loads((path / "eval_test.json").read_text())
    assert ev["split"] == "test" and ev["views"] == exp["eval_views"]
    close(ev["psnr"], exp["eval_psnr"])
    close(ev["ssim"], exp["eval_ssim"])
    close([r["psnr"] for r in ev["per_view"]], exp["eval_psnr_per_view"])
    close([r["ssim"] for r in ev["per_view"]], exp["eval_ssim_per_view"])


def test_nerf_evaluate_views_and_one_view():
    exp = EXPECTED["nerf"]
    field = inrkit.load(DATA / "nerf", device="cpu")
    ev = inrkit.evaluate_views(field, "test", progress=False)
    close(ev["psnr"], exp["eval_psnr"])
    close([r["psnr"] for r in ev["per_view"]], exp["eval_psnr_per_view"])
    grid = inrkit.occupancy_grid(field)
    assert int(grid.mask.sum()) == exp["grid_occupied_cells"]  # the saved grid, not one rebuilt from the density
    cams = field.meta["signal"]["cameras"]
    i = exp["view"]
    view = inrkit.render_view(field, cams["test_c2w"][i], cams["test_intrinsics"][i], cams["width"], cams["height"])
    assert view["rgb"].shape == (*exp["view_size"][::-1], 3)
    close(view["rgb"].astype(np.float64).mean((0, 1)), exp["view0_rgb_mean"])
    close(view["depth"].astype(np.float64).mean(), exp["view0_depth_mean"])
    close(view["opacity"].astype(np.float64).mean(), exp["view0_opacity_mean"])
