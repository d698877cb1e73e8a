"""The contract between a signal and the fit loop, the checkpoint and the CLI, declared in code.

A signal turns data into what a field is fitted to, and a fitted field back into data:

- class attributes: ``kind`` (its name in ``inrkit fit KIND`` and in ``field.json``), ``metric`` (the key
  of :meth:`Signal.evaluate` the progress bar and the history follow), ``output_name`` (the
  reconstruction's file name in the run folder), ``batch_unit`` (what a batch counts when the progress
  bar should show it per second, e.g. ``"rays"``; None: steps/s) and ``default_batch_size`` (what
  ``FitConfig(batch_size=0)`` takes; 0 for :class:`SampledSignal`: the loop's automatic policy);
- ``in_dim``, ``out_dim``: the field's input and output sizes; ``resolution``: samples across the
  finest axis the observations pin down (hash grids and band limits size themselves by it);
  ``grid_resolution``: where a grid's finest level goes (default: ``resolution``);
- :meth:`Signal.metadata` (what ``field.json`` keeps: enough to render without the data),
  :meth:`Signal.predict`, :meth:`Signal.evaluate`, :meth:`Signal.save`;
- :meth:`Signal.loss`: a scalar on a batch drawn from ``generator`` (a forward model: projections,
  k-space, derivatives, rays, distances). Signals observed as field values at coordinates derive from
  :class:`SampledSignal`, which provides ``loss`` (MSE on a random batch) from :meth:`~SampledSignal.train_data`;
  the loop recognises them and fits those samples directly, caching what does not change.

Examples:
    >>> from inrkit.signals.image import ImageSignal
    >>> issubclass(ImageSignal, SampledSignal), ImageSignal.metric, ImageSignal.default_batch_size
    (True, 'psnr', 0)
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

__all__ = ["Kind", "SampleSet", "Signal", "SampledSignal", "psnr_quality"]


class Signal(ABC):
    """What every signal provides (see the module's docstring)."""

    kind: str = ""
    metric: str = "psnr"
    output_name: str = "reconstruction.png"
    batch_unit: str | None = None
    default_batch_size: int = 1 << 14
    in_dim: int
    out_dim: int

    @property
    @abstractmethod
    def resolution(self) -> int:
        """Samples across the finest axis that the observations pin down."""

    @property
    def grid_resolution(self) -> int:
        """Where a grid encoding's finest level goes (default: :attr:`resolution`)."""
        return self.resolution

    @abstractmethod
    def metadata(self) -> dict:
        """What ``field.json`` keeps under ``signal``: ``kind``, ``source``, ``shape`` and whatever rendering
        the field later needs (value range, sample rate, cameras, transforms)."""

    @abstractmethod
    def predict(self, field, device=None) -> Any:
        """The field sampled where the signal is known (a prediction :meth:`evaluate` and :meth:`save` take)."""

    @abstractmethod
    def evaluate(self, pred, full: bool = True) -> dict:
        """Metrics of a prediction; ``full`` adds the expensive ones (SSIM, meshes, all test views)."""

    @abstractmethod
    def save(self, path: str | Path, pred) -> None:
        """Write the prediction at ``path`` (and its figures beside it)."""

    @abstractmethod
    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """The training loss on a batch of ``batch_size`` drawn from ``generator``."""


class SampledSignal(Signal):
    """A signal observed as field values at coordinates (image, sound, volume, clip): fitted by MSE.

    The fit loop fits :meth:`train_data` directly (full batch with the encoding's cache where it fits,
    else random batches); :meth:`loss` is the same objective on a random batch, for other loops.
    """

    default_batch_size = 0  # the loop's automatic policy (full batch where it fits)

    @abstractmethod
    def train_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Training coordinates ``(N, in_dim)`` in ``[-1, 1]`` and values ``(N, out_dim)``."""

    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """MSE of ``field`` on ``batch_size`` random training samples (all of them when there are fewer)."""
        coords, values = self.train_data()  # (N, in_dim), (N, out_dim)
        device = generator.device
        if batch_size < len(coords):
            idx = torch.randint(len(coords), (batch_size,), generator=generator, device=device).cpu()  # (B,)
            coords, values = coords[idx], values[idx]
        return torch.nn.functional.mse_loss(field(coords.to(device)), values.to(device))


@dataclass(frozen=True)
class SampleSet:
    """Built-in sources, used as ``sample:NAME``: ``items`` maps each name to a one-line description;
    ``title`` says what they are (``images``). Kinds that read the same sources share one set."""

    title: str
    items: Mapping[str, str]


def psnr_quality(metrics: dict) -> list[tuple[str, str]]:
    """``inrkit info``'s quality row: PSNR (and SSIM where measured), or nothing before the first evaluation."""
    if "psnr" not in metrics:
        return []
    ssim = f", SSIM {metrics['ssim']:.4f}" if metrics.get("ssim") is not None else ""
    return [("quality", f"PSNR {metrics['psnr']:.2f} dB{ssim}")]


@dataclass(frozen=True)
class Kind:
    """A kind of signal, as ``inrkit fit KIND`` and ``field.json`` name it: everything the command line,
    ``inrkit info`` and ``inrkit render`` need, from the module that defines the signal.

    Register one in :data:`inrkit.signals.KINDS` and every command knows it: ``inrkit fit NAME`` takes
    ``options``' fields as flags (``source``, if there is one, as the positional argument), beside the
    fit loop's (:class:`inrkit.FitConfig`) and the run's (:class:`inrkit.runs.RunOptions`).

    Examples:
        >>> from inrkit.signals import KINDS
        >>> KINDS["image"].preset, KINDS["image"].options.__name__
        ('ngp', 'ImageOptions')
    """

    name: str
    """The kind's name: ``inrkit fit NAME``, ``field.json``'s ``signal.kind``."""
    help: str
    """One line for ``inrkit --help`` and ``inrkit fit NAME --help``."""
    options: type
    """A dataclass of the source's options, with a docstring under each field; its defaults are the CLI's."""
    load: Callable[[Any, int, Any], Signal]
    """``load(options, seed, preset)``: the signal (raising :class:`inrkit.errors.InrkitError` for bad input);
    ``seed`` is the fit's (for a signal that draws a training pool), ``preset`` the :class:`inrkit.Preset` it
    is fitted with (a radiance field's ray sampler is part of its recipe)."""
    summary: Callable[[dict, Any, Signal], str]
    """``summary(metrics, options, signal)``: the line ``inrkit fit`` prints when the run ends."""
    describe: Callable[[dict], str]
    """``describe(signal_meta)``: what a checkpoint was fitted to, in the kind's words (``inrkit info``)."""
    render: Callable[..., Any] | None = None
    """``render(field, **options)``: the field sampled as the kind's data (arrays; :func:`inrkit.render`).
    Options are plain keywords (``size``, ``scale``, ``rate``, ...); the ones it takes are the ones it uses."""
    write: Callable[..., str] | None = None
    """``write(field, out, folder, **options)``: render and write a file (``out``, or a name in ``folder``),
    returning the line ``inrkit render`` prints. Takes the same options as :attr:`render`."""
    quality: Callable[[dict], list[tuple[str, str]]] = psnr_quality
    """``quality(metrics)``: ``inrkit info``'s rows for a run's metrics.json (default: PSNR and SSIM)."""
    samples: SampleSet | None = None
    """Its built-in sources (``inrkit samples``)."""
    preset: str | Callable[[torch.device], str] = "ngp"
    """The default preset, or a function of the training device choosing one."""
    fit_defaults: Mapping[str, Any] = field(default_factory=dict)
    """:class:`inrkit.FitConfig` fields whose command-line default differs for this kind (``batch_size``)."""
    optim_defaults: Mapping[str, Any] = field(default_factory=dict)
    """Optimiser settings the kind overrides in every preset unless given (``schedule``)."""

    @property
    def preset_flag(self) -> str:
        """``--preset``'s default as ``inrkit fit KIND --help`` shows it: the preset, or ``auto`` when the
        device chooses; giving it is the same as not giving ``--preset``."""
        return self.preset if isinstance(self.preset, str) else "auto"

    def default_preset(self, device: torch.device) -> str:
        """The preset a fit takes when none is named."""
        return self.preset(device) if callable(self.preset) else self.preset
