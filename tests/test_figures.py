"""Figures written after a fit (inrkit.plots and each signal's save): valid PNGs of sensible size,
slice grids that are not mostly black, depth colours monotone in depth, training curves, and one
warning (no traceback) for each figure skipped without matplotlib."""
import sys
import warnings

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from inrkit.plots import depth_colours, training_curve  # noqa: E402
from inrkit.signals.ct import load_ct  # noqa: E402
from inrkit.signals.image import ImageSignal  # noqa: E402
from inrkit.signals.mri import MRISignal  # noqa: E402
from inrkit.signals.nerf import depth_image, depth_range, save_view  # noqa: E402
from inrkit.signals.volume import VolumeSignal, mid_planes, save_slices, shepp_logan_3d  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path, min_w=200, min_h=150):
    """The RGB pixels of a valid PNG at least ``min_w x min_h``."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    a = iio.imread(path)
    assert a.ndim == 3 and a.shape[0] >= min_h and a.shape[1] >= min_w, a.shape
    return a[..., :3].astype(int)


def _noisy(a, sigma=0.05, seed=0):
    return np.clip(a + np.random.default_rng(seed).normal(0, sigma, a.shape), 0, 1).astype(np.float32)


def _history(n=12):
    return [{"step": 10 * i, "seconds": 0.5 * i, "psnr": 20 + i, "loss": 0.1 / (1 + i)} for i in range(n)]


def _ramp_view(h=24, w=48, near=1.0, far=3.0):
    """Depth rising left to right from ``near`` to ``far``; the top half empty (opacity 0)."""
    depth = np.tile(np.linspace(near, far, w), (h, 1))
    opacity = np.ones((h, w))
    opacity[: h // 2] = 0
    return {"rgb": np.zeros((h, w, 3)), "depth": depth, "opacity": opacity}


def test_image_comparison(tmp_path):
    y, x = np.mgrid[:48, :64] / 64.0
    image = np.stack([x, y, 0.5 * (x + y)], -1).astype(np.float32)  # (48, 64, 3)
    sig = ImageSignal(image, name="ramp")
    sig.save(tmp_path / "reconstruction.png", _noisy(image))
    assert iio.imread(tmp_path / "reconstruction.png").shape == (48, 64, 3)  # kept as before
    a = read_png(tmp_path / "comparison.png", min_w=700)
    assert a.shape[1] > 2 * a.shape[0]  # three panels side by side
    assert a.std() > 10  # not blank


def test_ct_and_mri_2d_comparisons(tmp_path):
    ct = load_ct(views=6, size=32)
    ct.save(tmp_path / "reconstruction.png", ct.fbp)
    read_png(tmp_path / "comparison.png", min_w=800)
    sino_only = type(ct)(sinogram=ct.sinogram, theta=ct.theta)
    (tmp_path / "s").mkdir()
    sino_only.save(tmp_path / "s" / "reconstruction.png", ct.fbp)
    read_png(tmp_path / "s" / "comparison.png", min_w=500)

    mri = MRISignal(shepp_logan_3d(32)[16], acceleration=4)
    (tmp_path / "m").mkdir()
    mri.save(tmp_path / "m" / "reconstruction.png", mri.zero_filled)
    read_png(tmp_path / "m" / "comparison.png", min_w=800)


def test_mri_3d_and_volume_slices(tmp_path):
    vol = shepp_logan_3d(24)
    MRISignal(vol, acceleration=4).save(tmp_path / "slices.png", vol)
    a = read_png(tmp_path / "slices.png", min_w=700, min_h=500)  # 3 columns, 3 rows
    assert a.std() > 10
    (tmp_path / "v").mkdir()
    VolumeSignal(vol).save(tmp_path / "v" / "slices.png", vol)
    read_png(tmp_path / "v" / "slices.png", min_w=500, min_h=500)
    assert (tmp_path / "v" / "reconstruction.npy").exists()


def test_slice_grid_is_not_mostly_black(tmp_path):
    # A volume with no dark voxel, anisotropic (few thick slices, as the EPI sample): any black in
    # the figure is padding. The old mosaic bottom-padded the thin planes: 36% of it was black.
    z, y, x = np.meshgrid(*[np.linspace(0, 1, n) for n in (6, 40, 64)], indexing="ij")
    vol = (0.4 + 0.2 * (x + y + z)).astype(np.float32)  # (6, 40, 64) in [0.4, 1]
    voxel = (3.0, 1.0, 1.0)
    assert save_slices(tmp_path / "slices.png", [vol, vol], voxel, labels=["reference", "field"]) is True
    a = read_png(tmp_path / "slices.png", min_w=500, min_h=400)
    assert (a.max(-1) < 25).mean() < 0.05  # the colour bar's dark end and the text only
    # each plane keeps its physical aspect (height over width in mm)
    planes = mid_planes(vol, voxel)
    assert [p.shape for p, _, _ in planes] == [(40, 64), (6, 64), (6, 40)]
    assert [round(p.shape[0] * asp / p.shape[1], 3) for p, asp, _ in planes] == [0.625, 0.281, 0.45]
    # a phantom (black outside the head) still draws
    phantom = shepp_logan_3d(32)
    save_slices(tmp_path / "phantom.png", [phantom], labels=["reference"])
    b = read_png(tmp_path / "phantom.png", min_w=300, min_h=600)  # one column, three rows
    assert (b.max(-1) < 25).mean() < 0.5


def test_plane_labels():
    vol = np.zeros((6, 5, 4), np.float32)
    assert [lab.split("\n")[0] for _, _, lab in mid_planes(vol)] == ["z = mid", "y = mid", "x = mid"]
    ras = [lab.split("\n")[0] for _, _, lab in mid_planes(vol, nifti=True, affine=np.diag([2.0, 2, 2, 1]))]
    assert ras == ["sagittal", "coronal", "axial"]
    # axes stored as (S, R, A): the plane across the first axis is axial
    swapped = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], float)
    assert [lab.split("\n")[0] for _, _, lab in mid_planes(vol, nifti=True, affine=swapped)] == [
        "axial", "sagittal", "coronal"]


def test_depth_png_colours_follow_depth(tmp_path):
    view = _ramp_view()
    save_view(tmp_path, "000", view, near_far=(1.0, 3.0))
    path = tmp_path / "000_depth.png"
    a = read_png(path, min_w=256, min_h=100)
    from PIL import Image

    assert "depth 1 to 3 world units" in Image.open(path).info["Description"]
    # find the colour-mapped pixels: exact entries of the colour map's table
    import matplotlib

    lut = (matplotlib.colormaps["viridis_r"](np.linspace(0, 1, 256))[:, :3] * 255 + 0.5).astype(int)  # (256, 3)
    codes = a @ np.array([1 << 16, 1 << 8, 1])  # (H, W) each pixel's colour as one integer
    lut_codes = lut @ np.array([1 << 16, 1 << 8, 1])  # (256,)
    is_map = np.isin(codes, lut_codes)  # drawn pixel for pixel: the table's colours exactly
    index = np.array([np.flatnonzero(lut_codes == c)[0] if m else -1 for c, m in zip(codes.ravel(), is_map.ravel())])
    index = index.reshape(codes.shape)
    rows = np.flatnonzero(is_map.sum(1) > a.shape[1] // 2)  # rows crossing the depth map (not just the colour bar)
    assert len(rows) > 0
    row = rows[len(rows) // 2]
    cols = np.flatnonzero(is_map[row])
    run = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
    run = max(run, key=len)  # the map's columns, not the colour bar's
    assert len(run) >= 200
    idx = index[row, run]
    assert np.all(np.diff(idx) >= 0) and idx[0] < 10 and idx[-1] > 245  # near to far, monotone
    # the empty top half is background (white) above the map's first coloured row
    top = rows[0]
    assert (a[top - len(rows) + 2 : top, run] >= 250).all()


def test_depth_colours_and_range():
    view = _ramp_view()
    near, far = depth_range([view])
    assert 1.0 <= near < 1.1 and 2.9 < far <= 3.0 and depth_range([{**view, "opacity": 0 * view["opacity"]}]) == (0, 1)
    rgb = depth_colours(view["depth"], view["opacity"], 1.0, 3.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (24, 48, 3)
    assert (rgb[:12] == 255).all()  # empty: white
    grey = depth_image(view["depth"], view["opacity"])  # `inrkit render --depth` uses this form
    assert grey.shape == (24, 48) and (grey[:12] == 0).all() and grey[20, 0] > grey[20, -1]


def test_training_curve(tmp_path):
    assert training_curve(_history(), "psnr", tmp_path / "curve.png") is True
    read_png(tmp_path / "curve.png", min_w=600, min_h=400)
    hist = _history(1) + [{"step": 20, "seconds": 1.0, "psnr": float("inf"), "loss": 0.0}]
    assert training_curve(hist, "psnr", tmp_path / "odd.png") is True  # non-finite values left out
    assert training_curve([], "psnr", tmp_path / "empty.png") is False
    assert not (tmp_path / "empty.png").exists()


def _one_warning(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert "pip install matplotlib" in message and "\n" not in message
    return message


def test_without_matplotlib_figures_are_skipped_with_one_warning(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    msg = _one_warning(lambda: training_curve(_history(), "psnr", tmp_path / "curve.png"))
    assert msg.startswith("curve.png skipped")
    with pytest.warns(UserWarning, match="matplotlib"):
        assert training_curve(_history(), "psnr", tmp_path / "curve.png") is False
    assert not (tmp_path / "curve.png").exists()

    image = np.full((16, 16, 1), 0.5, np.float32)
    _one_warning(lambda: ImageSignal(image).save(tmp_path / "reconstruction.png", image))
    assert (tmp_path / "reconstruction.png").exists() and not (tmp_path / "comparison.png").exists()

    (tmp_path / "ct").mkdir()
    ct = load_ct(views=4, size=16)
    _one_warning(lambda: ct.save(tmp_path / "ct" / "reconstruction.png", ct.fbp))
    assert (tmp_path / "ct" / "fbp.png").exists() and not (tmp_path / "ct" / "comparison.png").exists()

    # slices.png is a volume fit's output: written without labels rather than not at all
    (tmp_path / "v").mkdir()
    vol = shepp_logan_3d(16)
    _one_warning(lambda: VolumeSignal(vol).save(tmp_path / "v" / "slices.png", vol))
    a = iio.imread(tmp_path / "v" / "slices.png")
    assert a.ndim == 2 and a.shape[1] == 2 * 256 + 4  # two volumes side by side, planes stacked

    # the depth map falls back to grey, one warning
    (tmp_path / "n").mkdir()
    _one_warning(lambda: save_view(tmp_path / "n", "000", _ramp_view()))
    assert iio.imread(tmp_path / "n" / "000_depth.png").shape == (24, 48)
