"""The field codec: bit-exact round trips, the entropy model's causality, the file's checks, the benchmark."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inrkit.codec import CodecConfig, CodecField, CompressConfig, compress, decode, read_stream
from inrkit.codec.bench import bd_rate, bench_codec, classical_curve, psnr_at
from inrkit.codec.bitstream import network_tensors
from inrkit.errors import InrkitError

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "kodak"


def _image(size=128) -> np.ndarray:
    import skimage.data
    import skimage.transform

    a = skimage.transform.resize(skimage.data.astronaut(), (size, size), anti_aliasing=True)
    return np.round(a * 255).astype(np.float32) / 255


@pytest.fixture(scope="module")
def small():
    """A 128x128 image compressed at quality 60 (a short fit)."""
    img = _image()
    return img, compress(img, CompressConfig(quality=60, steps=150, sample=2))


def _psnr(a, b) -> float:
    return 10 * math.log10(255**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def test_round_trip_is_bit_exact_and_the_figures_are_the_files(small):
    img, r = small
    again = decode(read_stream(r.data))
    assert again.dtype == np.uint8 and again.shape == (128, 128, 3)
    assert np.array_equal(again, r.image) and np.array_equal(decode(read_stream(r.data)), again)
    assert r.metrics["bpp"] == len(r.data) * 8 / (128 * 128) and r.metrics["bytes"] == len(r.data)
    assert r.metrics["psnr"] == pytest.approx(_psnr(again, np.round(img * 255)), abs=1e-9)
    assert r.metrics["psnr"] > 24  # a short fit of a 128x128 photo


def test_the_decoder_gets_back_every_integer_the_encoder_coded():
    """A field with random integer latents and a quantised network: read_stream returns exactly its tensors, also
    for a level wider than one decoding block; a network not on its grid is refused before anything is written."""
    from inrkit.codec.bitstream import quantise_network, write_stream

    torch.manual_seed(1)
    f = CodecField(CodecConfig(levels=3, width=8, context=8), 300, 1200)  # level 0 spans two row blocks
    with torch.no_grad():
        for g in f.latents:
            g.copy_(torch.randint(-6, 7, g.shape).float())
    exponents = list(range(6, 6 + len(network_tensors(f))))
    with pytest.raises(ValueError, match="quantise the network first"):
        write_stream(f, exponents)
    quantise_network(f, exponents)
    g = read_stream(write_stream(f, exponents))
    for a, b in zip(f.state_dict().values(), g.state_dict().values()):
        assert torch.equal(a, b)


def test_the_file_costs_what_the_entropy_model_says(small):
    """The range coder spends the model's information content (plus a few words and the header)."""
    from inrkit.codec.bitstream import param_bits

    _, r = small
    f = read_stream(r.data)
    with torch.no_grad():
        bits = float(f.rate_bits([g.detach() for g in f.latents]))
        for t, e in zip(network_tensors(f), r.metrics["network_exponents"]):
            bits += param_bits(torch.round(t.double() * 2.0**e))
    header = 4 + 15 + 2 * len(network_tensors(f)) + 4 + 4 + 4
    assert bits / 8 + header - 8 <= len(r.data) <= 1.03 * bits / 8 + header + 16


def test_more_quality_costs_more_bits_and_gives_a_better_picture(small):
    img, high = small
    low = compress(img, CompressConfig(quality=20, steps=150, sample=2))
    assert high.metrics["bytes"] > 1.3 * low.metrics["bytes"]
    assert high.metrics["psnr"] > low.metrics["psnr"] + 1


def test_bpp_lands_near_its_target():
    img = _image(256)
    r = compress(img, CompressConfig(bpp=2.0, steps=300, sample=2))
    assert 1.5 < r.metrics["bpp"] < 2.5, r.metrics


def test_any_resolution_is_the_same_picture(small):
    """Decoded at twice the size and averaged back down, the field gives its own 1x picture."""
    _, r = small
    f = read_stream(r.data)
    big = decode(f, (256, 256)).astype(np.float64)
    assert big.shape == (256, 256, 3)
    pooled = big.reshape(128, 2, 128, 2, 3).mean((1, 3))
    assert _psnr(pooled, r.image) > 30
    assert decode(f, (100, 60)).shape == (60, 100, 3)


def test_the_entropy_model_only_reads_what_the_decoder_has():
    """A latent's distribution depends on the coarser level and, in the second pass, on first-pass cells: changing
    the level's second pass (decoded later) leaves every distribution of the level unchanged."""
    torch.manual_seed(0)
    f = CodecField(CodecConfig(levels=3), 9, 7)
    with torch.no_grad():
        for g in f.latents:
            g.copy_(torch.randint(-3, 4, g.shape).float())
    lat = [g.detach().clone() for g in f.latents]
    h, w = lat[1].shape[-2:]
    index = torch.arange(h * w)
    second = (index // w + index % w) % 2 == 1
    before = f.distribution(lat[1], lat[2], index)
    changed = [g.clone() for g in lat]
    changed[1].view(-1)[second] += 5  # this level's second pass
    after = f.distribution(changed[1], changed[2], index)
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])
    changed[1].view(-1)[~second] += 1  # the first pass: the second pass's context moves
    moved = f.distribution(changed[1], changed[2], index)
    assert not torch.equal(before[0][second], moved[0][second])
    assert torch.equal(before[0][~second], moved[0][~second])


def test_bad_files_are_one_sentence(small):
    import struct
    import zlib

    _, r = small
    data = r.data
    for bad, words in [(b"", "not an inrkit"), (b"PNG\x00" + data[4:], "not an inrkit"),
                       (data[:40], "truncated"), (data[:-1], "truncated"),
                       (data[:50] + bytes([data[50] ^ 1]) + data[51:], "corrupted"),
                       (data[:4] + bytes([9]) + data[5:], "format 9"),
                       (data[:5] + struct.pack("<II", 1 << 20, 1 << 20) + data[13:], "1048576x1048576")]:
        if words in ("format 9", "1048576x1048576"):  # a valid checksum: the header itself is refused
            body = bad[:-4]
            bad = body + struct.pack("<I", zlib.crc32(body))
        with pytest.raises(InrkitError, match=words):
            read_stream(bad)


def test_bad_settings_are_one_sentence():
    img = _image(64)
    for cfg, words in [(CompressConfig(bpp=0), "above 0"), (CompressConfig(bpp=float("nan")), "above 0"),
                       (CompressConfig(bpp=0.01), "network alone"), (CompressConfig(quality=101), "0 to 100"),
                       (CompressConfig(bpp=1, quality=5), "not both"), (CompressConfig(steps=0), "at least 1")]:
        with pytest.raises(InrkitError, match=words):
            compress(img, cfg)
    with pytest.raises(InrkitError, match="at least 2x2"):
        compress(img[:1], CompressConfig(quality=50))
    with pytest.raises(InrkitError, match="over the"):
        decode(CodecField(CodecConfig(levels=2), 4, 4), (1 << 15, 1 << 14))


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "inrkit.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_round_trip_and_refusals(tmp_path, small):
    import imageio.v3 as iio

    src = tmp_path / "photo.png"
    iio.imwrite(src, np.round(_image(96) * 255).astype(np.uint8))
    p = _cli("compress", str(src), "--quality", "50", "--steps", "40", "--no-progress")
    assert p.returncode == 0, p.stderr
    inrz, metrics = tmp_path / "photo.inrz", json.loads((tmp_path / "photo.json").read_text())
    assert metrics["bytes"] == inrz.stat().st_size and metrics["bpp"] == inrz.stat().st_size * 8 / 96**2
    p = _cli("decompress", str(inrz))
    assert p.returncode == 0, p.stderr
    original = (tmp_path / "photo.png").read_bytes()
    assert np.array_equal(iio.imread(tmp_path / "photo_decoded.png"), decode(read_stream(inrz.read_bytes())))
    assert (tmp_path / "photo.png").read_bytes() == original  # the original is never overwritten by default
    p = _cli("info", str(inrz))
    assert p.returncode == 0 and "96x96, RGB" in p.stdout and f"{inrz.stat().st_size:,} bytes" in p.stdout, p.stdout
    p = _cli("decompress", str(inrz), "--scale", "2.5", "--out", str(tmp_path / "big.png"))
    assert p.returncode == 0 and iio.imread(tmp_path / "big.png").shape == (240, 240, 3)

    (tmp_path / "cut.inrz").write_bytes(inrz.read_bytes()[:-10])
    for args, words in [(["decompress", str(tmp_path / "cut.inrz")], "truncated"),
                        (["decompress", str(inrz), "--scale", "0"], "positive finite"),
                        (["decompress", str(src)], "not an inrkit"),
                        (["decompress", str(tmp_path / "none.inrz")], "no compressed image"),
                        (["compress", str(src), "--bpp", "0"], "above 0"),
                        (["compress", str(src), "--bpp", "0.05", "--out", str(tmp_path / "x.inrz")], "network alone"),
                        (["compress", str(src), "--out", str(tmp_path / "x.png")], "ending in .inrz")]:
        p = _cli(*args)
        assert p.returncode == 2 and words in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["big.png", "cut.inrz", "photo.inrz", "photo.json",
                                                          "photo.png", "photo_decoded.png"]


def test_bd_rate_and_interpolation_oracles():
    assert bd_rate([1, 2, 4], [30, 33, 36], [1, 2, 4], [30, 33, 36]) == pytest.approx(0, abs=1e-9)
    assert bd_rate([1, 2, 4], [30, 33, 36], [1.1, 2.2, 4.4], [30, 33, 36]) == pytest.approx(10, abs=1e-6)
    assert bd_rate([1, 2], [30, 31], [1, 2], [40, 41]) is None  # no common PSNR range
    assert psnr_at([0.5, 1.0], [30, 32], 2.0) is None


def test_classical_codecs_and_the_bench(tmp_path):
    import imageio.v3 as iio

    img8 = np.round(_image(96) * 255).astype(np.uint8)
    rows = classical_curve(img8, "jpeg")
    assert [r["quality"] for r in rows] == sorted(r["quality"] for r in rows)
    assert rows[-1]["bpp"] > rows[0]["bpp"] and rows[-1]["psnr"] > rows[0]["psnr"] + 5
    folder = tmp_path / "imgs"
    folder.mkdir()
    iio.imwrite(folder / "a.png", img8)
    iio.imwrite(folder / "b.png", img8[:, ::-1].copy())
    s = bench_codec(folder, tmp_path / "out", bpps=(3.0, 5.0), codecs=("jpeg", "webp"), steps=30, progress=False)
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert len(m["rows"]["inrkit"]) == 4 and len(m["rows"]["jpeg"]) == 2 * len(rows)
    assert set(s["psnr_at"]) == {"inrkit", "jpeg", "webp"} and "| inrkit |" in (tmp_path / "out" / "rd.md").read_text()
    with pytest.raises(InrkitError, match="unknown codec"):
        bench_codec(folder, tmp_path / "o2", codecs=("jpeg2000",))


@pytest.mark.slow
@pytest.mark.skipif(not (KODAK / "kodim23.png").is_file(), reason="Kodak images not in ../shared/data")
def test_kodak_image_beats_a_floor_at_one_bpp():
    from inrkit.signals.image import load_image

    img = load_image(str(KODAK / "kodim23.png")).image
    r = compress(img, CompressConfig(bpp=1.0, steps=300))
    assert 0.7 < r.metrics["bpp"] < 1.3 and r.metrics["psnr"] > 30, r.metrics
    assert r.metrics["decode_seconds"] < 5
