"""``inrkit fit image X --prior DIR``: a single-image fit that starts from a learned prior.

The field is the image's training pixels through the prior (:class:`~inrkit.superres.model.ImageField`):
before any step it is already the prior's reconstruction, and between pixels the prior's guess. The fit
loop then trains the whole model (encoder and decoder) on this one image's training pixels, as it trains
any field, and the checkpoint holds the model's weights and the conditioning pixels, so ``inrkit render``
samples it at any resolution. With ``--train-stride s`` the prior sees only the kept pixels, placed where
they lie in the image (:func:`stride_grid`); the held-out ones are scored as for every other field.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from pathlib import Path

import numpy as np
import torch

from ..errors import InrkitError
from .model import LIIF, ImageField, SRConfig

__all__ = ["PriorFieldConfig", "field_from_prior", "prior_optim", "stride_grid"]


def stride_grid(width: int, height: int, stride: int):
    """``(scale, shift)`` that map an image's coordinates (pixel centres in [-1, 1]) to those of its every
    ``stride``-th pixel (pixel ``i`` of the kept grid is pixel ``i * stride`` of the image), per axis.

    Examples:
        >>> stride_grid(8, 8, 1)
        ((1.0, 1.0), (0.0, 0.0))
        >>> stride_grid(8, 8, 2)                 # pixel 0's centre, -0.875, goes to the kept grid's -0.75
        ((1.0, 1.0), (0.125, 0.125))
    """
    scale, shift = [], []
    for n in (width, height):
        kept = -(-n // stride)  # ceil(n / stride)
        a = n / (stride * kept)
        scale.append(a)
        shift.append(a - 1 + (1 - 1 / stride) / kept)
    return tuple(scale), tuple(shift)


@dataclass
class PriorFieldConfig:
    """How a checkpoint rebuilds a field made of an image through a prior (``{"type": "prior", ...}``)."""

    sr: dict = dataclass_field(default_factory=lambda: SRConfig().to_dict())
    """The prior's :class:`~inrkit.superres.model.SRConfig`."""
    shape: list = dataclass_field(default_factory=lambda: [2, 2, 3])
    """The conditioning pixels' ``(h, w, C)``."""
    grid_scale: list = dataclass_field(default_factory=lambda: [1.0, 1.0])
    grid_shift: list = dataclass_field(default_factory=lambda: [0.0, 0.0])
    prior: str = ""
    """The folder the prior came from (a record; the weights are in the checkpoint)."""

    def to_dict(self) -> dict:
        return {"type": "prior", "sr": dict(self.sr), "shape": list(self.shape), "grid_scale": list(self.grid_scale),
                "grid_shift": list(self.grid_shift), "prior": self.prior}

    @classmethod
    def from_dict(cls, d: dict) -> "PriorFieldConfig":
        d = {k: v for k, v in d.items() if k != "type"}
        unknown = set(d) - {"sr", "shape", "grid_scale", "grid_shift", "prior"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} in a prior field's config")
        return cls(**d)

    def build(self, in_dim: int = 2, out_dim: int | None = None) -> ImageField:
        h, w, c = (int(v) for v in self.shape)
        if in_dim != 2 or (out_dim is not None and out_dim != c):
            raise ValueError(f"a prior field maps 2 coordinates to {c} channels, not {in_dim} to {out_dim}")
        f = ImageField(LIIF(SRConfig(**self.sr)), torch.zeros(h, w, c), grid=(self.grid_scale, self.grid_shift))
        f.config = self
        return f


def field_from_prior(folder, signal) -> ImageField:
    """The field of an image ``signal`` (its training pixels) through the prior in ``folder`` (``"default"``:
    the shipped model), ready to fit; its ``config.prior`` is the folder, resolved."""
    from .train import load_sr
    from .upscale import DEFAULT_MODEL

    if str(folder) == "default" and not Path(folder).exists():
        folder = DEFAULT_MODEL

    if getattr(signal, "kind", None) != "image" or not hasattr(signal, "train_stride"):
        raise InrkitError(f"--prior is a prior over images; it cannot start a {getattr(signal, 'kind', '?')} fit")
    model, _ = load_sr(folder)
    s = signal.train_stride
    low = np.ascontiguousarray(signal.image[::s, ::s])  # (h, w, C): what the fit may see
    if min(low.shape[:2]) < 2:
        raise InrkitError(f"the training pixels of {signal.width}x{signal.height} at stride {s} are too few "
                          "for the prior (at least 2x2)")
    grid = stride_grid(signal.width, signal.height, s)
    f = ImageField(model, torch.from_numpy(low), grid=grid).train()
    f.config = PriorFieldConfig(sr=model.config.to_dict(), shape=list(low.shape), grid_scale=list(grid[0]),
                                grid_shift=list(grid[1]), prior=str(Path(folder).resolve()))
    return f


def prior_optim():
    """Fine-tuning a prior on one image: Adam at a small rate, as fine-tuning goes (``--lr`` overrides)."""
    from ..train import OptimConfig

    return OptimConfig(lr=2e-5, schedule="none")
