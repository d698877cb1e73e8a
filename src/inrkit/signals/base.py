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
from pathlib import Path
from typing import Any

import torch

__all__ = ["Signal", "SampledSignal"]


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
