"""Datasets of images, fields fitted many at once (fit-many), the fieldset file, torchrun."""
from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import inrkit
from inrkit.cli import main
from inrkit.errors import InrkitError
from inrkit.fieldsets import fit_many, load_dataset, load_fieldset
from inrkit.fieldsets.fit_many import fieldset_config
from inrkit.signals.image import ImageSignal

# ---------------------------------------------------------------- datasets


def _png(path, h, w, c=3, value=128):
    iio.imwrite(path, np.full((h, w, c) if c > 1 else (h, w), value, np.uint8))


def test_a_folder_of_images_in_name_order_with_other_files_skipped(tmp_path):
    for name in ("b.png", "a.png", "c.jpg"):
        _png(tmp_path / name, 6, 5)
    (tmp_path / "LICENSE.txt").write_text("not an image")
    d = load_dataset(tmp_path, split="all")
    assert d.names == ["a.png", "b.png", "c.jpg"] and d.images.shape == (3, 6, 5, 3)
    assert np.allclose(d.images[0], 128 / 255)


def test_rgba_is_composited_onto_white_and_grey_stays_one_channel(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:2, ..., 3] = 255  # top half opaque red, bottom half transparent
    iio.imwrite(tmp_path / "x.png", rgba)
    im = load_dataset(tmp_path, split="all").images[0]
    assert np.allclose(im[0, 0], [1, 0, 0]) and np.allclose(im[3, 3], [1, 1, 1])
    _png(tmp_path / "g.png", 4, 4, c=1)
    grey = tmp_path / "grey"
    grey.mkdir()
    _png(grey / "g.png", 4, 4, c=1)
    assert load_dataset(grey, split="all").images.shape == (1, 4, 4, 1)


def test_mixed_sizes_need_size(tmp_path):
    _png(tmp_path / "a.png", 8, 8)
    _png(tmp_path / "b.png", 6, 10)
    with pytest.raises(InrkitError, match="mixes image sizes .* give --size"):
        load_dataset(tmp_path, split="all")
    assert load_dataset(tmp_path, size=(5, 4), split="all").images.shape == (2, 4, 5, 3)


def test_bad_datasets_are_one_sentence(tmp_path):
    with pytest.raises(InrkitError, match="does not exist"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InrkitError, match="holds no images"):
        load_dataset(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(InrkitError, match="could not read .*bad.png"):
        load_dataset(tmp_path, split="all")
    with pytest.raises(InrkitError, match="unknown split"):
        load_dataset("sample:shapes", split="val")
    with pytest.raises(InrkitError, match="unknown dataset sample:cats"):
        load_dataset("sample:cats")


def test_idx_and_npy(tmp_path):
    pixels = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for split in ("train", "t10k"):
        with gzip.open(tmp_path / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">4I", 2051, 2, 3, 4) + pixels.tobytes())
    d = load_dataset(tmp_path, split="test")
    assert d.images.shape == (2, 3, 4, 1) and np.allclose(d.images[1, ..., 0], pixels[1] / 255)
    with gzip.open(tmp_path / "cut-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">4I", 2051, 5, 3, 4) + pixels.tobytes())
    with pytest.raises(InrkitError, match="truncated"):
        load_dataset(tmp_path / "cut-images-idx3-ubyte.gz")
    np.save(tmp_path / "a.npy", pixels)
    assert load_dataset(tmp_path / "a.npy").images.shape == (2, 3, 4, 1)


def test_the_split_keeps_a_group_together_and_is_stable():
    from inrkit.fieldsets.datasets import split_of

    names = [f"{g:x}-{v}.png" for g in range(0x1f600, 0x1f700) for v in ("1f3fb", "1f3fc")]
    assert all(split_of(n) == split_of(n.split("-")[0] + ".png") for n in names)
    test = sum(split_of(n) == "test" for n in names[::2])
    assert 10 <= test <= 45  # about 10% of 256 groups


def test_the_shared_datasets(shared_data):
    fm = load_dataset(shared_data / "datasets" / "fashion-mnist", split="test", limit=100)
    assert fm.images.shape == (100, 28, 28, 1) and 0.2 < fm.images.mean() < 0.4
    emoji = load_dataset(shared_data / "datasets" / "emoji64", split="test")
    assert emoji.images.shape[1:] == (64, 64, 3) and 150 < len(emoji) < 450  # about 10% of 3,786


# ---------------------------------------------------------------- fit-many


def test_batched_fits_are_the_single_fits():
    """Stacked parameters, one Adam: each field is what its own full-batch fit gives, to the last bit."""
    d = load_dataset("sample:shapes", limit=3)
    index = fit_many(d, "siren", steps=20, width=16, depth=2, lr=1e-3, progress=False, fields_per_batch=2)
    p = inrkit.get_preset("siren", "image")
    p.optim.lr = 1e-3
    cfg = fieldset_config(p, d, 16, 2)
    for i in range(3):
        torch.manual_seed(i)
        single = inrkit.fit(cfg.build(2, 3), ImageSignal(d.images[i]),
                            inrkit.FitConfig(steps=20, progress=False, compile="off", checkpoint_every=0), p.optim)
        for k, v in single.field.state_dict().items():
            assert torch.allclose(v, index["tensors"][k][i], atol=1e-6), k
        assert index["items"][i]["psnr"] == pytest.approx(single.metrics["psnr"], abs=1e-3)


def test_fieldset_round_trip_renders_each_field(tmp_path):
    d = load_dataset("sample:shapes", limit=4)
    index = fit_many(d, "siren", steps=150, out=tmp_path / "fs", width=32, depth=3, lr=1e-3, progress=False)
    fs = load_fieldset(tmp_path / "fs")
    assert len(fs) == 4 and fs.names == d.names
    for i in range(4):
        image = inrkit.render(fs.field(i))  # (32, 32, 3) uint8 at the training size
        psnr = inrkit.psnr(image.astype(np.float32) / 255, d.images[i])
        assert psnr == pytest.approx(index["items"][i]["psnr"], abs=0.3) and psnr > 25
    with pytest.raises(InrkitError, match="index 4 is out of range"):
        fs.field(4)


def test_fit_many_command_info_render_and_bad_input(tmp_path, capsys):
    out = tmp_path / "fs"
    assert main(["fit-many", "sample:shapes", "--limit", "3", "--width", "16", "--depth", "2", "--steps", "10",
                 "--out", str(out), "--no-progress"]) == 0
    assert "3 fields (siren) on sample:shapes: mean PSNR" in capsys.readouterr().out
    assert main(["info", str(out)]) == 0
    assert "3 fields of image sample:shapes, 32x32" in capsys.readouterr().out
    assert main(["render", str(out), "--index", "2", "--size", "64x64"]) == 0
    assert iio.imread(out / "render_item_2.png").shape == (64, 64, 3)
    capsys.readouterr()
    for args, message in [
        (["render", str(out)], "is a fieldset of 3 fields; pick one with --index"),
        (["render", str(out), "--index", "3"], "index 3 is out of range"),
        (["fit-many", str(tmp_path / "none")], "does not exist"),
        (["fit-many", "sample:shapes", "--depth", "0", "--out", str(tmp_path / "x")], "depth must be positive"),
    ]:
        assert main(args) == 2, args
        assert message in capsys.readouterr().err
    (out / "fieldset.json").unlink()  # a run that died before its index
    assert main(["render", str(out), "--index", "0"]) == 2
    assert "incomplete fieldset" in capsys.readouterr().err


def test_two_processes_give_the_fieldset_of_one(tmp_path):
    """torchrun with 2 gloo processes on localhost: signals sharded by rank, one fieldset, the same fields."""
    args = ["fit-many", "sample:shapes", "--limit", "5", "--width", "16", "--depth", "2", "--steps", "15",
            "--lr", "1e-3", "--device", "cpu", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "inrkit.cli", *args, "--out", str(tmp_path / "two")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = load_fieldset(tmp_path / "one"), load_fieldset(tmp_path / "two")
    assert two.index["processes"] == 2 and two.names == one.names
    for k, v in one.tensors.items():
        assert torch.allclose(v, two.tensors[k], atol=1e-5), k
