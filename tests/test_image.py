"""Image signal: loading, coordinates, saving, samples, bad inputs."""
import numpy as np
import pytest
import torch

import inrkit
from inrkit import InrkitError
from inrkit.signals.image import SAMPLES, parse_size


def test_pixel_centres_convention():
    sig = inrkit.ImageSignal(np.zeros((2, 4, 1), np.float32))
    coords, values = sig.train_data()
    assert coords.shape == (8, 2) and values.shape == (8, 1)
    # Row-major pixels; x runs along columns: (j + 0.5) / W * 2 - 1.
    assert torch.allclose(coords[0], torch.tensor([-0.75, -0.5]))
    assert torch.allclose(coords[1], torch.tensor([-0.25, -0.5]))
    assert torch.allclose(coords[4], torch.tensor([-0.75, 0.5]))


def test_values_follow_pixels():
    img = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    sig = inrkit.ImageSignal(img)
    coords, values = sig.train_data()
    assert torch.equal(values[7 * 2 + 3], torch.from_numpy(img[2, 3]))
    assert torch.allclose(coords[7 * 2 + 3], torch.tensor([(3 + 0.5) / 7 * 2 - 1, (2 + 0.5) / 5 * 2 - 1]))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_loads(name):
    sig = inrkit.load_image(f"sample:{name}")
    assert sig.image.dtype == np.float32 and sig.image.ndim == 3
    assert 0 <= sig.image.min() and sig.image.max() <= 1 and sig.channels in (1, 3, 4)


@pytest.mark.parametrize(
    "ext,dtype,channels",
    [(".png", np.uint8, 1), (".png", np.uint8, 3), (".png", np.uint8, 4), (".png", np.uint16, 1),
     (".png", np.uint16, 3), (".jpg", np.uint8, 3), (".bmp", np.uint8, 3), (".tif", np.uint8, 3),
     (".tif", np.uint16, 3), (".tiff", np.uint16, 1)],
)
def test_read_formats_round_trip(tmp_path, ext, dtype, channels):
    import imageio.v3 as iio

    rng = np.random.default_rng(1)
    hi = np.iinfo(dtype).max
    a = rng.integers(0, hi, size=(12, 10, channels), dtype=dtype)
    path = tmp_path / f"img{ext}"
    if ext in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, a[..., 0] if channels == 1 else a)
    elif dtype == np.uint16 and ext == ".png":
        inrkit.save_image(path, a, bit_depth=16)  # Pillow cannot write 16-bit colour
    else:
        iio.imwrite(path, a[..., 0] if channels == 1 else a)
    sig = inrkit.load_image(str(path))
    assert sig.image.shape == (12, 10, channels)
    assert sig.bit_depth == (16 if dtype == np.uint16 else 8)
    if ext != ".jpg":  # lossless formats come back exactly
        np.testing.assert_allclose(sig.image, a / hi, atol=1e-6)


def test_resize():
    sig = inrkit.load_image("sample:astronaut", size=(40, 30))
    assert sig.image.shape == (30, 40, 3)


def test_save_image_16_bit_round_trip(tmp_path):
    img = np.linspace(0, 1, 64 * 3, dtype=np.float32).reshape(8, 8, 3)
    inrkit.save_image(tmp_path / "a.png", img, bit_depth=16)
    back = inrkit.load_image(str(tmp_path / "a.png"))
    assert back.bit_depth == 16
    np.testing.assert_allclose(back.image, img, atol=1 / 65535)


@pytest.mark.parametrize("text,expected", [("256x128", (256, 128)), ("8X8", (8, 8))])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["256", "ax3", "0x10", "-4x4", "1x2x3", ""])
def test_parse_size_rejects(text):
    with pytest.raises(InrkitError, match="size"):
        parse_size(text)


def test_bad_inputs(tmp_path):
    with pytest.raises(InrkitError, match="does not exist"):
        inrkit.load_image(str(tmp_path / "missing.png"))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a png")
    with pytest.raises(InrkitError, match="could not read"):
        inrkit.load_image(str(bad))
    with pytest.raises(InrkitError, match="folder"):
        inrkit.load_image(str(tmp_path))
    with pytest.raises(InrkitError, match="unknown sample"):
        inrkit.load_image("sample:nope")
    with pytest.raises(InrkitError, match="train stride"):
        inrkit.load_image("sample:camera", train_stride=0)
    npy = tmp_path / "nan.tif"
    import tifffile

    tifffile.imwrite(npy, np.full((4, 4), np.nan, np.float32))
    with pytest.raises(InrkitError, match="NaN"):
        inrkit.load_image(str(npy))


def test_held_out_metrics_score_the_right_pixels():
    from inrkit.signals.image import ImageSignal

    img = np.full((16, 16, 1), 0.5, np.float32)
    sig = ImageSignal(img, train_stride=2)
    pred = img.copy()
    pred[1::2, 1::2] += 0.1  # error only where the paper tests (midway between training pixels)
    m = sig.evaluate(pred)
    assert m["psnr_offgrid"] == pytest.approx(20.0)  # MSE 0.01 on exactly those 64 pixels
    assert m["psnr_unseen"] == pytest.approx(10 * np.log10(192 / 64 / 0.01))  # 64 of 192 unseen pixels wrong
    assert m["psnr"] == pytest.approx(10 * np.log10(256 / 64 / 0.01))
    pred = img.copy()
    pred[0::2, 1::2] += 0.1  # unseen, but not off-grid
    m = sig.evaluate(pred)
    assert m["psnr_offgrid"] == float("inf") and np.isfinite(m["psnr_unseen"])
    assert "psnr_offgrid" not in ImageSignal(img).evaluate(img)


def test_images_smaller_than_the_ssim_window_fit_and_report_nan_ssim(tmp_path, capsys):
    import imageio.v3 as iio

    from inrkit.cli import main
    from inrkit.metrics import ssim

    assert np.isnan(ssim(np.zeros((10, 40)), np.zeros((10, 40))))
    assert ssim(np.zeros((11, 11)), np.zeros((11, 11))) == pytest.approx(1.0)
    img = tmp_path / "tiny.png"
    iio.imwrite(img, (np.random.default_rng(0).random((9, 9, 3)) * 255).astype(np.uint8))
    out = tmp_path / "o"
    assert main(["fit", "image", str(img), "--steps", "3", "--out", str(out), "--no-progress",
                 "--device", "cpu", "--compile", "off"]) == 0
    assert "SSIM nan" in capsys.readouterr().out


def test_one_list_of_image_suffixes_that_every_lister_derives_from():
    from inrkit.nerf import datasets
    from inrkit.signals import image, video

    assert image.WRITABLE == tuple(s for s in image.READABLE if s not in (".gif", ".webp"))
    assert video._FRAME_SUFFIXES == tuple(s for s in image.READABLE if s != ".gif")
    assert datasets.IMAGE_SUFFIXES == image.READABLE + (".exr",)
    assert all(s == s.lower() and s.startswith(".") for s in image.READABLE)


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".bmp"])
def test_mri_takes_every_image_the_loader_reads(tmp_path, suffix):
    from PIL import Image

    from inrkit.signals.mri import load_mri

    a = np.zeros((8, 10), np.uint8)
    a[2:6, 3:7] = 255
    Image.fromarray(a).save(tmp_path / f"x{suffix}")
    assert load_mri(str(tmp_path / f"x{suffix}"), acceleration=2.0).image.shape == (8, 10)
