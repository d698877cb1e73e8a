"""Fit loop, checkpoints and the chunked evaluator."""
import json

import numpy as np
import pytest
import torch

import inrkit
from inrkit.signals.base import Signal
from inrkit import InrkitError
from inrkit.encodings import GaussianFourierConfig
from inrkit.fields import FieldConfig
from inrkit.networks import MLPConfig


@pytest.fixture
def small():
    return inrkit.load_image("sample:camera", size=(32, 32))


def _ngp(sig):
    p = inrkit.get_preset("ngp")
    return inrkit.make_field(p.field, sig), p.optim


def test_outputs_written(tmp_path, small, fast):
    field, optim = _ngp(small)
    r = inrkit.fit(field, small, fast(steps=40, eval_every=10), optim, out_dir=tmp_path, meta={"preset": "ngp"})
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {"field.safetensors", "field.json", "metrics.json", "history.csv", "reconstruction.png",
                       "train_state.pt", "training.png", "comparison.png", "progress.json"}  # and nothing temporary
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert {"psnr", "ssim", "steps", "seconds", "params", "preset"} <= set(m)
    assert m["steps"] == 40 and m["params"] == field.n_params() and m["preset"] == "ngp"
    assert [h["step"] for h in r.history] == [10, 20, 30, 40]
    secs = [h["seconds"] for h in r.history]
    assert secs == sorted(secs) and secs[0] > 0
    assert r.history[-1]["psnr"] > r.history[0]["psnr"]
    meta = json.loads((tmp_path / "field.json").read_text())
    assert meta["signal"]["shape"] == [32, 32, 1] and meta["inrkit_version"] == inrkit.__version__
    recon = inrkit.load_image(str(tmp_path / "reconstruction.png"))
    assert abs(inrkit.psnr(recon.image, small.image) - m["psnr"]) < 0.5  # 8-bit rounding only


@pytest.mark.parametrize("preset", ["ngp", "ffn-gauss", "siren", "nerf-pe"])
def test_checkpoint_round_trip_identical(tmp_path, small, fast, preset):
    p = inrkit.get_preset(preset)
    field = inrkit.make_field(p.field, small)
    inrkit.fit(field, small, fast(steps=3, eval_every=3), p.optim, out_dir=tmp_path)
    loaded = inrkit.load(tmp_path)
    x = torch.rand(100, 2) * 2 - 1
    with torch.no_grad():
        assert torch.equal(field.eval()(x), loaded(x))
    grid = loaded.sample_grid((7, 9))
    assert grid.shape == (7, 9, 1)


def test_resume_continues_identically(tmp_path, small, fast):
    # 20 steps straight == 10 steps, then resume to 20 (same seed, optimiser state restored).
    a, optim = _ngp(small)
    optim.schedule = "none"  # a decaying schedule spans each run's own --steps, so the split run would differ
    ra = inrkit.fit(a, small, fast(steps=20, eval_every=10), optim)
    b, _ = _ngp(small)
    inrkit.fit(b, small, fast(steps=10, eval_every=10), optim, out_dir=tmp_path)
    b2 = inrkit.load(tmp_path).train()
    rb = inrkit.fit(b2, small, fast(steps=20, eval_every=10), optim, out_dir=tmp_path, resume=True)
    assert rb.metrics["steps"] == 20 and len(rb.history) == 2
    x = torch.rand(50, 2) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(ra.field(x), rb.field(x), rtol=1e-5, atol=1e-6)


def test_minibatch_path_matches_reference_idea(small, fast):
    # Mini-batches (cached fixed features) still fit.
    p = inrkit.get_preset("ffn-gauss")
    f = inrkit.make_field(p.field, small)
    r = inrkit.fit(f, small, fast(steps=100, batch_size=256, eval_every=100), p.optim)
    assert r.metrics["psnr"] > 22


def test_cached_equals_forward(small):
    for name in ["ngp", "ffn-pe", "siren"]:
        p = inrkit.get_preset(name)
        f = inrkit.make_field(p.field, small)
        x, _ = small.train_data()
        with torch.no_grad():
            torch.testing.assert_close(f.forward_cached(f.cache(x)), f(x), rtol=1e-5, atol=1e-6)


def test_time_budget_stops_early(small, fast):
    field, optim = _ngp(small)
    r = inrkit.fit(field, small, fast(steps=10**6, time_budget=0.5, eval_every=10**6), optim)
    assert r.metrics["steps"] < 10**6 and r.metrics["seconds"] >= 0.5


def test_non_finite_loss_stops_and_keeps_checkpoint(tmp_path, small, fast):
    field, optim = _ngp(small)
    inrkit.fit(field, small, fast(steps=5, eval_every=5), optim, out_dir=tmp_path)
    before = (tmp_path / "field.safetensors").read_bytes()
    bad = inrkit.ImageSignal(small.image.copy())
    bad.image[3, 3, 0] = np.nan
    with pytest.raises(InrkitError, match="loss became nan at step 1.*last good checkpoint \\(step 5\\)"):
        inrkit.fit(field, bad, fast(steps=5, eval_every=5), optim, out_dir=tmp_path)
    assert (tmp_path / "field.safetensors").read_bytes() == before
    inrkit.load(tmp_path)  # still loads


@pytest.mark.parametrize(
    "kw,match",
    [({"steps": 0}, "steps must be positive"), ({"time_budget": -1.0}, "time budget"),
     ({"device": "tpu"}, "unknown device"), ({"compile": "maybe"}, "compile must be")],
)
def test_bad_fit_config(small, fast, kw, match):
    field, optim = _ngp(small)
    with pytest.raises(InrkitError, match=match):
        inrkit.fit(field, small, fast(**kw), optim)


def test_schedules_follow_their_formulas(small, fast):
    from inrkit.train import lr_factor

    o = inrkit.OptimConfig(schedule="cosine", final_lr_ratio=0.1)
    assert lr_factor(o, 0) == pytest.approx(1.0) and lr_factor(o, 0.5) == pytest.approx(0.55)
    assert lr_factor(o, 1) == pytest.approx(0.1) and lr_factor(o, 7) == pytest.approx(0.1)
    o.schedule = "exponential"
    assert lr_factor(o, 0.5) == pytest.approx(0.1**0.5) and lr_factor(o, 1) == pytest.approx(0.1)
    field, optim = _ngp(small)
    optim.schedule = "cosine"
    r = inrkit.fit(field, small, fast(steps=30, eval_every=30), optim)
    assert r.metrics["psnr"] > 20
    optim.schedule = "linear"
    with pytest.raises(InrkitError, match="unknown schedule"):
        inrkit.fit(field, small, fast(steps=3), optim)


def test_schedule_spans_a_time_budget(small, fast, monkeypatch):
    # With a time budget the schedule follows elapsed time, not the (huge) step limit.
    import inrkit.train as train

    seen = []
    real = train.lr_factor
    monkeypatch.setattr(train, "lr_factor", lambda o, p: seen.append(p) or real(o, p))
    clock = iter(range(10**9))  # a fake clock: 1 ms per reading, so the test does not depend on the machine's load
    monkeypatch.setattr(train.time, "perf_counter", lambda: next(clock) * 1e-3)
    field, optim = _ngp(small)
    optim.schedule = "exponential"
    inrkit.fit(field, small, fast(steps=10**9, time_budget=0.5, eval_every=10**9), optim)
    assert seen[-1] > 0.9  # the last steps ran at (nearly) the final learning rate


def test_compiled_network_matches_plain(small, fast):
    # torch.compile is a fast path: same training trajectory as eager, to float tolerance.
    p = inrkit.get_preset("siren")
    a = inrkit.make_field(p.field, small, seed=1)
    b = inrkit.make_field(p.field, small, seed=1)
    inrkit.fit(a, small, fast(steps=5, eval_every=5, compile="off"), p.optim)
    inrkit.fit(b, small, fast(steps=5, eval_every=5, compile="on"), p.optim)
    x = torch.rand(64, 2) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x), rtol=1e-3, atol=1e-4)


def test_evaluate_grid_chunking_is_exact(small):
    field, _ = _ngp(small)
    full = inrkit.evaluate_grid(field, (13, 17), 1)
    chunked = inrkit.evaluate_grid(field, (13, 17), 1, chunk_size=10)
    np.testing.assert_allclose(full, chunked, rtol=1e-5, atol=1e-7)  # matmul blocking differs by chunk
    coords = inrkit.grid_coordinates((13, 17))
    with torch.no_grad():
        np.testing.assert_allclose(full, field(coords).numpy(), rtol=1e-5, atol=1e-6)


def test_grid_region():
    c = inrkit.grid_coordinates((2, 2), region=((0.0, -1.0), (1.0, 0.0)))
    # x in [0, 1] along columns, y in [-1, 0] along rows, pixel centres.
    torch.testing.assert_close(c[0, 0], torch.tensor([0.25, -0.75]))
    torch.testing.assert_close(c[1, 1], torch.tensor([0.75, -0.25]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(small, fast):
    p = inrkit.get_preset("ngp")
    a = inrkit.make_field(p.field, small)
    b = inrkit.make_field(p.field, small)
    ra = inrkit.fit(a, small, fast(steps=20, eval_every=20), p.optim)
    rb = inrkit.fit(b, small, fast(steps=20, eval_every=20, device="cuda"), p.optim)
    assert abs(ra.metrics["psnr"] - rb.metrics["psnr"]) < 0.5


def test_reuse_freed_memory_takes_effect_on_glibc():
    import platform
    import sys

    from inrkit.train import reuse_freed_memory

    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert reuse_freed_memory() is True


class _BlurredLine(Signal):
    """A 1D signal seen only through a fixed blur (a forward model): the fit loop's ``loss`` protocol."""

    kind, in_dim, out_dim, metric, output_name = "blurred-line", 1, 1, "rel_error", "recon.npy"
    resolution = 64

    def __init__(self):
        self.x = torch.linspace(-1, 1, 64).unsqueeze(-1)  # (64, 1)
        self.truth = torch.sin(3 * self.x)  # (64, 1)
        self.blur = torch.tril(torch.ones(64, 64)) / 64  # running mean: invertible, so the truth is identifiable
        self.obs = self.blur @ self.truth
        self.calls = []

    def metadata(self):
        return {"kind": self.kind, "shape": [64, 1]}

    def loss(self, field, step, batch_size, generator):
        self.calls.append(step)
        pred = field(self.x.to(generator.device))
        return torch.nn.functional.mse_loss(self.blur @ pred, self.obs)

    def predict(self, field, device=None):
        with torch.no_grad():
            return field(self.x.to(device)).cpu()

    def evaluate(self, pred, full=True):
        return {"rel_error": float((pred - self.truth).norm() / self.truth.norm())}

    def save(self, path, pred):
        import numpy as np

        np.save(path, pred.numpy())


def test_forward_model_signals_fit_through_their_own_loss(tmp_path, fast):
    sig = _BlurredLine()
    # Gaussian Fourier features (σ = 2 cycles: sin(3x) has ~1) + a small ReLU MLP, linear output
    cfg = FieldConfig(GaussianFourierConfig(m=64, sigma=2.0), MLPConfig(width=64, depth=2))
    field = inrkit.make_field(cfg, sig, seed=0)
    r = inrkit.fit(field, sig, fast(steps=300, eval_every=100), inrkit.OptimConfig(lr=1e-3), out_dir=tmp_path)
    assert sig.calls == list(range(300))  # once per step, with the step number
    assert [h["step"] for h in r.history] == [100, 200, 300] and "rel_error" in r.history[0]
    assert r.metrics["rel_error"] < 0.1  # recovered from blurred observations alone
    assert (tmp_path / "recon.npy").exists() and not (tmp_path / "reconstruction.png").exists()
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == "step,seconds,rel_error,loss"


def test_written_files_follow_the_umask(tmp_path):
    import os

    from inrkit.errors import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644  # as open(..., "w") would make it


def test_progress_line_shows_the_metric_and_throughput():
    from inrkit.train import FitProgress

    plain = FitProgress(inrkit.FitConfig(steps=100, progress=False), "psnr")
    assert plain.info(50, 10.0, 31.234, 1e-3) == "step 50/100  PSNR 31.23 dB  loss 1.00e-03  5.0 steps/s"
    assert plain.info(50, 10.0, None, 1e-3) == "step 50/100  loss 1.00e-03  5.0 steps/s"  # no nan before an evaluation
    rays = FitProgress(inrkit.FitConfig(steps=100, progress=False), "psnr", unit=("rays", 4096))
    assert rays.info(50, 10.0, 31.234, 1e-3).endswith("20,480 rays/s")  # 5 steps/s of 4096 rays
    other = FitProgress(inrkit.FitConfig(steps=100, progress=False), "iou")
    assert other.info(1, 0.0, 0.5, 0.1).startswith("step 1/100  iou 0.5  ")
    budget = FitProgress(inrkit.FitConfig(steps=5000, time_budget=30, progress=False), "psnr")
    assert budget.info(325, 12.2, 20.0, 1e-2).startswith("step 325, 12/30 s")  # follows the limit that ends the run


def test_progress_follows_whichever_limit_ends_the_run():
    from inrkit.train import run_progress

    assert run_progress(325, 15.0, inrkit.FitConfig(steps=5000, time_budget=30)) == 0.5
    assert run_progress(4000, 15.0, inrkit.FitConfig(steps=5000, time_budget=30)) == 0.8
    assert run_progress(9000, 0.0, inrkit.FitConfig(steps=5000)) == 1.0


def test_plain_progress_lines_off_a_terminal(small, capsys, monkeypatch):
    """Not on a terminal (a log, nohup, CI): plain lines while training, not only at the end."""
    import inrkit.progress

    monkeypatch.setattr(inrkit.progress, "INTERVAL", 0.0)  # a line at every update
    monkeypatch.setattr(inrkit.progress, "is_terminal", lambda: False)
    field, optim = _ngp(small)
    inrkit.fit(field, small, inrkit.FitConfig(steps=6, eval_every=3, progress=True), optim)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fitting")]
    assert len(lines) >= 6
    assert "step 1/6" in lines[0] and "PSNR" not in lines[0]  # no metric before the first evaluation
    assert "step 3/6  PSNR" in lines[2] and "100%" in lines[-1]


def test_fit_takes_only_signals(fast):
    field, optim = _ngp(inrkit.load_image("sample:camera", size=(8, 8)))
    with pytest.raises(inrkit.InrkitError, match="fit takes an inrkit signal"):
        inrkit.fit(field, object(), fast(steps=1), optim)


def test_every_signal_keeps_the_contract():
    """Every kind's signal class derives from Signal, and has nothing abstract left."""
    from inrkit.signals import audio, ct, image, mri, nerf, poisson, shape, video, volume
    from inrkit.signals.base import SampledSignal

    classes = [image.ImageSignal, audio.AudioSignal, video.VideoSignal, volume.VolumeSignal, ct.CTSignal,
               mri.MRISignal, poisson.PoissonSignal, shape.ShapeSignal, nerf.NerfSignal]
    for cls in classes:
        assert issubclass(cls, Signal) and not cls.__abstractmethods__, cls
    assert {c for c in classes if issubclass(c, SampledSignal)} == {
        image.ImageSignal, audio.AudioSignal, video.VideoSignal, volume.VolumeSignal}


def test_a_sampled_signals_own_loss_is_the_mse_on_a_batch():
    sig = inrkit.load_image("sample:camera", size=(8, 8))
    field, _ = _ngp(sig)
    gen = torch.Generator().manual_seed(0)
    coords, values = sig.train_data()
    with torch.no_grad():
        full = torch.nn.functional.mse_loss(field(coords), values)
        assert torch.allclose(sig.loss(field, 0, 64, gen), full)  # 64 pixels: all of them
        assert sig.loss(field, 0, 16, gen).shape == ()


def test_a_field_built_from_modules_fits_but_is_not_saved(small, fast, tmp_path):
    from inrkit.encodings import Identity
    from inrkit.networks import MLP

    field = inrkit.Field(Identity(2), MLP(2, 1, width=16, depth=1))
    r = inrkit.fit(field, small, fast(steps=3, eval_every=3))  # no folder: fine
    assert r.metrics["steps"] == 3
    with pytest.raises(InrkitError, match="built from modules; build it from a config"):
        inrkit.fit(field, small, fast(steps=3), out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # stopped before anything was written


def test_compile_mode_leaves_short_and_timed_runs_eager(fast):
    from inrkit.train import compile_mode

    cpu = torch.device("cpu")
    assert compile_mode(fast(compile="off"), cpu) == "off"
    assert compile_mode(fast(compile="auto", steps=100), cpu) == "off"
    assert compile_mode(fast(compile="auto", steps=1000, time_budget=5), cpu) == "off"
    with pytest.raises(InrkitError, match="auto, on or off"):
        compile_mode(fast(compile="maybe"), cpu)
