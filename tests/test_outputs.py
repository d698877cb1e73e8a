"""One call from a checkpoint to what the CLI writes (inrkit.outputs and the NeRF / shape functions it
dispatches to): the same values as `inrkit render`, `inrkit mesh` and `inrkit eval`; options that do
nothing say so; bad input is one sentence."""
import json
import warnings

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import inrkit
from inrkit.cli import main
from inrkit.errors import InrkitError

pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: see conftest.one_thread


def run(*args):
    return main([str(a) for a in args])


def no_warnings(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


# ---------------------------------------------------------------- radiance fields


@pytest.fixture(scope="module")
def nerf_run(tmp_path_factory):
    """`inrkit fit nerf --steps 150` on the built-in scene (16x16 views)."""
    out = tmp_path_factory.mktemp("nerf") / "run"
    assert run("fit", "nerf", "--steps", "150", "--downscale", "4", "--batch-size", "256", "--eval-every", "1000",
               "--no-progress", "--device", "cpu", "--out", out) == 0
    return out


def to_uint8(rgb):
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def test_render_view_gives_the_pixels_of_render_and_eval(nerf_run, tmp_path):
    field = inrkit.load(nerf_run)
    assert field.checkpoint_dir == nerf_run.resolve()  # where load found it: the occupancy grid is beside it
    cams = field.meta["signal"]["cameras"]
    view = no_warnings(inrkit.render_view, field, cams["test_c2w"][0], cams["test_intrinsics"][0], cams["width"],
                       cams["height"])
    assert view["rgb"].shape == (16, 16, 3) and view["depth"].shape == view["opacity"].shape == (16, 16)
    rgb = to_uint8(view["rgb"])
    # the fit's own evaluation, `inrkit eval` and `inrkit render --view 0`: the same pixels
    assert np.array_equal(rgb, iio.imread(nerf_run / "test_views" / "000_rgb.png"))
    assert run("eval", nerf_run, "--device", "cpu") == 0
    assert np.array_equal(rgb, iio.imread(nerf_run / "eval_test" / "000_rgb.png"))
    assert run("render", nerf_run, "--view", "0", "--out", tmp_path / "v.png", "--device", "cpu") == 0
    assert np.array_equal(rgb, iio.imread(tmp_path / "v.png"))
    # and its score is the fit's, on the ground truth
    m = json.loads((nerf_run / "metrics.json").read_text())
    from inrkit.nerf.datasets import load_scene
    from inrkit.signals.nerf import signal_from_meta

    gt = signal_from_meta(field.meta).ground_truth(load_scene("sample:spheres", "test", 4), 0)
    assert inrkit.psnr(np.clip(view["rgb"], 0, 1), gt) == pytest.approx(m["psnr_per_view"][0], abs=1e-3)
    # a folder stands for the field; the Python dispatcher picks camera N of the held-out cameras
    again = inrkit.render(nerf_run, view=0, device="cpu")
    assert np.array_equal(to_uint8(again["rgb"]), rgb)
    # the grid matters: with every cell occupied, the untrained box shows up in the image
    from inrkit.nerf import OccupancyGrid

    full = inrkit.render_view(field, cams["test_c2w"][0], cams["test_intrinsics"][0], 16, 16,
                              grid=OccupancyGrid(field.meta["signal"]["render"]["grid_resolution"]))
    assert not np.array_equal(to_uint8(full["rgb"]), rgb)


def test_camera_path_frames_are_render_view_frames(nerf_run):
    field = inrkit.load(nerf_run)
    clip = inrkit.render_camera_path(field, "orbit", frames=3, size=(12, 10), depth=True, progress=False)
    assert clip.shape == (3, 10, 24, 3) and clip.dtype == np.uint8
    c2w, k, w, h = inrkit.camera_path(field, "orbit", 3, (12, 10))
    assert c2w.shape == (3, 4, 4) and k.shape == (3, 4) and (w, h) == (12, 10)
    one = inrkit.render_view(field, c2w[2], k[2], w, h, chunk_size=1 << 16)
    assert np.array_equal(clip[2, :, :12], to_uint8(one["rgb"]))
    assert np.array_equal(inrkit.render(field, camera_path="orbit", frames=3, size="12x10", view=2)["rgb"], one["rgb"])


def test_one_view_as_a_png_with_its_depth(nerf_run, tmp_path, capsys):
    assert run("render", nerf_run, "--view", "2", "--depth", "--out", tmp_path / "v.png", "--device", "cpu") == 0
    assert iio.imread(tmp_path / "v.png").shape == (16, 16, 3)
    assert iio.imread(tmp_path / "v_depth.png").shape == (16, 16)
    assert "v_depth.png" in capsys.readouterr().out
    # default name, scaled size
    assert run("render", nerf_run, "--view", "1", "--scale", "2", "--device", "cpu") == 0
    assert iio.imread(nerf_run / "render_view_1.png").shape == (32, 32, 3)
    # a one-frame path written as an image
    assert run("render", nerf_run, "--camera-path", "orbit", "--frames", "1", "--out", tmp_path / "o.png",
               "--device", "cpu") == 0
    assert iio.imread(tmp_path / "o.png").shape == (16, 16, 3)
    capsys.readouterr()
    for args, message in [
        (["--out", tmp_path / "many.png"], "the orbit camera path has 120; pick one with --view N"),
        (["--view", "8"], "view 8 does not exist: the camera path has 8 cameras (0 to 7)"),
        (["--view", "0", "--out", tmp_path / "v.mp4"], "expected a name ending in .png"),
        (["--camera-path", "orbit", "--fps", "0", "--frames", "2", "--out", tmp_path / "x.gif"],
         "fps must be positive"),
    ]:
        assert run("render", nerf_run, *args, "--device", "cpu") == 2, args
        err = capsys.readouterr().err
        assert message in err and err.startswith("inrkit: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "many.png").exists() and not (tmp_path / "x.gif").exists()


def test_help_documents_view_and_the_png_design(capsys):
    with pytest.raises(SystemExit) as e:
        main(["render", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--view" in text and "render_view_N.png" in text and "NAME_depth.png" in text
    assert "stretches it" in text  # --size of another aspect: what happens


def test_eval_refuses_a_split_the_scene_does_not_have(nerf_run, tmp_path, capsys):
    assert run("eval", nerf_run, "--split", "val", "--device", "cpu") == 2
    err = capsys.readouterr().err
    assert "has no val split" in err and "test split" in err and err.count("\n") == 1
    assert not (nerf_run / "eval_val").exists() and not (nerf_run / "eval_val.json").exists()
    # a Blender folder without transforms_val.json: the files it has are named
    from inrkit.nerf.datasets import builtin_scene, load_scene, write_blender

    scene = tmp_path / "scene"
    for split in ("train", "test"):
        write_blender(builtin_scene("spheres", split, size=8, n_views=2), scene, split)
    with pytest.raises(InrkitError, match=r"has no val split: there is no transforms_val.json "
                                          r"\(it has transforms_test.json, transforms_train.json\)"):
        load_scene(scene, "val")
    write_blender(builtin_scene("spheres", "test", size=8, n_views=2), scene, "val")
    assert len(load_scene(scene, "val")) == 2


def test_evaluate_views_is_eval(nerf_run, tmp_path):
    result = inrkit.evaluate_views(nerf_run, "test", out_dir=tmp_path / "views", progress=False)
    assert run("eval", nerf_run, "--device", "cpu") == 0
    written = json.loads((nerf_run / "eval_test.json").read_text())
    assert result["views"] == written["views"] == 8
    assert result["psnr"] == pytest.approx(written["psnr"]) and result["per_view"] == written["per_view"]
    assert (tmp_path / "views" / "007_gt.png").exists()


def test_mesh_of_a_radiance_field_is_the_cli_mesh(nerf_run, tmp_path):
    import trimesh

    v, f = inrkit.mesh(nerf_run, 16, level=1e-9, device="cpu")
    assert run("mesh", nerf_run, "--resolution", "16", "--level", "1e-9", "--out", tmp_path / "m.ply",
               "--device", "cpu") == 0
    m = trimesh.load(tmp_path / "m.ply", process=False)
    assert len(f) > 0 and np.allclose(m.vertices, v) and np.array_equal(m.faces, f)


# ---------------------------------------------------------------- shapes


@pytest.fixture(scope="module")
def sphere_run(tmp_path_factory):
    """An SDF of sample:sphere (radius 1) fitted for 300 steps, through the Python API into a folder."""
    from inrkit.signals.shape import ShapeSignal, load_shape

    out = tmp_path_factory.mktemp("sphere")
    signal = ShapeSignal(load_shape("sample:sphere"), mode="mesh", detail=32, n_train=20000, n_eval=1000,
                         mesh_resolution=24)
    torch.manual_seed(0)
    field = inrkit.FieldConfig(inrkit.GaussianFourierConfig(m=64, sigma=1.0),
                               inrkit.MLPConfig(width=64, depth=3)).build(3, 1)
    cfg = inrkit.FitConfig(steps=300, batch_size=1024, eval_every=300, progress=False, compile="off", device="cpu")
    inrkit.fit(field, signal, cfg, inrkit.OptimConfig(lr=3e-3), out_dir=out, meta={"preset": "test"})
    return out


def test_signed_distance_is_in_the_inputs_units(sphere_run):
    field = inrkit.load(sphere_run)
    tr = field.meta["signal"]["transform"]
    assert tr["scale"] == pytest.approx(0.9)  # the unit sphere spans [-0.9, 0.9] of the field's cube
    p = np.random.default_rng(0).uniform(-1.1, 1.1, size=(500, 3))
    d = inrkit.signed_distance(field, p)
    assert d.shape == (500,) and d.dtype == np.float32
    # the analytic distance of the unit sphere, after a short fit (an unfitted field is off by ~0.5)
    r = np.linalg.norm(p, axis=1)
    error = np.abs(d - (r - 1))
    assert error.mean() < 0.02 and error[np.abs(r - 1) < 0.2].max() < 0.06
    # the transform by hand: into the cube, and the cube's distances back out
    with torch.no_grad():
        by_hand = field(torch.tensor((p - tr["center"]) * tr["scale"], dtype=torch.float32))[:, 0] / tr["scale"]
    np.testing.assert_allclose(d, by_hand.numpy(), rtol=1e-5, atol=1e-6)
    # any leading shape; a tensor gives a tensor that gradients flow through (normals)
    assert inrkit.signed_distance(field, p.reshape(5, 100, 3)).shape == (5, 100)
    x = torch.tensor([[0.0, 0.0, 1.05], [0.6, 0.0, 0.0]], requires_grad=True)
    dt = inrkit.signed_distance(sphere_run, x)
    np.testing.assert_allclose(dt.detach().numpy(), inrkit.signed_distance(field, x.detach().numpy()), atol=1e-6)
    (g,) = torch.autograd.grad(dt.sum(), x)
    assert torch.nn.functional.cosine_similarity(g, x.detach()).min() > 0.9  # outward normals
    with pytest.raises(InrkitError, match="occupancy_probability needs an occupancy field, and this is an sdf field"):
        inrkit.occupancy_probability(field, p)
    with pytest.raises(InrkitError, match=r"points must have shape \(\.\.\., 3\)"):
        inrkit.signed_distance(field, np.zeros((4, 2)))


def test_occupancy_probability(tmp_path):
    from inrkit.signals.shape import ShapeSignal, load_shape

    field = inrkit.FieldConfig(inrkit.IdentityConfig(), inrkit.MLPConfig(width=8, depth=1),
                               output="sigmoid").build(3, 1)
    field.meta = {"signal": ShapeSignal(load_shape("sample:box"), mode="occupancy", n_train=100, n_eval=100,
                                        mesh_resolution=8).metadata()}
    p = np.random.default_rng(1).normal(size=(7, 3))
    tr = field.meta["signal"]["transform"]
    with torch.no_grad():
        expected = field(torch.tensor((p - tr["center"]) * tr["scale"], dtype=torch.float32))[:, 0].numpy()
    np.testing.assert_allclose(inrkit.occupancy_probability(field, p), expected, rtol=1e-5)
    with pytest.raises(InrkitError, match="signed_distance needs an sdf field"):
        inrkit.signed_distance(field, p)
    with pytest.raises(InrkitError, match="no description of what it was fitted to"):
        inrkit.signed_distance(torch.nn.Linear(3, 1), p)


def test_mesh_and_render_of_a_shape_are_the_clis(sphere_run, tmp_path, capsys):
    import trimesh

    v, f = no_warnings(inrkit.mesh, sphere_run, 16, device="cpu")
    assert run("mesh", sphere_run, "--resolution", "16", "--out", tmp_path / "m.ply", "--device", "cpu") == 0
    err = capsys.readouterr().err
    assert "extracting the mesh (16³ grid)" in err and "writing" in err  # progress, as plain lines in a log
    m = trimesh.load(tmp_path / "m.ply", process=False)
    assert np.allclose(m.vertices, v) and np.array_equal(m.faces, f)
    assert np.abs(np.linalg.norm(v, axis=1) - 1).max() < 0.1  # the unit sphere, in the input's units
    with pytest.warns(UserWarning, match="--level ignored for sdf fields"):
        inrkit.mesh(sphere_run, 16, level=5.0)
    # the still preview
    image = inrkit.render(sphere_run, size=(24, 16), azimuth=10, device="cpu")
    assert run("render", sphere_run, "--size", "24x16", "--azimuth", "10", "--out", tmp_path / "s.png",
               "--device", "cpu") == 0
    assert np.array_equal(to_uint8(image), iio.imread(tmp_path / "s.png"))


def test_turntable_of_a_shape(sphere_run, tmp_path, capsys):
    gif = tmp_path / "shape.gif"
    assert run("render", sphere_run, "--camera-path", "orbit", "--frames", "3", "--size", "16x16", "--out", gif,
               "--device", "cpu") == 0
    assert "3 frames of 16x16" in capsys.readouterr().out
    assert iio.imread(gif).shape[:3] == (3, 16, 16)
    from inrkit.signals.shape import render_shape

    field = inrkit.load(sphere_run)
    clip = inrkit.render(field, size=(16, 16), camera_path="orbit", frames=3, azimuth=10, progress=False)
    assert clip.shape == (3, 16, 16, 3) and clip.dtype == np.uint8
    assert np.array_equal(clip[1], to_uint8(render_shape(field, "sdf", (16, 16), 10 + 120, 20)))
    assert run("render", sphere_run, "--camera-path", "spiral", "--out", tmp_path / "x.gif") == 2
    assert "a shape's camera path is orbit" in capsys.readouterr().err
    assert run("render", sphere_run, "--camera-path", "orbit", "--out", tmp_path / "x.png") == 2
    assert "expected a name ending in .mp4, .gif" in capsys.readouterr().err


# ---------------------------------------------------------------- images: options that do nothing, regions


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("image")
    assert run("fit", "image", "sample:camera", "--size", "48x32", "--steps", "20", "--preset", "ngp",
               "--no-progress", "--compile", "off", "--device", "cpu", "--out", out) == 0
    return out


@pytest.mark.parametrize("args,message", [
    (["--rate", "8000"], "--rate ignored for image fields: only a sound has a sample rate"),
    (["--fps", "10"], "--fps ignored for image fields: only a video has a frame rate"),
    (["--camera-path", "orbit", "--frames", "3", "--depth"],
     "--camera-path and --frames and --depth ignored for image fields: cameras are for radiance fields"),
    (["--view", "0"], "--view ignored for image fields"),
    (["--azimuth", "10", "--elevation", "5"],
     "--azimuth and --elevation ignored for image fields: they place the camera of a shape preview"),
    (["--size", "96x64", "--region=-1,-1,0,1"],
     r"--size 96x64 stretches the region 2.00x horizontally \(it is 24x32 pixels"),
    (["--size", "8x8"], r"--size 8x8 stretches the image 1.50x vertically"),
])
def test_options_an_image_has_no_use_for_warn(image_run, tmp_path, args, message, capsys):
    with pytest.warns(UserWarning, match=message):
        assert run("render", image_run, *args, "--out", tmp_path / "r.png", "--device", "cpu") == 0
    assert (tmp_path / "r.png").exists()


def test_the_cli_prints_a_warning_as_one_line(image_run, tmp_path):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "inrkit.cli", "render", str(image_run), "--rate", "8000", "--out",
                        str(tmp_path / "r.png"), "--device", "cpu"], capture_output=True, text=True)
    assert p.returncode == 0
    assert "inrkit: warning: --rate ignored for image fields: only a sound has a sample rate\n" in p.stderr


def test_regions_outside_the_image_are_refused(image_run, tmp_path, capsys):
    for region in ("-2,-1,0,0", "0,0,1,1.5"):
        assert run("render", image_run, f"--region={region}", "--out", tmp_path / "r.png", "--device", "cpu") == 2
        err = capsys.readouterr().err
        assert f"region {region} must lie within [-1, 1] (the image's extent)" in err and err.count("\n") == 1
    assert not (tmp_path / "r.png").exists()
    from inrkit.outputs import parse_region

    assert parse_region("-1,-1,1,1") == ((-1.0, -1.0), (1.0, 1.0))
    with pytest.raises(InrkitError, match="malformed"):
        parse_region("0,0,nan,1")


def test_render_of_an_image_is_the_cli_render(image_run, tmp_path):
    region = "-0.5,-1,0.5,0"
    image = no_warnings(inrkit.render, image_run, scale=2, region=region, device="cpu")
    assert image.shape == (32, 48, 1) and image.dtype == np.uint8  # half of 96x64 in each direction
    assert run("render", image_run, "--scale", "2", f"--region={region}", "--out", tmp_path / "r.png",
               "--device", "cpu") == 0
    assert np.array_equal(image[..., 0], iio.imread(tmp_path / "r.png"))


# ---------------------------------------------------------------- volumes


def test_render_of_a_volume_is_the_cli_render(tmp_path):
    out = tmp_path / "vol"
    assert run("fit", "volume", "sample:shepp-logan", "--steps", "5", "--no-progress", "--compile", "off",
               "--device", "cpu", "--out", out) == 0
    vol = no_warnings(inrkit.render_volume, inrkit.load(out), "12x10x8")
    assert vol.shape == (12, 10, 8) and vol.dtype == np.float32
    assert np.array_equal(inrkit.render(out, size="12x10x8", device="cpu"), vol)
    assert run("render", out, "--size", "12x10x8", "--out", tmp_path / "v.npy", "--device", "cpu") == 0
    assert np.array_equal(np.load(tmp_path / "v.npy"), vol)
    with pytest.warns(UserWarning, match="--region ignored for volume fields"):
        inrkit.render(out, size=4, region="0,0,1,1", device="cpu")


def test_examples_in_the_docstrings_run():
    import doctest

    import inrkit.outputs
    import inrkit.signals.nerf
    import inrkit.signals.shape

    for module in (inrkit.outputs, inrkit.signals.nerf, inrkit.signals.shape):
        result = doctest.testmod(module, extraglobs={"inrkit": inrkit}, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(inrkit.outputs, extraglobs={"inrkit": inrkit}).attempted >= 5


def test_options_a_shape_or_a_radiance_field_has_no_use_for_warn(sphere_run, nerf_run):
    for kw, message in [
        (dict(fps=10), "--fps ignored for sdf fields without --camera-path orbit"),
        (dict(scale=2.0), "--scale ignored for sdf fields: a shape preview has no training size"),
        (dict(depth=True), "--depth ignored for sdf fields: depth maps"),
        (dict(rate=8000), "--rate ignored for sdf fields"),
    ]:
        with pytest.warns(UserWarning, match=message):
            inrkit.render(sphere_run, size=(8, 8), device="cpu", **kw)
    for kw, message in [
        (dict(camera_path="dataset", frames=5), "--frames ignored for --camera-path dataset: it has the scene's 8 "
                                                "held-out cameras"),
        (dict(view=0, fps=10), "--fps ignored for a single view"),
        (dict(azimuth=10, view=0), "--azimuth ignored for nerf fields"),
        (dict(region="0,0,1,1", view=0), "--region ignored for nerf fields: it picks part of an image"),
    ]:
        with pytest.warns(UserWarning, match=message):
            inrkit.render(nerf_run, size=(4, 4), device="cpu", progress=False, **kw)
