"""MRI: sampling masks, the k-space forward model against torch.fft, a short fit beating zero-filling, bad input."""
import json

import numpy as np
import pytest
import torch

import inrkit
from inrkit.cli import main
from inrkit.signals.mri import MRISignal, load_mri, sampling_mask


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: see conftest.one_thread


class _Lookup(torch.nn.Module):
    """A 'field' that returns the given array at voxel-centre coordinates (nearest voxel)."""

    def __init__(self, a: np.ndarray):
        super().__init__()
        self.a = torch.from_numpy(a)

    def forward(self, x):  # (..., d) in (x, y, z) order -> (..., 1)
        shape = self.a.shape
        idx = [((x[..., k] + 1) / 2 * shape[-1 - k] - 0.5).round().long() for k in range(x.shape[-1])]
        return self.a[tuple(idx[::-1])][..., None]


def test_mask_budget_centre_and_seed():
    m = sampling_mask((64, 48), acceleration=8, seed=3)
    assert m.sum() == round(64 * 48 / 8)
    assert m[0, 0] and m[1, 0] and m[0, -1]  # the k-space centre (unshifted order) is sampled
    assert np.array_equal(m, sampling_mask((64, 48), 8, seed=3))
    assert not np.array_equal(m, sampling_mask((64, 48), 8, seed=4))
    # Variable density: the inner quarter of frequencies is sampled more densely than the outer ring.
    f = np.sqrt(np.fft.fftfreq(64)[:, None] ** 2 + np.fft.fftfreq(48)[None, :] ** 2)
    assert m[f < 0.125].mean() > 2 * m[f > 0.25].mean()
    lines = sampling_mask((40,), acceleration=4, seed=0)
    assert lines.sum() == 10 and lines[0]


@pytest.mark.parametrize("shape", [(16, 12), (10, 12, 8)])
def test_forward_model_matches_torch_fft(shape):
    rng = np.random.default_rng(0)
    img = rng.random(shape).astype(np.float32)
    sig = MRISignal(img, acceleration=3, seed=1)
    full = torch.fft.fftn(torch.from_numpy(img).to(torch.complex64), norm="ortho")
    mask = torch.from_numpy(sig.mask)
    readout = torch.tensor([0, shape[-1] - 1, 3])
    got = sig.forward_kspace(_Lookup(img), readout)  # (M, B) PE spectra per readout position
    hybrid = torch.fft.ifft(full, dim=-1, norm="ortho")  # the same, from the full 3D/2D FFT
    torch.testing.assert_close(got, hybrid[mask][:, readout], atol=1e-5, rtol=1e-4)
    # The observed k-space is the full FFT on the mask and zero elsewhere.
    np.testing.assert_allclose(sig.kspace, (full * mask[..., None]).numpy(), atol=1e-6)
    # A field equal to the image has zero loss over all readout positions.
    loss = sig.loss(_Lookup(img), 0, batch_size=1 << 20, generator=torch.Generator().manual_seed(0))
    assert loss.item() < 1e-10
    zf = np.clip(np.abs(np.fft.ifftn(sig.kspace, norm="ortho")), 0, 1)
    np.testing.assert_allclose(sig.zero_filled, zf, atol=1e-5)


def test_short_fit_beats_zero_filled_2d(fast, tmp_path):
    vol = load_mri("sample:epi", acceleration=4).image  # (128, 96, 24) real EPI volume
    sig = MRISignal(vol[::2, ::2, 12], acceleration=4, seed=0)  # a (64, 48) slice, random phase-encoding lines
    preset = inrkit.get_preset("mri")
    field = inrkit.make_field(preset.field, sig)
    result = inrkit.fit(field, sig, fast(steps=150, batch_size=1 << 14, eval_every=50), preset.optim, out_dir=tmp_path)
    m = result.metrics
    assert m["psnr"] > m["psnr_zero_filled"] + 3, m
    for name in ("reconstruction.png", "zero_filled.png", "comparison.png"):
        assert (tmp_path / name).exists()
    loaded = inrkit.load(tmp_path)
    np.testing.assert_allclose(sig.predict(loaded), result.prediction, atol=1e-6)


def test_cli_3d_fit_and_render(tmp_path):
    import nibabel as nib

    rng = np.random.default_rng(0)
    vol = rng.random((12, 12, 12)).astype(np.float32) * 50
    nib.save(nib.Nifti1Image(vol, np.diag([2.0, 2.0, 2.0, 1.0])), tmp_path / "v.nii.gz")
    out = tmp_path / "run"
    assert main(["fit", "mri", str(tmp_path / "v.nii.gz"), "--acceleration", "4", "--steps", "5", "--no-progress",
                 "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["acceleration"] == 4 and abs(m["sampled_fraction"] - 0.25) < 0.01
    for name in ("slices.png", "reconstruction.nii.gz", "zero_filled.nii.gz"):
        assert (out / name).exists()
    assert main(["render", str(out), "--size", "6x6x6"]) == 0
    assert nib.load(out / "render_6x6x6.nii.gz").shape == (6, 6, 6)


def test_bad_inputs(tmp_path, capsys):
    assert main(["fit", "mri", "--acceleration", "0.5", "--out", str(tmp_path / "a")]) == 2
    assert "acceleration must be at least 1" in capsys.readouterr().err
    np.save(tmp_path / "line.npy", np.random.rand(16))
    assert main(["fit", "mri", str(tmp_path / "line.npy"), "--out", str(tmp_path / "b")]) == 2
    assert "expected a 2D or 3D array" in capsys.readouterr().err
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b broken")
    assert main(["fit", "mri", str(bad), "--out", str(tmp_path / "c")]) == 2
    assert "could not read" in capsys.readouterr().err
    with pytest.raises(inrkit.InrkitError, match="2D image or a 3D volume"):
        MRISignal(np.zeros((4, 4, 4, 4), np.float32))
