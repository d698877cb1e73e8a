"""Fitting the built-in scene; the radiance field, its checkpoint, and the fit/eval/render commands."""
import json

import numpy as np
import pytest
import torch

from inrkit.checkpoint import load
from inrkit.cli import main
from inrkit.encodings import TensorVM, VMConfig
from inrkit.fields import RadianceField, RadianceFieldConfig
from inrkit.nerf.datasets import load_scene
from inrkit.presets import get_nerf_preset
from inrkit.signals.nerf import NerfSignal
from inrkit.train import fit


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: see conftest.one_thread


@pytest.mark.parametrize("name", ["ngp", "tensorf", "nerf"])
def test_presets_build_radiance_fields(name, check_seed_determinism):
    preset = get_nerf_preset(name)
    if name == "ngp":  # a small table keeps the test light
        preset.field.encoding.log2_hashmap_size = 12
    x = torch.rand(5, 3) * 2 - 1
    d = torch.nn.functional.normalize(torch.randn(5, 3), dim=-1)
    field = preset.field.build()
    rgb, sigma = field(x, d)
    assert rgb.shape == (5, 3) and sigma.shape == (5,)
    assert (rgb >= 0).all() and (rgb <= 1).all() and (sigma >= 0).all()
    assert torch.allclose(field.density(x), sigma)
    (rgb.sum() + sigma.sum()).backward()
    coarse = set(map(id, field.coarse.parameters())) if field.coarse is not None else set()
    assert all(p.grad is not None for p in field.parameters() if id(p) not in coarse)
    assert (field.coarse is not None) == (name == "nerf")  # NeRF's separate coarse network

    class Wrap(torch.nn.Module):  # the shared determinism check calls make()(x)
        def __init__(self):
            super().__init__()
            self.f = preset.field.build()

        def forward(self, x):
            return torch.cat([self.f(x, d)[0], self.f.density(x)[:, None]], -1)

    if name != "ngp":  # the hash table is seeded by its config, not by torch.manual_seed
        check_seed_determinism(Wrap, x)


def test_tensor_vm_interpolates_planes_times_lines():
    enc = TensorVM(3, n_components=2, resolution=3)
    with torch.no_grad():
        enc.planes.zero_()
        enc.lines.zero_()
        enc.planes[0, 0] = torch.arange(9.0).reshape(3, 3)  # xy plane, rows = y, columns = x
        enc.lines[0, 0, :, 0] = torch.tensor([1.0, 2.0, 3.0])  # z line
    x = torch.tensor([[0.5, -1.0, 0.0]])  # x halfway between columns 1 and 2, y row 0, z vertex 1
    out = enc(x)
    assert out.shape == (1, 6)
    assert out[0, 0].item() == pytest.approx(1.5 * 2.0)
    assert out[0, 1:].abs().max() == 0


def _tiny_signal():
    p = get_nerf_preset("tensorf")
    p.field.encoding = VMConfig(n_components=8, resolution=48)
    p.render.render_steps, p.render.grid_resolution = 96, 24
    train, test = load_scene("builtin:spheres", "train", 2), load_scene("builtin:spheres", "test", 2)
    return p, NerfSignal(train, test, p.render)


def test_short_fit_of_the_builtin_scene_reaches_psnr_on_held_out_views(fast):
    p, signal = _tiny_signal()
    torch.manual_seed(0)
    field = p.field.build()
    r = fit(field, signal, fast(steps=150, batch_size=512, eval_every=1000, checkpoint_every=0), p.optim)
    gt = signal.ground_truth(signal.test, 0)
    baseline = -10 * np.log10(((gt - gt.mean((0, 1))) ** 2).mean())  # the best constant colour: ~9 dB
    assert r.metrics["views"] == 8
    assert r.metrics["psnr_per_view"][0] > 19.0 > baseline + 8
    assert r.metrics["psnr"] > 19.0
    # rays/s counts whole training steps: 150 steps of 512 rays over the training seconds
    assert r.metrics["rays_per_second"] == pytest.approx(150 * 512 / r.metrics["seconds"], rel=1e-3)
    # depth: the big sphere (radius 0.8 at the origin) is hit about 4 - 0.8 from the cameras
    v = r.prediction.view(0)
    centre = v["depth"][14:18, 14:18][v["opacity"][14:18, 14:18] > 0.5]
    assert centre.size and abs(np.median(centre) - 3.2) < 0.3


def test_hierarchical_sampler_renders_and_learns(fast):
    p = get_nerf_preset("nerf")
    p.field.network.width, p.field.network.depth, p.field.geo_features = 32, 2, 8
    p.field.network.skips = ()
    p.render.coarse_samples, p.render.fine_samples = 16, 16
    train, test = load_scene("builtin:spheres", "train", 4), load_scene("builtin:spheres", "test", 4)
    signal = NerfSignal(train, test, p.render)
    torch.manual_seed(0)
    field = p.field.build()
    p.optim.lr = 5e-3
    g = torch.Generator().manual_seed(0)
    first = signal.loss(field, 0, 256, g).item()
    r = fit(field, signal, fast(steps=60, batch_size=256, eval_every=1000, checkpoint_every=0), p.optim)
    assert r.history[-1]["loss"] < 0.7 * first
    assert np.isfinite(r.metrics["psnr"])


def test_hierarchical_coarse_pass_queries_the_coarse_network():
    p = get_nerf_preset("nerf")
    p.field.network.width, p.field.network.depth, p.field.geo_features = 16, 1, 4
    p.field.network.skips = ()
    p.render.coarse_samples, p.render.fine_samples = 8, 8
    train = load_scene("builtin:spheres", "train", 8)
    signal = NerfSignal(train, train, p.render)
    torch.manual_seed(0)
    field = p.field.build()
    assert field.coarse is not None and field.coarse.coarse is None
    assert field.n_params() == 2 * field.coarse.n_params()
    o = torch.tensor([[0.0, 0.0, 4.0], [0.3, 0.0, 4.0]])
    d = torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]])
    bg = torch.ones(3)
    out = signal.render_rays(field, o, d, bg)
    signal.render.fine_samples = 0  # one pass of the same stratified samples, through the coarse network alone
    alone = signal.render_rays(field.coarse, o, d, bg)
    assert torch.allclose(out["rgb_coarse"], alone["rgb"])
    signal.render.fine_samples = 8
    # the loss trains both: the coarse network through the coarse pass's MSE
    signal.loss(field, 1, 64, torch.Generator().manual_seed(0)).backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in field.coarse.network.parameters())
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in field.network.parameters())
    # the checkpointed description rebuilds both networks
    again = RadianceFieldConfig.from_dict(field.config.to_dict()).build()
    assert again.coarse is not None
    again.load_state_dict(field.state_dict())


def run(*args):
    return main([str(a) for a in args])


def test_fit_eval_render_info_and_resume_commands(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--preset", "tensorf", "--downscale", "4", "--batch-size", "256", "--eval-every", "10",
              "--no-progress", "--device", "cpu", "--out", out]
    assert run("fit", "nerf", "builtin:spheres", "--steps", "10", "--checkpoint-every", "5", *common) == 0
    assert "test PSNR" in capsys.readouterr().out
    for name in ("field.json", "field.safetensors", "metrics.json", "history.csv", "test_views/000_rgb.png",
                 "test_views/000_depth.png", "test_views/000_gt.png"):
        assert (out / name).exists(), name
    meta = json.loads((out / "field.json").read_text())
    assert meta["field"]["type"] == "radiance" and meta["signal"]["bounds"] == [[-1.5] * 3, [1.5] * 3]
    field = load(out)
    assert isinstance(field, RadianceField)
    x, d = torch.rand(4, 3), torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)
    cfg = RadianceFieldConfig.from_dict(meta["field"])
    assert cfg.encoding.kind == "vm"
    assert field(x, d)[0].shape == (4, 3)

    assert run("fit", "nerf", "builtin:spheres", "--steps", "14", "--resume", *common) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 14

    assert run("eval", out, "--device", "cpu") == 0
    text = capsys.readouterr().out
    assert "mean over 8 test views" in text and "LPIPS" in text or "mean over 8 test views" in text
    ev = json.loads((out / "eval_test.json").read_text())
    assert len(ev["per_view"]) == 8 and (out / "eval_test" / "007_gt.png").exists()
    fit_psnr = json.loads((out / "metrics.json").read_text())["psnr"]
    assert ev["psnr"] == pytest.approx(fit_psnr, abs=1e-3)  # same views, same field, the grid training ended with

    gif = tmp_path / "orbit.gif"
    assert run("render", out, "--camera-path", "orbit", "--frames", "3", "--depth", "--out", gif, "--device", "cpu") == 0
    import imageio.v3 as iio

    frames = iio.imread(gif)
    assert frames.shape[0] == 3 and frames.shape[2] == 2 * frames.shape[1]  # colour | depth side by side
    mp4 = tmp_path / "spiral.mp4"
    assert run("render", out, "--camera-path", "spiral", "--frames", "4", "--size", "20x16", "--out", mp4,
               "--device", "cpu") == 0
    assert mp4.stat().st_size > 0
    # a nerfstudio camera path
    cams = {"render_width": 12, "render_height": 10, "camera_path": [
        {"camera_to_world": torch.tensor(meta["signal"]["cameras"]["test_c2w"][0]).reshape(-1).tolist(), "fov": 40}]}
    (tmp_path / "path.json").write_text(json.dumps(cams))
    assert run("render", out, "--camera-path", tmp_path / "path.json", "--out", tmp_path / "one.gif",
               "--device", "cpu") == 0
    assert run("info", out) == 0
    capsys.readouterr()
    # mesh on density: any positive density inside the carved cells is above a tiny level, so the surface
    # is there and lies inside the scene's bounds (world units)
    assert run("mesh", out, "--resolution", "24", "--level", "1e-9", "--out", tmp_path / "m.ply", "--device", "cpu") == 0
    import trimesh

    m = trimesh.load(tmp_path / "m.ply")
    assert len(m.faces) > 0 and (abs(m.vertices) <= 1.5 + 1e-4).all()
    assert run("mesh", out, "--level", "0", "--out", tmp_path / "m2.ply") == 2
    capsys.readouterr()  # mesh's progress lines

    # bad input: one sentence, exit status 2
    (tmp_path / "bad.json").write_text(json.dumps({"camera_path": [{"fov": 3}]}))
    (tmp_path / "folder.json").mkdir()  # exists but cannot be read as a file
    (tmp_path / "broken.json").write_text("{oops")
    for args in (["render", out, "--camera-path", tmp_path / "bad.json"],
                 ["render", out, "--camera-path", tmp_path / "folder.json"],
                 ["render", out, "--camera-path", tmp_path / "broken.json"],
                 ["render", out, "--camera-path", "nowhere.json"],
                 ["render", out, "--out", tmp_path / "x.avi"],
                 ["eval", out, "--split", "nope"],
                 ["fit", "nerf", tmp_path / "missing", "--out", tmp_path / "r2"],
                 ["fit", "nerf", "builtin:spheres", "--background", "pink", "--out", tmp_path / "r3"],
                 ["fit", "nerf", "builtin:spheres", "--preset", "siren", "--out", tmp_path / "r4"]):
        assert run(*args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("inrkit: error: ") and "Traceback" not in err


def test_mesh_of_a_radiance_field_is_its_density_level_set_in_world_units(tmp_path):
    from safetensors.torch import save_file

    from inrkit.signals.nerf import OCCUPANCY, mesh_radiance_field

    class Ball(torch.nn.Module):  # density 100 inside radius 0.5 of [-1, 1]³, 0 outside
        def density(self, x):
            return 100.0 * (x.norm(dim=-1) < 0.5).float()

    meta = {"bounds": [[-3.0, -3.0, -3.0], [1.0, 1.0, 1.0]]}  # centre (-1, -1, -1), half size 2
    v, f = mesh_radiance_field(Ball(), meta, resolution=64, level=50.0)
    r = np.linalg.norm(v - np.array([-1.0, -1.0, -1.0]), axis=1)
    assert len(f) > 0 and abs(r.mean() - 1.0) < 0.05  # radius 0.5 of the cube = 1 world unit
    # cells the training views carved away hold no surface, whatever the field says there
    carved = torch.ones(16, 16, 16, dtype=torch.uint8)
    carved[:8] = 0  # x < 0 of the field's cube
    save_file({"carved": carved}, str(tmp_path / OCCUPANCY))
    v, f = mesh_radiance_field(Ball(), meta, resolution=64, level=50.0, checkpoint=tmp_path)
    assert len(f) > 0 and v[:, 0].min() > -1.0 - 0.1  # only the half ball with world x >= -1 remains


def test_eval_and_render_reuse_the_grid_training_ended_with(tmp_path):
    from safetensors.torch import save_file

    from inrkit.signals.nerf import OCCUPANCY, grid_for_field

    p = get_nerf_preset("tensorf")
    p.field.encoding = VMConfig(n_components=4, resolution=16)
    p.render.grid_resolution = 8
    field = p.field.build()
    mask = torch.zeros((8, 8, 8), dtype=torch.bool)
    mask[2:5, 3, 1::3] = True  # no density could produce this pattern by chance
    save_file({"carved": torch.ones((8, 8, 8), dtype=torch.uint8), "mask": mask.to(torch.uint8)},
              str(tmp_path / OCCUPANCY))
    grid = grid_for_field(field, p.render, "cpu", checkpoint=tmp_path)
    assert torch.equal(grid.mask, mask)
    rebuilt = grid_for_field(field, p.render, "cpu")  # no checkpoint: from the field's density
    assert rebuilt.mask.shape == mask.shape and not torch.equal(rebuilt.mask, mask)


# ---------------------------------------------------------------- the occupancy grid is the field's


def test_the_grid_is_the_fields_own_and_saved_with_its_weights(tmp_path, fast):
    from safetensors.torch import load_file

    from inrkit.nerf.occupancy import OccupancyGrid
    from inrkit.signals.nerf import OCCUPANCY

    p, signal = _tiny_signal()
    torch.manual_seed(0)
    field = p.field.build()
    assert isinstance(field.grid, OccupancyGrid) and field.grid.resolution == 0  # empty until trained
    assert not any(k.startswith("grid.") for k in field.state_dict())
    fit(field, signal, fast(steps=3, batch_size=64, eval_every=1000, checkpoint_every=0), p.optim, out_dir=tmp_path)
    assert field.grid.resolution == 24 and int(field.grid.updates) == 1  # sized, carved and refreshed by the loss
    assert not field.grid.carved.all()  # the visual hull of the RGBA views
    saved = load_file(str(tmp_path / "field.safetensors"))
    assert {"grid.density", "grid.mask", "grid.carved", "grid.updates"} <= saved.keys()
    assert not (tmp_path / OCCUPANCY).exists()  # nothing beside the checkpoint any more
    again = load(tmp_path)
    for name in ("density", "mask", "carved", "updates"):
        assert torch.equal(getattr(again.grid, name), getattr(field.grid, name)), name
    # the signal renders the loaded field through its own grid: the same pixels as the fitted field
    with torch.no_grad():
        a, b = signal.predict(field).view(0), signal.predict(again).view(0)
    np.testing.assert_array_equal(a["rgb"], b["rgb"])


def test_a_v0_1_0_checkpoint_takes_its_occupancy_file_as_its_grid():
    from pathlib import Path

    from safetensors.torch import load_file

    import inrkit
    from inrkit.nerf.views import load_saved_grid, render_config

    folder = Path(__file__).resolve().parent / "data" / "v0.1.0" / "nerf"
    field = inrkit.load(folder, device="cpu")  # field.safetensors holds no grid: it loads, with an empty one
    assert field.grid.resolution == 0
    grid = inrkit.occupancy_grid(field)  # reads occupancy.safetensors once, into the field
    saved = load_file(str(folder / "occupancy.safetensors"))
    assert grid is field.grid and torch.equal(field.grid.mask, saved["mask"].bool())
    assert torch.equal(field.grid.carved, saved["carved"].bool())
    assert not load_saved_grid(field, render_config(field.meta))  # nothing left to do


def test_render_rays_of_a_tiny_field_follow_the_sampling_and_compositing_steps():
    """The orchestrator against the steps it chains (the signal's former rendering code, written out)."""
    from inrkit.nerf.occupancy import OccupancyGrid
    from inrkit.nerf.render import NerfRenderConfig, render_rays
    from inrkit.nerf.rendering import composite, render_weights
    from inrkit.nerf.sampling import importance_samples, intervals_from_points, ray_aabb, stratified_samples

    p = get_nerf_preset("tensorf")
    p.field.encoding = VMConfig(n_components=2, resolution=8)
    torch.manual_seed(0)
    field = p.field.build()
    o = torch.tensor([[0.1, -0.2, -3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.5]])
    d = torch.nn.functional.normalize(torch.tensor([[0.0, 0.1, 1.0], [-1.0, -1.0, -1.0], [1.0, 0.0, 0.0]]), dim=-1)
    bg = torch.tensor([0.2, 0.4, 0.6])
    grid = OccupancyGrid(4)
    grid.mask[0] = False  # x < -0.5 is empty
    cfg = NerfRenderConfig(render_steps=64, early_stop_eps=1e-3)
    with torch.no_grad():
        out = render_rays(field, o, d, cfg, grid, bg, depth_scale=2.0)
        ri, t0, t1 = grid.march(o, d, cfg.step_size, None, False, lambda x, _d: field.density(x), 1e-3, 0.0)
        tm = 0.5 * (t0 + t1)
        rgb, sigma = field(o[ri] + tm[:, None] * d[ri], d[ri])
        want = composite(render_weights(t0, t1, sigma, ri)[0], rgb, 2.0 * tm, bg, ri, 3)
    for k in ("rgb", "depth", "opacity"):
        torch.testing.assert_close(out[k], want[k], rtol=0, atol=0)
    assert out["samples"].item() == ri.numel()
    # no grid: every step in the box
    with torch.no_grad():
        full = render_rays(field, o, d, cfg, None, bg)
        every = render_rays(field, o, d, cfg, OccupancyGrid(4), bg)
    torch.testing.assert_close(full["rgb"], every["rgb"], rtol=0, atol=0)

    cfg = NerfRenderConfig(sampler="hierarchical", coarse_samples=8, fine_samples=4)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    with torch.no_grad():
        out = render_rays(field, o, d, cfg, None, bg, generator=g1, perturb=True)
        near, far = ray_aabb(o, d)
        far = torch.maximum(far, near)

        def dense(t):
            a, b = intervals_from_points(t, near, far)
            x = o[:, None] + t[..., None] * d[:, None]
            rgb, sigma = field(x.reshape(-1, 3), d[:, None].expand_as(x).reshape(-1, 3))
            w = render_weights(a, b, sigma.reshape(3, -1))[0]
            return composite(w, rgb.reshape(3, -1, 3), t, bg), w

        t = stratified_samples(near, far, 8, g2, True)
        coarse, w = dense(t)
        bins = torch.cat([near[:, None], 0.5 * (t[:, 1:] + t[:, :-1]), far[:, None]], -1)
        fine, _ = dense(torch.sort(torch.cat([t, importance_samples(bins, w, 4, g2, True)], -1), -1)[0])
    torch.testing.assert_close(out["rgb"], fine["rgb"], rtol=0, atol=0)
    torch.testing.assert_close(out["rgb_coarse"], coarse["rgb"], rtol=0, atol=0)
    assert out["samples"].item() == 3 * 12
