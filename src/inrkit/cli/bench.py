"""``inrkit bench images``, ``inrkit tune`` and ``inrkit ntk``: fits of whole folders, and the NTK figures."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

__all__ = ["BenchCodec", "BenchImages", "Ntk", "Tune"]


def fit_settings(c) -> dict:
    """The fit settings a folder command passes on (:func:`inrkit.bench.folder_fit_config` builds the config)."""
    return {"steps": c.steps, "time_budget": c.time_budget, "seed": c.seed, "device": c.device, "compile": c.compile}


@dataclass
class _FolderFits:
    """Options shared by the commands that fit every image of a folder."""

    folder: tyro.conf.Positional[Path]
    """Folder of images (PNG, JPEG, BMP, TIFF)."""
    train_stride: int = 2
    """Train on every S-th pixel; the others are held out and scored."""
    steps: int = 2000
    """Steps per fit."""
    time_budget: float = 0.0
    """Seconds of training per fit (0: none)."""
    size: Optional[str] = None
    """Resize images to WIDTHxHEIGHT first."""
    limit: int = 0
    """Use only the first N images (0: all)."""
    seed: int = 0
    """Seed of every random choice."""
    device: str = "auto"
    """auto, cpu or cuda."""
    compile: str = "auto"
    """torch.compile the network: auto, on or off."""


@dataclass
class BenchImages(_FolderFits):
    """Fit every image in a folder with every preset; write a table (markdown, JSON) and a bar chart."""

    presets: tuple[str, ...] = ()
    """Presets to compare (default: relu ffn-basic ffn-pe ffn-gauss siren ngp; with --protocol ffn or
    ffn-text, its four, of which this may pick some)."""
    protocol: str = "fast"
    """fast: --steps/--time-budget per image as given; ffn (natural images) or ffn-text: the
    Fourier-features paper's exact setup (relu, ffn-basic, ffn-pe, ffn-gauss; 2000 full-batch steps;
    512x512; every second pixel; its per-kind learning rates, σ and positional scale)."""
    sigma: Optional[float] = None
    """Scale σ of every Gaussian Fourier-feature preset (default: the protocol's, else the preset's 10)."""
    baselines: tuple[str, ...] = ()
    """Also score the training pixels upscaled without fitting: bilinear, bicubic (interpolation), liif (the
    learned super-resolution prior, see --sr-model)."""
    sr_model: Optional[Path] = None
    """The prior of the liif baseline: a folder from `inrkit sr train` (default: the model shipped with inrkit)."""
    out: Path = Path("runs/bench")
    """Output folder: bench.json, bench.md, bench.png (and bench.partial.json while the run is in progress)."""
    resume: bool = False
    """Keep the rows that an interrupted run with the same settings left in --out; fit only the rest."""

    def run(self) -> None:
        from ..bench import bench_folder, markdown_table

        result, written = bench_folder(
            self.folder, list(self.presets), self.protocol, self.sigma, tuple(self.baselines), self.out, self.resume,
            fit_settings(self), self.train_stride, self.size, self.limit, self.sr_model)
        print(markdown_table(result["summary"]), end="")
        print("wrote " + ", ".join(map(str, written)))


BENCH_KINDS = {"images": BenchImages}


@dataclass
class Tune(_FolderFits):
    """Pick the Gaussian Fourier-feature scale σ on a tuning folder by PSNR on held-out pixels."""

    sigmas: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 14.0, 20.0, 40.0)
    """Scales to try."""
    preset: str = "ffn-gauss"
    """Preset whose Gaussian features are tuned."""
    out: Path = Path("runs/tune")
    """Output folder: tune.json."""

    def run(self) -> None:
        from ..bench import tune_folder

        result, written = tune_folder(self.folder, list(self.sigmas), self.preset, self.out, fit_settings(self),
                                      self.train_stride, self.size, self.limit)
        print(f"best sigma {result['best']:g} (held-out PSNR {result['scores'][result['best']]:.2f} dB) -> {written}")


@dataclass
class Ntk:
    """Figures of the Fourier-features paper's NTK argument on a 1D signal (needs matplotlib)."""

    out: Path = Path("runs/ntk")
    """Output folder for the figures and ntk.json."""
    points: int = 64
    """Training points (the held-out points interleave them)."""
    width: int = 256
    """Width of the 3-layer ReLU network whose NTK is computed."""
    seed: int = 0
    """Seed of the signal, the features and the network."""

    def run(self) -> None:
        from ..errors import InrkitError

        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InrkitError("inrkit ntk draws figures with matplotlib: pip install 'inrkit[bench]'") from None
        from ..ntk import paper_figures

        if self.points < 4 or self.width < 1:
            raise InrkitError("points must be at least 4 and width positive")
        paper_figures(self.out, self.points, self.width, self.seed)
        print(f"wrote {self.out}/ntk_regression.png, ntk_spectra.png, ntk_kernels.png, ntk_2d.png, ntk.json")


@dataclass
class BenchCodec:
    """Compress every image in a folder at each rate; rate against distortion beside JPEG, WebP and AVIF."""

    folder: tyro.conf.Positional[Path]
    """Folder of images (PNG, JPEG, BMP, TIFF)."""
    bpp: tuple[float, ...] = (0.25, 0.5, 1.0)
    """Target rates of the field codec, in bits per pixel."""
    codecs: tuple[str, ...] = ("jpeg", "webp", "avif")
    """Classical codecs to compare (Pillow's), each over a sweep of its quality settings."""
    steps: Optional[int] = None
    """Optimisation steps per compressed image (default: inrkit compress's)."""
    limit: int = 0
    """Use only the first N images (0: all)."""
    seed: int = 0
    """Seed of every fit."""
    out: Path = Path("runs/bench-codec")
    """Output folder: metrics.json (every image at every rate), rd.md (the table), rd.png (the curves)."""

    def run(self) -> None:
        from ..codec.bench import bench_codec

        bench_codec(self.folder, self.out, self.bpp, self.codecs, self.steps, self.limit, self.seed)
        print((self.out / "rd.md").read_text(), end="")
        print(f"-> {self.out}")
