"""Volumes: loaders (.npy, .npz, NIfTI with its affine), the 3D phantom, a short fit, render at any size, bad input."""
import json

import numpy as np
import pytest

import inrkit
from inrkit.cli import main
from inrkit.signals.volume import load_volume, read_volume, scaled_affine, shepp_logan_3d


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: see conftest.one_thread


def _blob(shape=(12, 10, 8)):
    """A smooth test volume whose value at voxel centres is known in closed form."""
    z, y, x = np.meshgrid(*[(np.arange(n) + 0.5) / n * 2 - 1 for n in shape], indexing="ij")
    return (np.exp(-(x**2 + 2 * y**2 + 3 * z**2)) * 100 - 7).astype(np.float32)


def test_loaders_agree_and_keep_range_and_affine(tmp_path):
    import nibabel as nib

    a = _blob()
    np.save(tmp_path / "v.npy", a)
    np.savez(tmp_path / "v.npz", vol=a)
    affine = np.diag([1.5, 2.0, 3.0, 1.0])
    affine[:3, 3] = [10, -20, 5]
    nib.save(nib.Nifti1Image(a, affine), tmp_path / "v.nii.gz")
    sigs = [load_volume(str(tmp_path / n)) for n in ("v.npy", "v.npz", "v.nii.gz")]
    for s in sigs:
        assert s.volume.shape == a.shape and s.volume.min() == 0 and s.volume.max() == 1
        np.testing.assert_allclose(s.volume * (s.value_range[1] - s.value_range[0]) + s.value_range[0], a, rtol=1e-5, atol=1e-4)
    meta = sigs[2].metadata()
    np.testing.assert_allclose(meta["affine"], affine)
    assert meta["voxel_size"] == [1.5, 2.0, 3.0]
    # Coordinates: x along the last axis, voxel centres in [-1, 1].
    coords, values = sigs[0].train_data()
    assert coords.shape == (a.size, 3) and values.shape == (a.size, 1)
    np.testing.assert_allclose(coords[1].numpy() - coords[0].numpy(), [2 / 8, 0, 0], atol=1e-6)
    np.testing.assert_allclose(coords[0].numpy(), [-1 + 1 / 8, -1 + 1 / 10, -1 + 1 / 12], atol=1e-6)


def test_samples_and_phantom():
    v = shepp_logan_3d(32)
    assert v.shape == (32, 32, 32) and v.max() == 1 and v.min() == 0
    assert v[0, 0, 0] == 0 and abs(v[16, 16, 16] - 0.2) < 1e-6  # outside, and the brain matter (1 - 0.8)
    epi = load_volume("sample:epi")
    assert epi.volume.shape == (128, 96, 24) and epi.value_range[1] > 100
    np.testing.assert_allclose(epi.voxel_size, [2.0, 2.0, 2.2], atol=1e-5)


def test_scaled_affine_keeps_the_extent():
    affine = np.array([[2.0, 0, 0, -50], [0, 3, 0, 10], [0, 0, 1, 0], [0, 0, 0, 1]])
    new = scaled_affine(affine, (10, 20, 30), (20, 40, 15))
    # The outer corners of the first and last voxels land at the same world positions.
    for corner_old, corner_new in [((-0.5,) * 3, (-0.5,) * 3), ((9.5, 19.5, 29.5), (19.5, 39.5, 14.5))]:
        np.testing.assert_allclose(affine @ np.r_[corner_old, 1], new @ np.r_[corner_new, 1])
    # Voxel centres: new voxel 0 of 20 along axis 0 is old voxel -0.25 of 10.
    np.testing.assert_allclose(new @ [0, 0, 0, 1], affine @ [-0.25, -0.25, 0.5, 1])


def test_short_fit_render_and_round_trip(fast, tmp_path):
    import nibabel as nib

    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    nib.save(nib.Nifti1Image(_blob((16, 16, 16)), affine), tmp_path / "blob.nii")
    sig = load_volume(str(tmp_path / "blob.nii"))
    preset = inrkit.get_preset("ngp")
    field = inrkit.make_field(preset.field, sig)
    run = tmp_path / "run"
    result = inrkit.fit(field, sig, fast(steps=150, batch_size=4096, eval_every=50), preset.optim, out_dir=run)
    assert result.metrics["psnr"] > 35 and result.metrics["ssim"] > 0.95
    assert (run / "slices.png").exists() and (run / "reconstruction.nii.gz").exists()
    rec = nib.load(run / "reconstruction.nii.gz")
    np.testing.assert_allclose(rec.affine, affine)
    assert np.abs(rec.get_fdata() - _blob((16, 16, 16))).max() < 5  # original units (range 100)
    loaded = inrkit.load(run)
    np.testing.assert_allclose(sig.predict(loaded), result.prediction, atol=1e-6)
    assert main(["render", str(run), "--size", "32"]) == 0
    out = nib.load(run / "render_32x32x32.nii.gz")
    assert out.shape == (32, 32, 32)
    np.testing.assert_allclose(out.affine, scaled_affine(affine, (16, 16, 16), (32, 32, 32)))
    assert (run / "render_32x32x32_slices.png").exists()
    assert main(["render", str(run), "--scale", "0.5", "--out", str(tmp_path / "small.npy")]) == 0
    small = np.load(tmp_path / "small.npy")
    assert small.shape == (8, 8, 8) and abs(small.max() - 93) < 8  # the blob's peak, in original units
    assert main(["info", str(run)]) == 0


def test_cli_fit_volume(tmp_path):
    out = tmp_path / "run"
    np.save(tmp_path / "v.npy", _blob())
    assert main(["fit", "volume", str(tmp_path / "v.npy"), "--steps", "5", "--no-progress", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 5 and np.isfinite(m["psnr"])
    assert (out / "reconstruction.npy").exists()


def test_bad_inputs(tmp_path, capsys):
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"garbage" * 10)
    assert main(["fit", "volume", str(bad), "--out", str(tmp_path / "a")]) == 2
    assert "could not read" in capsys.readouterr().err
    np.save(tmp_path / "flat.npy", np.zeros((4, 4), np.float32))
    with pytest.raises(inrkit.InrkitError, match="expected a 3D array"):
        load_volume(str(tmp_path / "flat.npy"))
    np.save(tmp_path / "series.npy", np.random.rand(4, 4, 4, 3).astype(np.float32))
    with pytest.raises(inrkit.InrkitError, match="--frame"):
        load_volume(str(tmp_path / "series.npy"))
    assert read_volume(tmp_path / "series.npy", frame=2)[0].shape == (4, 4, 4)
    np.save(tmp_path / "const.npy", np.ones((4, 4, 4), np.float32))
    with pytest.raises(inrkit.InrkitError, match="constant"):
        load_volume(str(tmp_path / "const.npy"))
    nan = np.random.rand(4, 4, 4)
    nan[1, 1, 1] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    with pytest.raises(inrkit.InrkitError, match="NaN"):
        load_volume(str(tmp_path / "nan.npy"))
    np.savez(tmp_path / "two.npz", a=np.random.rand(4, 4, 4), b=np.random.rand(4, 4, 4))
    with pytest.raises(inrkit.InrkitError, match="--key"):
        load_volume(str(tmp_path / "two.npz"))
    with pytest.raises(inrkit.InrkitError, match="does not exist"):
        load_volume(str(tmp_path / "missing.npy"))
    with pytest.raises(inrkit.InrkitError, match="unknown volume sample"):
        load_volume("sample:nope")
    assert main(["render", str(tmp_path), "--size", "4"]) == 2  # not a checkpoint
