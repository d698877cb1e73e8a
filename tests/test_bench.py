"""The comparison (`inrkit bench images`) and σ-search (`inrkit tune`) commands."""
import json

import numpy as np
import pytest

from inrkit.bench import list_images, summarise
from inrkit.cli import main


@pytest.fixture
def folder(tmp_path):
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    d.mkdir()
    yy, xx = np.mgrid[0:24, 0:24] / 24
    for i in range(2):
        img = np.stack([np.sin(6 * xx + i), np.cos(5 * yy), xx * yy], -1) * 0.5 + 0.5
        img = img + 0.02 * rng.standard_normal(img.shape)
        iio.imwrite(d / f"{i:02d}.png", (np.clip(img, 0, 1) * 255).astype(np.uint8))
    (d / "notes.txt").write_text("not an image")
    return d


def test_bench_images_table(folder, tmp_path):
    out = tmp_path / "out"
    args = ["bench", "images", str(folder), "--presets", "ngp", "relu", "--steps", "15", "--out", str(out),
            "--device", "cpu", "--compile", "off"]
    assert main(args) == 0
    data = json.loads((out / "bench.json").read_text())
    assert len(data["runs"]) == 4  # 2 images x 2 presets; notes.txt ignored
    assert set(data["summary"]) == {"ngp", "relu"}
    for st in data["summary"].values():
        assert st["n"] == 2
        mean, std = st["psnr"]
        assert 5 < mean < 80 and std >= 0
        assert st["psnr_unseen"][0] <= mean + 1e-9 or st["psnr_unseen"][0] < 80
    md = (out / "bench.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ngp") or line.startswith("| relu")]
    assert len(rows) == 2 and all(r.count("±") >= 3 for r in rows)
    if pytest.importorskip("matplotlib"):
        assert (out / "bench.png").stat().st_size > 0


def test_summary_statistics():
    runs = [{"preset": "a", "psnr": 10.0, "seconds": 1.0, "params": 5},
            {"preset": "a", "psnr": 14.0, "seconds": 3.0, "params": 5}]
    s = summarise(runs, ["a"])["a"]
    assert s["psnr"] == (12.0, pytest.approx(2 ** 1.5))  # sample standard deviation of 10, 14
    assert s["seconds"][0] == 2.0 and "psnr_unseen" not in s


def test_tune_picks_a_sigma(folder, tmp_path):
    out = tmp_path / "tune"
    assert main(["tune", str(folder), "--sigmas", "1", "8", "--steps", "15", "--out", str(out), "--device", "cpu",
                 "--compile", "off"]) == 0
    data = json.loads((out / "tune.json").read_text())
    assert float(data["best"]) in (1.0, 8.0)
    assert set(map(float, data["scores"])) == {1.0, 8.0}
    assert data["scores"][str(data["best"])] == max(data["scores"].values())


@pytest.mark.parametrize(
    "args,message",
    [
        (["bench", "images", "/nonexistent"], "does not exist"),
        (["bench", "images", "{empty}"], "holds no images"),
        (["bench", "images", "{folder}", "--presets", "nope"], "unknown preset"),
        (["bench", "images", "{folder}", "--protocol", "paper"], "unknown protocol"),
        (["bench", "images", "{folder}/00.png"], "is a file; expected a folder of images"),
        (["bench", "images", "{folder}", "--limit", "-1"], "limit must be"),
        (["bench", "images", "{folder}", "--protocol", "ffn", "--time-budget", "30"], "fixes the fit"),
        (["bench", "images", "{folder}", "--out", "{folder}"], "must not be the image folder"),
        (["bench", "images", "{folder}", "--protocol", "ffn", "--presets", "ngp", "relu"], "ngp is not one of them"),
        (["bench", "images", "{folder}", "--baselines", "lanczos"], "unknown baseline"),
        (["bench", "images", "{folder}", "--baselines", "bicubic", "--train-stride", "1"], "held-out"),
        (["bench", "audio", "{folder}"], "unknown subcommand 'audio' for bench"),
        (["tune", "{folder}", "--train-stride", "1"], "held-out"),
        (["tune", "{folder}", "--sigmas", "0"], "positive"),
        (["tune", "{folder}", "--sigmas", "5", "nan"], "positive finite"),
        (["tune", "{folder}", "--preset", "siren"], "no Gaussian"),
    ],
)
def test_errors(args, message, folder, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.format(folder=folder, empty=empty) for a in args]
    args += [] if "--out" in args else ["--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_list_images_limit(folder):
    assert [p.name for p in list_images(folder, 1)] == ["00.png"]


def test_list_images_takes_every_suffix_the_image_loader_reads(tmp_path):
    """One list of image suffixes: the folder lister uses the loader's own tuple, so every file it lists loads."""
    import inrkit.bench
    from inrkit.signals.image import READABLE, load_image

    assert inrkit.bench.IMAGE_SUFFIXES is READABLE
    from PIL import Image

    for i, suffix in enumerate(READABLE):
        name = f"{i}{suffix.upper() if i % 2 else suffix}"  # listing ignores the suffix's case
        Image.fromarray(np.full((4, 4, 3), 30 * i, np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    listed = list_images(tmp_path)
    assert [p.suffix.lower() for p in listed] == list(READABLE)
    for p in listed:
        assert load_image(str(p)).image.shape == (4, 4, 3)


def test_bench_sigma_sets_the_gaussian_scale(folder, tmp_path):
    def run(*extra):
        out = tmp_path / ("o" + "".join(extra))
        args = ["bench", "images", str(folder), "--presets", "ffn-gauss", "relu", "--steps", "5", "--limit", "1",
                "--out", str(out), "--device", "cpu", "--compile", "off", *extra]
        assert main(args) == 0
        data = json.loads((out / "bench.json").read_text())
        return data["settings"]["sigma"], {r["preset"]: r["psnr"] for r in data["runs"]}

    s0, default = run()
    s1, wide = run("--sigma", "40")
    assert (s0, s1) == (None, 40.0)
    assert wide["relu"] == default["relu"]  # no Gaussian features: untouched
    assert abs(wide["ffn-gauss"] - default["ffn-gauss"]) > 1e-3
    assert main(["bench", "images", str(folder), "--sigma", "0"]) == 2


def test_ffn_protocols_apply_the_papers_per_kind_settings():
    from inrkit.bench import FFN_PROTOCOLS, protocol_overrides
    from inrkit.presets import get_preset

    def applied(protocol, sigma=None):
        edits = protocol_overrides(FFN_PROTOCOLS[protocol], sigma)
        out = {}
        for name in FFN_PROTOCOLS[protocol]["presets"]:
            p = get_preset(name)
            edits[name](p)
            out[name] = p
        return out

    natural, text = applied("ffn"), applied("ffn-text")
    assert [natural[n].optim.lr for n in ("relu", "ffn-basic", "ffn-pe", "ffn-gauss")] == [1e-2, 1e-2, 1e-3, 1e-3]
    assert [text[n].optim.lr for n in ("relu", "ffn-basic", "ffn-pe", "ffn-gauss")] == [1e-3] * 4
    assert (natural["ffn-gauss"].field.encoding.sigma, text["ffn-gauss"].field.encoding.sigma) == (10.0, 14.0)
    assert (natural["ffn-pe"].field.encoding.scale, text["ffn-pe"].field.encoding.scale) == (6.0, 5.0)
    assert applied("ffn-text", sigma=3.0)["ffn-gauss"].field.encoding.sigma == 3.0
    # the paper's network: three hidden ReLU layers of 256, sigmoid output, JAX's Glorot init
    net = natural["relu"].field.network
    assert (net.depth, net.width, net.init, natural["relu"].field.output) == (3, 256, "glorot", "sigmoid")


@pytest.mark.parametrize("name", ["bilinear", "bicubic"])
def test_interpolation_baselines_reproduce_a_plane_from_its_training_pixels(name):
    from inrkit.bench import BASELINES, interpolate_training_pixels
    from inrkit.signals.image import ImageSignal

    yy, xx = np.mgrid[0:64, 0:72].astype(np.float32)
    plane = (0.1 + 0.005 * xx + 0.004 * yy)[..., None]  # affine: both splines reproduce it exactly
    sig = ImageSignal(plane, train_stride=2)
    pred = interpolate_training_pixels(sig, BASELINES[name])
    assert pred.shape == plane.shape
    # exact away from the borders: the cubic spline's boundary condition (edge held) fades by a
    # factor 2 - √3 ≈ 0.27 per training sample, so 8 samples in it is below 1e-5
    np.testing.assert_allclose(pred[16:-16, 16:-16], plane[16:-16, 16:-16], atol=1e-5)
    np.testing.assert_allclose(pred[::2, ::2], plane[::2, ::2], atol=1e-6)  # passes through the training pixels


def test_bench_with_baselines(folder, tmp_path):
    out = tmp_path / "out"
    assert main(["bench", "images", str(folder), "--presets", "relu", "--steps", "3", "--baselines", "bilinear",
                 "bicubic", "--out", str(out), "--device", "cpu", "--compile", "off"]) == 0
    data = json.loads((out / "bench.json").read_text())
    assert list(data["summary"]) == ["relu", "bilinear", "bicubic"]
    for name in ("bilinear", "bicubic"):
        st = data["summary"][name]
        assert st["n"] == 2 and st["params"][0] == 0 and st["steps"][0] == 0
        # smooth test images: interpolation beats a 3-step fit on the held-out pixels
        assert st["psnr_unseen"][0] > data["summary"]["relu"]["psnr_unseen"][0] + 5
    assert "| bicubic | 2 |" in (out / "bench.md").read_text()


def test_protocol_presets_pick_a_subset(folder, tmp_path, monkeypatch):
    from inrkit.bench import FFN_PROTOCOLS

    # the protocol's own settings, shrunk so the test is quick
    monkeypatch.setitem(FFN_PROTOCOLS, "ffn", {**FFN_PROTOCOLS["ffn"], "steps": 2, "size": (32, 32)})
    out = tmp_path / "o"
    assert main(["bench", "images", str(folder), "--protocol", "ffn", "--presets", "ffn-basic", "--limit", "1", "--steps", "2",
                 "--out", str(out), "--device", "cpu", "--compile", "off"]) == 0
    data = json.loads((out / "bench.json").read_text())
    assert [r["preset"] for r in data["runs"]] == ["ffn-basic"]
    assert data["settings"]["steps"] == 2 and data["runs"][0]["steps"] == 2


def test_an_interrupted_bench_keeps_its_rows_and_resumes(folder, tmp_path, monkeypatch):
    import inrkit.bench as bench

    out = tmp_path / "o"
    args = ["bench", "images", str(folder), "--presets", "relu", "--steps", "3", "--baselines", "bilinear",
            "--out", str(out), "--device", "cpu", "--compile", "off"]
    real_fit, calls = bench.fit, []

    def failing_fit(*a, **k):  # the second fit dies (a crash, a killed job)
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return real_fit(*a, **k)

    assert main(args + ["--limit", "1"]) == 0  # an earlier, finished report
    finished = (out / "bench.json").read_text()
    monkeypatch.setattr(bench, "fit", failing_fit)
    with pytest.raises(RuntimeError):
        main(args)
    assert (out / "bench.json").read_text() == finished  # untouched until the new run completes
    partial = json.loads((out / "bench.partial.json").read_text())
    assert [(r["image"], r["preset"]) for r in partial["runs"]] == [("00.png", "relu"), ("00.png", "bilinear")]

    calls.clear()
    monkeypatch.setattr(bench, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    assert main(["bench", "images", str(folder), "--steps", "4", "--out", str(out), "--resume"]) == 2  # other settings
    assert main(args + ["--resume"]) == 0
    assert len(calls) == 1  # only 01.png was fitted
    done = json.loads((out / "bench.json").read_text())
    assert len(done["runs"]) == 4 and not (out / "bench.partial.json").exists()
    assert done["runs"][0] == partial["runs"][0]  # kept as it was
    assert done["summary"]["relu"]["n"] == 2

    # an unreadable image stops the run before any fitting, and the finished report stays
    (folder / "zz.png").write_bytes(b"not a png")
    calls.clear()
    assert main(args) == 2 and calls == []
    assert json.loads((out / "bench.json").read_text()) == done


@pytest.mark.parametrize("command", [["bench", "images", "{folder}"], ["tune", "{folder}"], ["ntk"]])
def test_an_output_folder_that_is_a_file_fails_before_any_work(command, folder, tmp_path, capsys):
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"keep me")
    args = [a.format(folder=folder) for a in command] + ["--out", str(taken)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err and taken.read_bytes() == b"keep me"
