"""The registry of kinds: a new kind of signal is one module plus one registry line.

The toy kind below (a 1-D function sampled on a grid) lives in this test module only; once it is in
:data:`inrkit.signals.KINDS`, ``inrkit fit``, ``render``, ``info``, ``samples`` and ``--help`` know it,
with no change to :mod:`inrkit.cli`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from tyro.conf import Positional

from inrkit import metrics
from inrkit.cli import main
from inrkit.errors import InrkitError
from inrkit.signals import KINDS
from inrkit.signals.base import Kind, SampledSignal, SampleSet

FUNCTIONS = {"sine": lambda x: 0.5 + 0.4 * np.sin(3 * np.pi * x), "ramp": lambda x: (x + 1) / 2}


@dataclass
class ToyOptions:
    """Fit a field to a 1-D function sampled on a grid."""

    source: Positional[str] = "sample:sine"
    """sample:sine or sample:ramp."""
    points: int = 64
    """Samples across [-1, 1]."""


class ToySignal(SampledSignal):
    kind, in_dim, out_dim, output_name = "toy", 1, 1, "reconstruction.npy"

    def __init__(self, source: str, points: int):
        name = source.removeprefix("sample:")
        if name not in FUNCTIONS:
            raise InrkitError(f"unknown function {source!r}; expected sample:sine or sample:ramp")
        self.source, self.points = source, points
        self.x = (np.arange(points) + 0.5) / points * 2 - 1  # sample centres in [-1, 1]
        self.y = FUNCTIONS[name](self.x).astype(np.float32)

    @property
    def resolution(self) -> int:
        return self.points

    def train_data(self):
        return torch.tensor(self.x, dtype=torch.float32)[:, None], torch.from_numpy(self.y)[:, None]

    def metadata(self) -> dict:
        return {"kind": self.kind, "source": self.source, "shape": [self.points, 1]}

    def predict(self, field, device=None):
        with torch.no_grad():
            return field(self.train_data()[0].to(device))[:, 0].cpu().numpy()

    def evaluate(self, pred, full: bool = True) -> dict:
        return {"psnr": metrics.psnr(np.clip(pred, 0, 1), self.y)}

    def save(self, path, pred) -> None:
        np.save(path, pred)


def render(field, size=None, chunk_size: int = 1 << 16, device=None) -> np.ndarray:
    n = int(size or field.meta["signal"]["shape"][0])
    x = (torch.arange(n, device=device) + 0.5) / n * 2 - 1
    with torch.no_grad():
        return field(x[:, None])[:, 0].cpu().numpy()


def write(field, out, folder, **options) -> str:
    values = render(field, **options)
    target = Path(out) if out is not None else Path(folder) / f"render_{len(values)}.npy"
    np.save(target, values)
    return f"wrote {target} ({len(values)} samples)"


TOY = Kind(
    name="toy", help=ToyOptions.__doc__, options=ToyOptions, load=lambda o, seed, preset: ToySignal(o.source, o.points),
    summary=lambda m, o, s: f"{m['preset']} on {o.source}: PSNR {m['psnr']:.2f} dB",
    describe=lambda sig: f"toy {sig['source']}, {sig['shape'][0]} samples",
    render=render, write=write, samples=SampleSet("functions", {k: f"{k}, 1-D" for k in FUNCTIONS}), preset="siren",
)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(KINDS, "toy", TOY)  # the one registry line
    return TOY


def test_a_registered_kind_fits_renders_and_is_described_through_the_cli(toy, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["fit", "toy", "sample:sine", "--points", "48", "--steps", "150", "--out", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("siren on sample:sine: PSNR") and printed.strip().endswith(f"-> {out}")
    psnr = float(printed.split("PSNR ")[1].split(" dB")[0])
    assert psnr > 35  # a SIREN fits one sine to within a few per mille
    assert (out / "reconstruction.npy").exists() and (out / "field.json").exists()

    assert main(["render", str(out), "--size", "200"]) == 0
    values = np.load(out / "render_200.npy")
    x = (np.arange(200) + 0.5) / 200 * 2 - 1
    inside = np.abs(x) <= 1 - 1 / 48  # between the outermost samples: interpolation, not extrapolation
    error = np.abs(values - FUNCTIONS["sine"](x))[inside]
    assert np.median(error) < 0.02 and error.max() < 0.1  # SIREN's ω0 = 30 wiggles a little between samples
    assert "wrote" in capsys.readouterr().out

    with pytest.warns(UserWarning, match="--rate ignored for toy fields"):
        assert main(["render", str(out), "--rate", "8000", "--out", str(tmp_path / "r.npy")]) == 0
    assert (tmp_path / "r.npy").exists()

    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "toy sample:sine, 48 samples" in info and "PSNR" in info

    assert main(["samples"]) == 0
    assert "functions (inrkit fit toy):\n  sample:sine" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "fit toy" in capsys.readouterr().out


def test_a_registered_kind_gets_flags_help_and_one_sentence_errors(toy, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "toy", "--help"])
    help_text = capsys.readouterr().out
    for flag in ("--points", "--steps", "--preset", "--out", "--resume", "--batch-size"):
        assert flag in help_text
    assert "Samples across [-1, 1]." in help_text  # the options' docstrings are the help
    assert main(["fit", "toy", "sample:square", "--out", str(tmp_path / "bad")]) == 2
    assert "unknown function 'sample:square'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


def test_unknown_kind_is_one_sentence(capsys):
    assert main(["fit", "toy"]) == 2  # not registered outside the fixture
    assert "unknown signal kind 'toy' for fit" in capsys.readouterr().err


BUILT_IN = ("image", "audio", "video", "volume", "ct", "mri", "poisson", "sdf", "occupancy", "nerf")


def test_every_built_in_kind_is_complete():
    assert set(KINDS) >= set(BUILT_IN)
    for name in BUILT_IN:
        kind = KINDS[name]
        assert kind.name == name and kind.help and dataclasses.is_dataclass(kind.options)
        assert kind.options.__doc__ == kind.help  # the options' docstring is the command's help
        assert kind.render is not None and kind.write is not None and kind.samples is not None
        kind.options()  # every option has a default: `inrkit fit KIND` runs without arguments
