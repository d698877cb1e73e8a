import json

import numpy as np
import pytest
import torch
import trimesh

import inrkit
from inrkit import InrkitError
from inrkit.cli import main
from inrkit.shape_metrics import chamfer, iou, surface_metrics
from inrkit.signals.shape import SdfLossWeights, ShapeData, ShapeSignal, load_shape, shape_function

SMALL = dict(n_train=4000, n_eval=2000, mesh_resolution=32)


def box_mesh():
    return trimesh.creation.box(extents=(2.0, 1.0, 0.5))


# -- loaders ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".off", ".glb"])
def test_mesh_formats(tmp_path, suffix):
    m = box_mesh()
    m.apply_translation([10, 0, 0])
    path = tmp_path / f"box{suffix}"
    m.export(str(path))
    d = load_shape(str(path))
    assert d.is_mesh and len(d.faces) == 12
    np.testing.assert_allclose(d.bounds()[0], [9, -0.5, -0.25], atol=1e-5)
    np.testing.assert_allclose(d.bounds()[1], [11, 0.5, 0.25], atol=1e-5)


def sphere_points(n=3000, seed=0):
    u = np.random.default_rng(seed).normal(size=(n, 3))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def test_oriented_point_clouds(tmp_path):
    u = sphere_points(500)
    np.savetxt(tmp_path / "s.xyz", np.hstack([u * 2, u * 3]))  # normals of any length are normalised
    d = load_shape(str(tmp_path / "s.xyz"))
    assert not d.is_mesh and d.vertices.shape == (500, 3)
    np.testing.assert_allclose(d.normals, u, atol=1e-6)
    cloud = trimesh.Trimesh(vertices=u, vertex_normals=u, process=False)
    (tmp_path / "s.ply").write_bytes(trimesh.exchange.ply.export_ply(cloud, vertex_normal=True))  # binary
    header = ["ply", "format ascii 1.0", f"element vertex {len(u)}",
              *[f"property float {k}" for k in ("x", "y", "z", "nx", "ny", "nz")], "end_header"]
    rows = [" ".join(f"{v:.7f}" for v in (*p, *p)) for p in u]
    (tmp_path / "a.ply").write_text("\n".join(header + rows) + "\n")
    for name in ("s.ply", "a.ply"):  # trimesh hands binary and ASCII properties back in different forms
        d = load_shape(str(tmp_path / name))
        assert not d.is_mesh
        np.testing.assert_allclose(d.normals, u, atol=1e-5)


@pytest.mark.parametrize(
    "name,content,match",
    [
        ("bad.obj", "this is not a mesh\n", "no triangle mesh|could not read|no vertices"),
        ("empty.xyz", "", "no points"),
        ("cols.xyz", "1 2 3 4\n5 6 7 8\n", "4 columns"),
        ("words.xyz", "a b c\n", "could not read"),
        ("nan.xyz", "nan 0 0\n1 1 1\n", "NaN"),
        ("zero.xyz", "0 0 0 0 0 0\n1 1 1 0 0 1\n", "normals"),
        ("same.xyz", "1 1 1\n1 1 1\n", "no extent"),
        ("shape.txt", "1 2 3\n", "unsupported extension"),
        ("empty.stl", "", "could not read|no triangle mesh|no vertices"),
    ],
)
def test_bad_files(tmp_path, name, content, match):
    (tmp_path / name).write_text(content)
    with pytest.raises(InrkitError, match=match):
        load_shape(str(tmp_path / name))


def test_missing_file_folder_and_unknown_sample(tmp_path):
    with pytest.raises(InrkitError, match="does not exist"):
        load_shape(str(tmp_path / "nope.obj"))
    with pytest.raises(InrkitError, match="folder"):
        load_shape(str(tmp_path))
    with pytest.raises(InrkitError, match="unknown sample"):
        load_shape("sample:teapot")


def test_mode_requirements(tmp_path):
    np.savetxt(tmp_path / "p.xyz", sphere_points(100))
    cloud = load_shape(str(tmp_path / "p.xyz"))
    with pytest.raises(InrkitError, match="without normals"):
        ShapeSignal(cloud, mode="pointcloud", **SMALL)
    with pytest.raises(InrkitError, match="point cloud"):
        ShapeSignal(cloud, mode="occupancy", **SMALL)
    # An open sheet has no inside: signed distances and occupancy are undefined.
    sheet = ShapeData(np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], float),
                      np.array([[0, 1, 2], [0, 2, 3]]), name="sheet")
    with pytest.raises(InrkitError, match="does not enclose a volume"):
        ShapeSignal(sheet, mode="mesh", **SMALL)


@pytest.mark.parametrize("kw,match", [
    ({"mesh_resolution": 0}, "mesh resolution must be at least 8, got 0"),
    ({"n_train": 1}, "training points must be at least 2"),
    ({"fscore_ratio": float("nan")}, "F-score ratio"),
    ({"weights": SdfLossWeights(surface=float("nan"))}, "loss weight surface"),
    ({"weights": SdfLossWeights(alpha=-1.0)}, "loss weight alpha"),
])
def test_each_bad_setting_is_named(kw, match):
    with pytest.raises(InrkitError, match=match):
        ShapeSignal(load_shape("sample:sphere"), mode="pointcloud", **{**SMALL, **kw})


# -- normalisation and distances ------------------------------------------------------------------
def test_normalisation_round_trip():
    m = box_mesh()
    m.apply_scale(7.0)
    m.apply_translation([3, -2, 100])
    s = ShapeSignal(ShapeData(m.vertices, m.faces, name="box"), mode="occupancy", extent=0.8, **SMALL)
    x = np.random.default_rng(0).normal(size=(50, 3)) * 10
    np.testing.assert_allclose(s.to_input(s.to_field(x)), x, atol=1e-9)
    v = s.to_field(m.vertices)
    np.testing.assert_allclose(v.max(0)[0], 0.8) and np.testing.assert_allclose(v.min(0)[0], -0.8)
    np.testing.assert_allclose((v.max(0) + v.min(0)) / 2, 0, atol=1e-12)  # centred
    assert s.metadata()["transform"]["scale"] == pytest.approx(0.8 / 7.0)


def test_true_signed_distance_of_a_sphere():
    s = ShapeSignal(load_shape("sample:sphere"), mode="mesh", **SMALL)
    p = np.random.default_rng(1).uniform(-1, 1, size=(2000, 3))
    expected = np.linalg.norm(p, axis=1) - 0.9  # unit sphere scaled to radius 0.9, centred
    np.testing.assert_allclose(s.signed_distance(p), expected, atol=2e-3)
    # The training pool's targets are the same distances; occupancy labels their signs.
    pool = s.pool.numpy()
    np.testing.assert_allclose(s.target.numpy(), np.linalg.norm(pool, axis=1) - 0.9, atol=2e-3)


class SphereSdf(torch.nn.Module):
    """An exact SDF ``|x - c| - r`` posing as a field."""

    def __init__(self, c, r):
        super().__init__()
        self.c, self.r = torch.tensor(c, dtype=torch.float32), r
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return ((x - self.c).norm(dim=-1) - self.r + self.dummy)[..., None]


def test_siren_losses_against_an_exact_sdf():
    # On an exact SDF with matching normals the surface, normal and eikonal terms vanish; what is left is
    # the off-surface term w_off * mean over all B points of [off] exp(-α|f|), recomputed by hand here.
    u = sphere_points(4000)
    s = ShapeSignal(ShapeData(u, None, u, "sphere"), mode="pointcloud", weights=SdfLossWeights(alpha=10.0), **SMALL)
    field = SphereSdf(-s.center * s.scale, s.scale)
    gen = torch.Generator().manual_seed(5)
    replay = torch.Generator().manual_seed(5)
    loss = s.loss(field, step=0, batch_size=1000, generator=gen)
    torch.randint(4000, (500,), generator=replay)
    off = torch.rand(500, 3, generator=replay) * 2 - 1
    f = field(off)[:, 0]
    expected = 1e2 * torch.exp(-10 * f.abs()).sum() / 1000
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


# -- metrics against closed forms -----------------------------------------------------------------
def test_chamfer_of_concentric_spheres():
    u = sphere_points(5000)
    r, s_ = 1.0, 1.1
    m = surface_metrics((u * s_, u), (u * r, u), fscore_threshold=0.15)
    assert m["chamfer_l1"] == pytest.approx(0.1, rel=1e-9)
    assert m["chamfer_l2"] == pytest.approx(0.01, rel=1e-9)
    assert m["normal_consistency"] == pytest.approx(1.0)
    assert m["fscore"] == 1.0
    assert surface_metrics((u * s_, u), (u * r, u), fscore_threshold=0.05)["fscore"] == 0.0
    assert chamfer(u * 2, u * 2.5) == pytest.approx((0.5, 0.25))
    # Flipped normals still count as consistent (|n·n'|), perpendicular ones do not.
    assert surface_metrics((u, -u), (u, u), 0.1)["normal_consistency"] == pytest.approx(1.0)


def test_mesh_distances_are_exact():
    # Against meshes, Chamfer uses point-to-triangle distances: a surface against itself scores 0 whatever
    # the sampling, where two independent samplings of it are a fraction of their spacing apart.
    from inrkit.shape_metrics import sample_surface

    m = box_mesh()
    vf = (m.vertices, m.faces)
    a, b = sample_surface(*vf, 3000, seed=1), sample_surface(*vf, 3000, seed=2)
    same = surface_metrics(a, b, 1e-3, pred_mesh=vf, ref_mesh=vf)
    assert same["chamfer_l1"] < 1e-9 and same["normal_consistency"] == pytest.approx(1.0) and same["fscore"] == 1.0
    by_samples = surface_metrics(a, b, 1e-3)
    assert by_samples["chamfer_l1"] > 0.005  # the sampling bias the mesh distances remove


def test_iou_of_offset_cubes():
    # Cell centres of grids over [-0.25, 1.75] whose cell faces fall on the cubes' faces.
    g, h = (np.arange(200) + 0.5) / 100 - 0.25, (np.arange(8) + 0.5) / 4 - 0.25
    x, y, z = np.meshgrid(g, h, h, indexing="ij")
    in_a = (x > 0) & (x < 1) & (y > 0) & (y < 1) & (z > 0) & (z < 1)
    in_b = (x > 0.5) & (x < 1.5) & (y > 0) & (y < 1) & (z > 0) & (z < 1)
    assert iou(in_a, in_b) == pytest.approx(1 / 3, abs=1e-9)  # 0.5 / 1.5
    assert iou(in_a, in_a) == 1.0


# -- fitting ----------------------------------------------------------------------------------------
def small_field(kind="gaussian", seed=0):
    enc = inrkit.GaussianFourierConfig(m=64, sigma=2.0) if kind == "gaussian" else inrkit.IdentityConfig()
    net = inrkit.MLPConfig(width=64, depth=3) if kind == "gaussian" else inrkit.SirenConfig(
        width=64, depth=3, first_omega=15.0)
    torch.manual_seed(seed)
    return inrkit.FieldConfig(enc, net).build(3, 1)


@pytest.mark.parametrize("mode", ["occupancy", "mesh"])
def test_short_fit_of_a_torus(fast, mode):
    s = ShapeSignal(load_shape("sample:torus"), mode=mode, **{**SMALL, "n_train": 20000, "mesh_resolution": 48})
    r = inrkit.fit(small_field(), s, fast(steps=120, batch_size=1024, eval_every=120), inrkit.OptimConfig(lr=3e-3))
    # An untrained field scores IoU ~0.2-0.5 and Chamfer in tens of percent of the diagonal.
    assert r.metrics["iou"] > 0.9
    assert r.metrics["chamfer_l1_ratio"] < 0.02
    assert r.metrics["normal_consistency"] > 0.9


def test_short_pointcloud_fit_of_a_sphere(fast):
    s = ShapeSignal(load_shape("sample:sphere"), mode="pointcloud", **SMALL)
    r = inrkit.fit(small_field("siren"), s, fast(steps=100, batch_size=1024, eval_every=100), inrkit.OptimConfig(lr=1e-3))
    # 100 steps reach ~2% of the diagonal (the initial field's zero set, if any, is tens of percent off).
    assert r.metrics["chamfer_l1_ratio"] < 0.03
    assert r.metrics["normal_consistency"] > 0.9


# -- CLI --------------------------------------------------------------------------------------------
def test_cli_fit_mesh_render_info_resume(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["fit", "sdf", "sample:sphere", "--preset", "ngp-sdf", "--out", str(out), "--steps", "20",
            "--no-progress", "--detail", "32", "--n-train", "4000", "--mesh-resolution", "24",
            "--batch-size", "1024", "--checkpoint-every", "10", "--eval-every", "10"]
    assert main(args) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert {"iou", "chamfer_l1", "normal_consistency", "fscore", "fscore_threshold"} <= m.keys()
    mesh = trimesh.load(str(out / "mesh.ply"))
    assert len(mesh.faces) > 0
    # Output in the input's units: the unit sphere, not the field's 0.9 sphere.
    assert np.abs(mesh.vertices).max() == pytest.approx(1.0, abs=0.15)
    meta = inrkit.load_meta(out)
    assert meta["signal"]["kind"] == "sdf" and meta["signal"]["mode"] == "mesh"

    assert main(["mesh", str(out), "--resolution", "16", "--out", str(tmp_path / "m.obj")]) == 0
    assert len(trimesh.load(str(tmp_path / "m.obj"), force="mesh").faces) > 0
    assert main(["mesh", str(out), "--resolution", "16", "--out", str(tmp_path / "m.glb")]) == 0
    assert len(trimesh.load(str(tmp_path / "m.glb"), force="mesh").faces) > 0
    assert main(["render", str(out), "--size", "24x16"]) == 0
    import imageio.v3 as iio

    img = iio.imread(out / "render_24x16.png")
    assert img.shape == (16, 24, 3) and (img < 250).any() and (img == 255).any()  # surface on a white background
    assert main(["info", str(out)]) == 0
    assert "iou" in capsys.readouterr().out

    assert main(args[:-6] + ["--steps", "30", "--resume", "--checkpoint-every", "10", "--eval-every", "10"]) == 0
    history = (out / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["10", "20", "30"]


def test_cli_errors(tmp_path, capsys):
    assert main(["fit", "sdf", str(tmp_path / "none.obj"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["fit", "sdf", "sample:sphere", "--mode", "volume", "--out", str(tmp_path / "o")]) == 2
    assert "unknown sdf mode" in capsys.readouterr().err
    # mesh on an image checkpoint, and a bad output name
    img = tmp_path / "img"
    assert main(["fit", "image", "sample:camera", "--size", "16x16", "--steps", "2", "--out", str(img),
                 "--no-progress", "--preset", "relu"]) == 0
    assert main(["mesh", str(img)]) == 2
    assert "holds a field of kind 'image'" in capsys.readouterr().err
    assert main(["mesh", str(img), "--out", str(tmp_path / "m.xyz")]) == 2
    assert "expected a name ending in" in capsys.readouterr().err


def test_occupancy_function_is_the_logit():
    # Whatever the output activation, the occupancy field's implicit function is the pre-activation logit.
    f = inrkit.FieldConfig(inrkit.IdentityConfig(), inrkit.MLPConfig(width=8, depth=1), output="sigmoid")
    field = f.build(3, 1)
    x = torch.randn(10, 3)
    np.testing.assert_allclose(torch.sigmoid(shape_function(field, "occupancy")(x)).detach(), field(x)[:, 0].detach(),
                               rtol=1e-6)


def test_bunny(shared_data, fast):
    s = ShapeSignal(load_shape(str(shared_data / "meshes" / "bunny.obj")), mode="occupancy", **SMALL)
    assert s.data.is_mesh and len(s.data.faces) == 4968
    assert 0.05 < s.inside_uniform.mean() < 0.6  # the bunny has an inside despite its holes


def test_a_field_with_no_surface_removes_an_earlier_runs_mesh(tmp_path):
    signal = ShapeSignal(load_shape("sample:sphere"), mode="mesh", **SMALL)
    field = inrkit.FieldConfig(inrkit.IdentityConfig(), inrkit.MLPConfig(width=8, depth=1)).build(3, 1)
    with torch.no_grad():
        for p in field.parameters():
            p.zero_()
        list(field.parameters())[-1].fill_(0.5)  # output bias: a constant positive distance, no zero set
    old = tmp_path / "mesh.ply"
    old.write_text("an earlier run's mesh")
    with pytest.warns(UserWarning, match="no surface.*earlier run's mesh there was removed"):
        signal.save(old, signal.predict(field))
    assert not old.exists()


class _Sphere(torch.nn.Module):
    """An exact signed distance to a sphere of radius 0.5 (and, as a logit, positive outside)."""

    def __init__(self):
        super().__init__()
        self.r = torch.nn.Parameter(torch.tensor(0.5))
        self.encoding = torch.nn.Identity()
        self.network = lambda x: -(x.norm(dim=-1, keepdim=True) - self.r)  # occupancy: positive inside

    def forward(self, x):
        return x.norm(dim=-1, keepdim=True) - self.r


@pytest.mark.parametrize("kind", ["sdf", "occupancy"])
def test_render_shape_is_the_same_in_any_chunking_and_hits_the_sphere_where_it_should(kind):
    from inrkit.signals.shape import render_shape

    field = _Sphere()
    ref = render_shape(field, kind, (12, 10), 0.0, 0.0, chunk_size=1 << 16)
    assert ref.shape == (10, 12, 3) and ref.dtype == np.float32
    np.testing.assert_array_equal(render_shape(field, kind, (12, 10), 0.0, 0.0, chunk_size=7), ref)
    # Orthographic over [-1.15, 1.15]²: pixels whose centre is within the radius are shaded, the rest white.
    u = ((np.arange(12) + 0.5) / 12 * 2 - 1) * 1.15 * 1.2
    v = ((np.arange(10) + 0.5) / 10 * 2 - 1) * 1.15
    r = np.hypot(u[None, :], v[:, None])  # (H, W)
    white = (ref == 1).all(-1)
    assert white[r > 0.52].all() and not white[r < 0.48].any()


# -- module layout --------------------------------------------------------------------------------
def test_signals_shape_re_exports_the_data_and_render_modules():
    import inrkit.shape_io
    import inrkit.shape_render
    import inrkit.signals.shape as shape

    for module in (inrkit.shape_io, inrkit.shape_render):
        for name in module.__all__:
            if name != "MESH_SUFFIXES" and name != "mesh_to_cloud":
                assert getattr(shape, name) is getattr(module, name) and name in shape.__all__, name
    assert all(hasattr(shape, name) for name in shape.__all__)


def test_examples_in_the_shape_io_and_render_docstrings_run():
    import doctest

    import inrkit.shape_io
    import inrkit.shape_render

    for module in (inrkit.shape_io, inrkit.shape_render):
        result = doctest.testmod(module, extraglobs={"inrkit": inrkit}, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__
