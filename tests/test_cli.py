"""The inrkit command end to end, and its handling of bad input."""
import json
import subprocess
import sys

import pytest

import inrkit
from inrkit.cli import main
from inrkit.errors import InrkitError

FIT = ["fit", "image", "sample:camera", "--size", "48x32", "--steps", "30", "--eval-every", "10",
       "--no-progress", "--compile", "off", "--device", "cpu"]


def run_cli(*args):
    """Run the real console entry point in a subprocess: (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "inrkit.cli", *map(str, args)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main([*FIT, "--out", str(out), "--preset", "ngp"]) == 0
    return out


def test_fit_writes_everything(fitted):
    m = json.loads((fitted / "metrics.json").read_text())
    assert m["steps"] == 30 and m["preset"] == "ngp" and m["psnr"] > 20
    assert inrkit.load_image(str(fitted / "reconstruction.png")).image.shape == (32, 48, 1)


def test_render_any_size_and_region(fitted, tmp_path):
    out = tmp_path / "big.png"
    assert main(["render", str(fitted), "--size", "96x64", "--out", str(out), "--device", "cpu"]) == 0
    big = inrkit.load_image(str(out)).image
    assert big.shape == (64, 96, 1)
    # The upsampled render agrees with the fitted image when averaged back down.
    recon = inrkit.load_image(str(fitted / "reconstruction.png")).image
    down = big.reshape(32, 2, 48, 2, 1).mean((1, 3))
    assert inrkit.psnr(down, recon) > 25
    # A region (top-left quarter) at the same pixel size is the zoom of that quarter.
    q = tmp_path / "quarter.png"
    assert main(["render", str(fitted), "--region=-1,-1,0,0", "--scale", "2", "--out", str(q), "--device", "cpu"]) == 0
    quarter = inrkit.load_image(str(q)).image
    assert quarter.shape == (32, 48, 1)
    assert inrkit.psnr(quarter, big[:32, :48]) > 35


def test_render_default_name_and_scale(fitted):
    assert main(["render", str(fitted), "--scale", "0.5", "--device", "cpu"]) == 0
    assert (fitted / "render_24x16.png").exists()


def test_info(fitted, capsys):
    assert main(["info", str(fitted)]) == 0
    text = capsys.readouterr().out
    assert "hashgrid" in text and "ngp" in text and "PSNR" in text
    assert main(["info", str(fitted), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "inrkit-field"


def test_presets_and_samples(capsys):
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    for name in inrkit.PRESETS:
        assert name in text
    assert main(["samples"]) == 0
    assert "sample:camera" in capsys.readouterr().out


def test_resume_extends_run(tmp_path):
    assert main([*FIT, "--out", str(tmp_path), "--steps", "20"]) == 0
    assert main([*FIT, "--out", str(tmp_path), "--steps", "40", "--resume"]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["steps"] == 40


def test_resume_refuses_another_preset_and_a_corrupt_state(tmp_path, capsys):
    assert main([*FIT, "--out", str(tmp_path), "--steps", "5"]) == 0
    weights = (tmp_path / "field.safetensors").read_bytes()
    assert main([*FIT, "--out", str(tmp_path), "--steps", "10", "--resume", "--preset", "siren"]) == 2
    assert "holds a 'ngp' run, not 'siren'" in capsys.readouterr().err
    (tmp_path / "train_state.pt").write_bytes(b"junk")
    assert main([*FIT, "--out", str(tmp_path), "--steps", "10", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "train_state.pt' is corrupt" in err and "Traceback" not in err
    assert (tmp_path / "field.safetensors").read_bytes() == weights


@pytest.mark.parametrize(
    "args,message",
    [
        (["fit", "image", "missing.png"], "does not exist"),
        (["fit", "image", "sample:nope"], "unknown sample"),
        (["fit", "image", "--preset", "nope"], "unknown preset"),
        (["fit", "image", "--size", "12by4"], "malformed"),
        (["fit", "image", "--steps", "0"], "steps must be positive"),
        (["fit", "image", "--steps", "-3"], "steps must be positive"),
        (["fit", "image", "--time-budget", "-1"], "time budget"),
        (["fit", "image", "--lr", "0"], "learning rate"),
        (["fit", "image", "--lr", "inf"], "learning rate must be a positive finite number"),
        (["fit", "image", "--batch-size", "-1"], "batch size must be a positive number of samples (0: automatic)"),
        (["fit", "image", "--seed", "99999999999999999999"], "seed must be"),
        (["fit", "image", "--out", "/dev/null/inrkit-out"], "cannot write"),
        (["fit", "hologram"], "unknown signal kind"),
        (["explode"], "unknown command"),
        (["render", "/nonexistent"], "not an inrkit checkpoint"),
        (["info", "/nonexistent"], "not an inrkit checkpoint"),
    ],
)
def test_errors_are_one_sentence(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main([*args, "--no-progress"] if args[0] == "fit" and len(args) > 1 and args[1] == "image" else args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("inrkit: error: ")


def test_render_bad_inputs(fitted, tmp_path, capsys):
    for args, message in [
        (["--size", "0x4"], "positive"),
        (["--region", "0,0,0,1"], "empty"),
        (["--region", "a,b"], "malformed"),
        (["--scale", "0"], "scale must be a positive finite number"),
        (["--scale", "inf"], "scale must be a positive finite number"),
        (["--size", "1000000x1000000"], "out of memory"),
        (["--out", str(tmp_path / "no/such/dir/x.png")], "does not exist"),
        (["--out", str(tmp_path / "x.txt")], "cannot write an image as 'x.txt'"),
        (["--out", str(tmp_path / "x.mp4")], "expected a name ending in .png"),
        (["--out", str(fitted / "field.json")], "cannot write an image"),  # never over the checkpoint
    ]:
        before = (fitted / "field.json").read_bytes()
        assert main(["render", str(fitted), *args, "--device", "cpu"]) == 2, args
        assert message in capsys.readouterr().err
        assert (fitted / "field.json").read_bytes() == before and not (tmp_path / "x.txt").exists()


def test_a_file_in_the_checkpoint_stands_for_its_folder(fitted, tmp_path, capsys):
    for name in ("field.json", "field.safetensors", "metrics.json"):
        assert main(["info", str(fitted / name)]) == 0, name
    out = tmp_path / "r.png"
    assert main(["render", str(fitted / "field.safetensors"), "--size", "8x8", "--out", str(out), "--device", "cpu"]) == 0
    assert out.exists()
    capsys.readouterr()
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"png")
    assert main(["render", str(photo)]) == 2
    assert "is a file, not an inrkit checkpoint" in capsys.readouterr().err


def test_corrupt_checkpoint(fitted, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(fitted, bad)
    (bad / "field.safetensors").write_bytes(b"garbage")
    assert main(["render", str(bad), "--device", "cpu"]) == 2
    assert "corrupt" in capsys.readouterr().err
    (bad / "field.json").write_text("{not json")
    assert main(["info", str(bad)]) == 2
    assert "corrupt" in capsys.readouterr().err


def test_failed_fit_keeps_earlier_results(tmp_path):
    # A second run that fails on bad input must not touch the first run's files.
    assert main([*FIT, "--out", str(tmp_path)]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["fit", "image", "missing.png", "--out", str(tmp_path)]) == 2
    assert main([*FIT, "--out", str(tmp_path), "--size", "8x8", "--resume"]) == 2  # other shape: refused
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before
    assert inrkit.load(tmp_path) is not None


def test_console_script_subprocess(tmp_path):
    code, out, err = run_cli("fit", "image", "nope.png", "--out", tmp_path / "r")
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    code, out, err = run_cli("fit", "image", "--steps", "notanumber")
    assert code != 0 and "Traceback" not in err
    code, out, err = run_cli()
    assert code == 2 and "fit image" in out


def test_read_json_turns_every_failure_into_one_sentence(tmp_path):
    from inrkit.errors import read_json

    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert read_json(tmp_path / "ok.json", "thing") == {"a": 1}
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "latin1.json").write_bytes(b'{"a": "\xe9"}')
    for name, message in [("missing.json", "does not exist"), ("bad.json", "is not valid JSON"),
                          ("dir.json", "cannot read thing"), ("latin1.json", "is not valid JSON")]:
        with pytest.raises(InrkitError, match=message):
            read_json(tmp_path / name, "thing")


def test_input_and_output_path_checks(tmp_path):
    from inrkit.errors import input_file, output_folder_exists

    (tmp_path / "a.wav").write_bytes(b"")
    assert input_file(str(tmp_path / "a.wav"), "audio file", "a WAV file") == tmp_path / "a.wav"
    with pytest.raises(InrkitError, match="audio file .* does not exist"):
        input_file(tmp_path / "b.wav", "audio file", "a WAV file")
    with pytest.raises(InrkitError, match="is a folder; expected a WAV file"):
        input_file(tmp_path, "audio file", "a WAV file")
    assert output_folder_exists(str(tmp_path / "x.png")) == tmp_path / "x.png"
    with pytest.raises(InrkitError, match="folder .* does not exist"):
        output_folder_exists(tmp_path / "no" / "x.png")
