"""Run folders: a new one per fit by default, runs/latest following it, no run written over another."""
import json
import os
from pathlib import Path

import pytest

from inrkit.cli import main
from inrkit.runs import claim_folder, latest_run_folder, new_run_folder, run_name

QUICK = ["--size", "24x16", "--steps", "3", "--no-progress", "--threads", "1"]


def test_names_and_numbers(tmp_path):
    assert run_name("image", "sample:camera") == "image-camera"
    assert run_name("sdf", str(tmp_path / "bunny.obj")) == "sdf-bunny"
    assert run_name("video", "clips/my clip.tar.mp4") == "video-my-clip"
    assert new_run_folder("image", "sample:camera", tmp_path) == tmp_path / "image-camera-1"
    for n in (1, 2, 7):
        (tmp_path / f"image-camera-{n}").mkdir()
    (tmp_path / "image-camera-x").mkdir()  # not a number: ignored
    assert new_run_folder("image", "sample:camera", tmp_path) == tmp_path / "image-camera-8"
    assert latest_run_folder("image", "sample:camera", tmp_path) == tmp_path / "image-camera-7"
    assert latest_run_folder("audio", "sample:chord", tmp_path) is None


def test_each_fit_gets_its_own_folder_and_latest_follows(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK]) == 0
    assert main(["fit", "image", *QUICK, "--seed", "1"]) == 0
    assert main(["fit", "audio", "--steps", "3", "--no-progress"]) == 0
    runs = Path("runs")
    assert sorted(p.name for p in runs.iterdir()) == ["audio-chord-1", "image-camera-1", "image-camera-2", "latest"]
    assert os.readlink(runs / "latest") == "audio-chord-1"
    assert (runs / "latest" / "reconstruction.wav").exists()
    first, second = (json.loads((runs / n / "field.json").read_text()) for n in ("image-camera-1", "image-camera-2"))
    assert (first["fit"]["seed"], second["fit"]["seed"]) == (0, 1)  # the second fit did not replace the first
    assert not (runs / "image-camera-1" / "reconstruction.wav").exists()  # and no run's files mix
    assert "-> runs/audio-chord-1" in capsys.readouterr().out
    assert main(["info", "runs/latest"]) == 0


def test_a_folder_holding_another_run_is_refused_unless_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "audio", "--steps", "3", "--no-progress", "--out", "r"]) == 0
    (Path("r") / "mine.txt").write_text("the user's own file")
    before = Path("r/field.json").read_text()
    capsys.readouterr()
    assert main(["fit", "image", *QUICK, "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert "'r' already holds a run (audio, preset ngp)" in err and "--overwrite" in err
    assert Path("r/field.json").read_text() == before  # nothing touched
    assert main(["fit", "image", *QUICK, "--out", "r", "--overwrite"]) == 0
    left = {p.name for p in Path("r").iterdir()}
    assert "reconstruction.wav" not in left and "reconstruction.png" in left  # the audio run's files are gone
    assert "mine.txt" in left  # files that are not a run's stay
    assert json.loads(Path("r/field.json").read_text())["signal"]["kind"] == "image"


def test_resume_without_out_continues_the_newest_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK]) == 0
    assert main(["fit", "image", *QUICK]) == 0
    assert main(["fit", "image", "--size", "24x16", "--steps", "5", "--no-progress", "--resume"]) == 0
    assert json.loads(Path("runs/image-camera-2/field.json").read_text())["step"] == 5
    assert json.loads(Path("runs/image-camera-1/field.json").read_text())["step"] == 3
    assert not Path("runs/image-camera-3").exists()


def test_resume_with_nothing_to_resume(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK, "--resume"]) == 2
    assert "no earlier image run of 'sample:camera'" in capsys.readouterr().err


def test_an_earlier_versions_latest_folder_is_left_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("runs/latest").mkdir(parents=True)
    (Path("runs/latest") / "field.json").write_text("{}")
    with pytest.warns(UserWarning, match="left as it is"):
        assert main(["fit", "image", *QUICK]) == 0
    assert Path("runs/latest").is_dir() and not Path("runs/latest").is_symlink()
    assert Path("runs/image-camera-1/field.json").exists()


def test_claim_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    from inrkit import InrkitError

    with pytest.raises(InrkitError, match="is a file"):
        claim_folder(tmp_path / "f", "image", False, False)


def test_sources_are_stored_absolute_and_work_from_elsewhere(tmp_path, monkeypatch):
    """A checkpoint records where its data is, whichever folder the fit ran in."""
    import numpy as np
    import imageio.v3 as iio

    data = tmp_path / "data"
    data.mkdir()
    iio.imwrite(data / "img.png", (np.random.default_rng(0).random((12, 20, 3)) * 255).astype(np.uint8))
    monkeypatch.chdir(data)
    assert main(["fit", "image", "img.png", "--steps", "3", "--no-progress", "--out", "../run"]) == 0
    meta = json.loads((tmp_path / "run" / "field.json").read_text())
    assert meta["signal"]["source"] == str((data / "img.png").resolve())
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    assert main(["info", str(tmp_path / "run")]) == 0


def test_train_state_can_be_dropped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK, "--out", "a", "--checkpoint-every", "1"]) == 0
    assert main(["fit", "image", *QUICK, "--out", "b", "--checkpoint-every", "1", "--no-keep-train-state"]) == 0
    assert Path("a/train_state.pt").exists() and not Path("b/train_state.pt").exists()
    assert Path("b/field.safetensors").exists()


def test_resume_refuses_another_source_of_the_same_shape(tmp_path, monkeypatch, capsys):
    """Resuming the cameraman run on the brick image would mix two signals in one run."""
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK, "--out", "r", "--checkpoint-every", "1"]) == 0
    before = Path("r/field.json").read_text()
    capsys.readouterr()
    assert main(["fit", "image", "sample:brick", "--size", "24x16", "--steps", "6", "--no-progress", "--out", "r",
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume: 'r' was fitted to source sample:camera, not sample:brick" in err
    assert main(["fit", "image", "--size", "32x16", "--steps", "6", "--no-progress", "--out", "r", "--resume"]) == 2
    assert "shape [16, 24, 1], not [16, 32, 1]" in capsys.readouterr().err
    assert Path("r/field.json").read_text() == before


def test_resume_needs_more_steps(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK, "--out", "r"]) == 0
    capsys.readouterr()
    assert main(["fit", "image", *QUICK, "--out", "r", "--resume"]) == 2
    assert "'r' is already at step 3; ask for more --steps" in capsys.readouterr().err


def test_a_run_that_fails_before_writing_leaves_no_folder_and_latest_unmoved(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK]) == 0
    assert main(["fit", "image", *QUICK, "--lr", "1e30", "--steps", "50"]) == 2  # diverges at once
    assert "training diverged" in capsys.readouterr().err
    assert not Path("runs/image-camera-2").exists()
    assert os.readlink("runs/latest") == "image-camera-1"


def test_an_interrupted_fit_keeps_what_it_trained(tmp_path, monkeypatch, capsys):
    """Ctrl-C at step 5 of 100 with no checkpoint due until step 500: step 5 is saved, --resume continues it."""
    import inrkit.train

    monkeypatch.chdir(tmp_path)
    real = inrkit.train.FitProgress.update

    def interrupt(self, step, *args):
        real(self, step, *args)
        if step == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(inrkit.train.FitProgress, "update", interrupt)
    assert main(["fit", "image", "--size", "24x16", "--steps", "100", "--no-progress", "--out", "r"]) == 130
    assert "step 5 saved in r; --resume continues it" in capsys.readouterr().err
    assert json.loads(Path("r/field.json").read_text())["step"] == 5
    monkeypatch.setattr(inrkit.train.FitProgress, "update", real)
    assert main(["fit", "image", "--size", "24x16", "--steps", "8", "--no-progress", "--out", "r", "--resume"]) == 0
    assert json.loads(Path("r/field.json").read_text())["step"] == 8


def test_resume_without_out_finds_the_run_by_its_source(tmp_path, monkeypatch):
    """A folder named after the camera but holding (via --out --overwrite) another image is not resumed for it."""
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "image", *QUICK]) == 0  # runs/image-camera-1: the camera
    assert main(["fit", "image", *QUICK]) == 0  # runs/image-camera-2
    assert main(["fit", "image", "sample:brick", *QUICK, "--out", "runs/image-camera-2", "--overwrite"]) == 0
    assert latest_run_folder("image", "sample:camera") == Path("runs/image-camera-1")
    assert main(["fit", "image", "--size", "24x16", "--steps", "5", "--no-progress", "--resume"]) == 0
    assert json.loads(Path("runs/image-camera-1/field.json").read_text())["step"] == 5


def test_info_rows_name_what_each_kind_is_scored_against():
    from inrkit.runs import describe_run as info_rows

    meta = {"field": {"encoding": {"kind": "hashgrid"}, "network": {"kind": "mlp", "depth": 2, "width": 64}},
            "signal": {"kind": "ct", "source": "sample:shepp-logan", "shape": [64, 64, 1]}, "step": 30,
            "preset": "ct", "params": 10}
    m = {"psnr": 30.0, "ssim": 0.9, "psnr_fbp": 26.0, "ssim_fbp": 0.77, "views": 20, "seconds": 1.5, "device": "cpu",
         "threads": 2}
    rows = dict(info_rows(meta, m))
    assert rows["baseline"] == "FBP from 20 views: PSNR 26.00 dB, SSIM 0.7700"
    assert rows["training"] == "30 steps in 1.5 s on cpu (2 threads)"
    assert rows["signal"] == "ct sample:shepp-logan, 64x64 pixels, 1 channel(s)"
    audio = {**meta, "signal": {"kind": "audio", "source": "a.wav", "shape": [1000, 2], "sample_rate": 8000}}
    rows = dict(info_rows(audio, {"psnr": 40.0, "snr": 20.0, "mse": 1e-4}))
    assert rows["quality"] == "PSNR 40.00 dB, SNR 20.00 dB, MSE 0.0001" and "nan" not in str(rows)
    mesh = {**meta, "signal": {"kind": "sdf", "source": "b.obj", "mode": "mesh", "shape": [2503, 4968]}}
    assert dict(info_rows(mesh, {}))["signal"] == "sdf b.obj (mesh), 2,503 vertices, 4,968 faces"
