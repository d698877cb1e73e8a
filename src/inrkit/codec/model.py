"""The codec's field: latent grids at several resolutions, a synthesis network, and the latents' entropy model.

An image of ``H x W`` pixels is represented by ``levels`` grids of one latent each, level ``i`` of
``ceil(H / 2^i) x ceil(W / 2^i)`` cells, all spanning the whole image. The value at a point is the
bilinear interpolation of every grid there, through a small per-point network (the synthesis) to the
colour: a continuous function of the position, so the image decodes at any size (Ladune et al.,
COOL-CHIC, ICCV 2023, and C3, Kim et al., CVPR 2024, code images this way; they add a 3x3 filter
stage and an autoregressive context, which this codec replaces with a per-point synthesis and a
two-pass context that decodes in parallel).

The latents are integers in the file. Their entropy model predicts, for each latent, the mean and scale
of a Laplace distribution from what the decoder already has: the coarser level (a 3x3 neighbourhood
of the parent cell) and, in a checkerboard's second pass, the four first-pass neighbours (He et al.,
"Checkerboard context model", CVPR 2021). A level thus decodes in two parallel passes, coarsest first.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InrkitError

__all__ = ["CodecConfig", "CodecField", "grid_shapes", "laplace_bits", "LATENT_MAX", "SCALE_MIN", "SCALE_MAX"]

LATENT_MAX = 255
"""Latents are integers in ``[-LATENT_MAX, LATENT_MAX]``."""
SCALE_MIN, SCALE_MAX = 0.05, 64.0
"""The entropy model's Laplace scales are clamped to this range (and indexed in a table of it in the file)."""
UPSAMPLING = ("bilinear", "bicubic")
"""How the latent grids may be interpolated (the file records the index)."""
_CONTEXT_IN = 9 + 4 + 1  # parent 3x3, four checkerboard neighbours, first-pass flag


@dataclass
class CodecConfig:
    """The architecture of one compressed image (recorded in its file)."""

    levels: int = 7
    """Latent grids, each half the resolution of the one before (the first at the image's)."""
    width: int = 24
    """Width of the synthesis network's hidden layers."""
    layers: int = 2
    """Hidden layers of the synthesis network."""
    context: int = 16
    """Width of the entropy model's two hidden layers."""
    upsampling: str = "bilinear"
    """How the grids are read between their cells: bilinear or bicubic (smoother, a little slower)."""

    def __post_init__(self):
        for name, hi in (("levels", 12), ("width", 255), ("layers", 8), ("context", 255)):
            v = getattr(self, name)
            if not isinstance(v, int) or not 1 <= v <= hi:
                raise InrkitError(f"{name} must be a whole number from 1 to {hi}, got {v!r}")
        if self.upsampling not in UPSAMPLING:
            raise InrkitError(f"upsampling must be one of {', '.join(UPSAMPLING)}, got {self.upsampling!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def grid_shapes(height: int, width: int, levels: int) -> list[tuple[int, int]]:
    """The ``(rows, columns)`` of each latent grid, finest first.

    >>> grid_shapes(512, 768, 3)
    [(512, 768), (256, 384), (128, 192)]
    >>> grid_shapes(5, 3, 3)
    [(5, 3), (3, 2), (2, 1)]
    """
    return [(math.ceil(height / 2**i), math.ceil(width / 2**i)) for i in range(levels)]


def _gather(grid: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, offsets) -> torch.Tensor:
    """``(n, len(offsets))``: the values of ``grid (1, 1, h, w)`` at ``(ys + dy, xs + dx)`` (zero outside it);
    memory in proportion to ``n``, not to the grid."""
    _, _, h, w = grid.shape
    flat = F.pad(grid, (1, 1, 1, 1)).reshape(-1)
    return torch.stack([flat[(ys + 1 + dy) * (w + 2) + xs + 1 + dx] for dy, dx in offsets], -1)


def _mlp(dims: list[int]) -> nn.ModuleList:
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))


def _run(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    for i, layer in enumerate(layers):
        x = layer(x)
        if i < len(layers) - 1:
            x = F.relu(x)
    return x


def laplace_bits(y: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Bits of integer-binned values ``y`` under Laplace(``mean``, ``scale``): ``-log2 P([y - 1/2, y + 1/2])``.

    >>> round(float(laplace_bits(torch.tensor(0.), torch.tensor(0.), torch.tensor(1.))), 4)  # P = 1 - e^-0.5
    1.3457
    """
    upper, lower = y + 0.5 - mean, y - 0.5 - mean

    def cdf_tail(t):  # sign(t) (1 - exp(-|t| / b)), stable: expm1
        return -torch.sign(t) * torch.expm1(-t.abs() / scale)

    p = 0.5 * (cdf_tail(upper) - cdf_tail(lower))
    return -torch.log2(p.clamp_min(2.0**-24))


class CodecField(nn.Module):
    """Latent grids, synthesis and entropy model of one image; ``forward(x)`` is the field (``x`` in ``[-1, 1]^2``).

    ``meta`` describes it like a checkpoint's (a ``signal`` of kind ``image``), so :func:`inrkit.render` samples it
    at any size and region.
    """

    def __init__(self, config: CodecConfig, height: int, width: int, channels: int = 3):
        super().__init__()
        if height < 1 or width < 1 or channels not in (1, 3):
            raise InrkitError(f"cannot code a {height}x{width} image of {channels} channels")
        self.config, self.height, self.width, self.channels = config, height, width, channels
        self.latents = nn.ParameterList(nn.Parameter(torch.zeros(1, 1, h, w))
                                        for h, w in grid_shapes(height, width, config.levels))
        self.synthesis = _mlp([config.levels, *[config.width] * config.layers, channels])
        self.entropy = _mlp([_CONTEXT_IN, config.context, config.context, 2])
        with torch.no_grad():  # start every latent's prediction at mean 0, scale 1
            self.entropy[-1].weight.mul_(0.1)
            self.entropy[-1].bias.zero_()
        self.meta = {"signal": {"kind": "image", "shape": [height, width, channels], "value_range": [0.0, 1.0],
                                "source": "a compressed image (.inrz)"}, "field": {"type": "codec", **config.to_dict()}}

    # ---- the field ----
    def features(self, x: torch.Tensor, latents=None) -> torch.Tensor:
        """``(N, 2)`` points -> ``(N, levels)`` interpolated latents (bilinear or bicubic, clamped at the border)."""
        grid = x.reshape(1, 1, -1, 2).to(self.latents[0].dtype)
        grids = self.latents if latents is None else latents
        mode = self.config.upsampling
        return torch.cat([F.grid_sample(g, grid, mode=mode, padding_mode="border", align_corners=False)
                          .reshape(1, -1) for g in grids]).T

    def forward(self, x: torch.Tensor, latents=None) -> torch.Tensor:
        return _run(self.synthesis, self.features(x, latents))

    def for_size(self, size, region=None):  # the render loop's hook; nothing depends on the output grid
        return self

    # ---- the entropy model ----
    def context(self, latent: torch.Tensor, parent: torch.Tensor | None, index: torch.Tensor) -> torch.Tensor:
        """``(n, 14)`` contexts of the latents at flat ``index`` of a level: the parent's 3x3 neighbourhood
        (zero padded) and, for second-pass cells, the four first-pass neighbours (zero for first-pass cells)."""
        _, _, h, w = latent.shape
        ys, xs = index // w, index % w
        first = ((ys + xs) % 2 == 0).to(latent.dtype)
        cross = _gather(latent, ys, xs, ((-1, 0), (0, -1), (0, 1), (1, 0)))  # up, left, right, down
        if parent is None:
            up = latent.new_zeros(len(index), 9)
        else:
            up = _gather(parent, ys // 2, xs // 2, [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        return torch.cat([up, cross * (1 - first[:, None]), first[:, None]], 1)

    def distribution(self, latent: torch.Tensor, parent: torch.Tensor | None, index: torch.Tensor):
        """``(mean, scale)``, each ``(n,)``, of the latents at flat ``index`` of a level, given their context."""
        out = _run(self.entropy, self.context(latent, parent, index))
        return out[:, 0], out[:, 1].exp().clamp(SCALE_MIN, SCALE_MAX)

    def rate_bits(self, latents, sample: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Bits of (integer or noisy) ``latents`` under the entropy model; with ``sample``, an unbiased estimate
        from at most that many random latents of each level."""
        total = 0.0
        for i in reversed(range(len(latents))):
            parent = latents[i + 1] if i + 1 < len(latents) else None
            n = latents[i].numel()
            if sample and n > sample:
                index = torch.randint(n, (sample,), generator=generator, device=latents[i].device)
            else:
                index = torch.arange(n, device=latents[i].device)
            mean, scale = self.distribution(latents[i], parent, index)
            total = total + laplace_bits(latents[i].reshape(-1)[index], mean, scale).sum() * (n / len(index))
        return total
