"""Regular grids of pixel or voxel centres, and the one chunked evaluator.

Convention: an array of shape ``(n_0, ..., n_{d-1})`` (e.g. ``(H, W)``) has
coordinates ordered like image axes ``(x, y, z)``, i.e. reversed array axes:
``x`` runs along the last array axis (columns). Index ``i`` of an axis of
size ``n`` maps to ``(i + 0.5) / n * 2 - 1`` over the region ``[-1, 1]``,
or to the same fraction of a sub-region ``[lo, hi]``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .errors import InrkitError

__all__ = ["grid_coordinates", "evaluate_grid"]


def _axis_centres(n: int, lo: float, hi: float, device=None) -> torch.Tensor:
    return lo + (torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n * (hi - lo)


def grid_coordinates(
    shape: Sequence[int],
    region: tuple[Sequence[float], Sequence[float]] | None = None,
    device=None,
) -> torch.Tensor:
    """Centres of a grid of array ``shape``: ``(*shape, d)`` with coordinates ``(x, y, ...)``.

    ``region = (lo, hi)``, each ``(d,)`` in coordinate order; default ``[-1, 1]^d``.
    """
    d = len(shape)
    lo, hi = region if region is not None else ((-1.0,) * d, (1.0,) * d)
    # Coordinate k runs along array axis d - 1 - k.
    axes = [_axis_centres(shape[a], lo[d - 1 - a], hi[d - 1 - a], device) for a in range(d)]
    mesh = torch.meshgrid(*axes, indexing="ij")  # d tensors of `shape`
    return torch.stack(mesh[::-1], dim=-1)  # (*shape, d)


def evaluate_grid(
    fn: Callable[[torch.Tensor], torch.Tensor],
    shape: Sequence[int],
    out_dim: int,
    region: tuple[Sequence[float], Sequence[float]] | None = None,
    chunk_size: int = 1 << 16,
    device=None,
    convert: Callable[[torch.Tensor], np.ndarray] | None = None,
    out_dtype=np.float32,
) -> np.ndarray:
    """Evaluate ``fn`` over a grid, ``chunk_size`` points at a time: ``(*shape, out_dim)``.

    Coordinates are made per chunk and each chunk's result is converted (by
    ``convert``, e.g. to ``uint8``) straight into a preallocated array, so peak
    memory is the output plus one chunk's activations, whatever the grid size.
    """
    if chunk_size < 1:
        raise InrkitError(f"chunk size must be a positive number of points, got {chunk_size}")
    d = len(shape)
    lo, hi = region if region is not None else ((-1.0,) * d, (1.0,) * d)
    axes = [_axis_centres(shape[a], lo[d - 1 - a], hi[d - 1 - a], device) for a in range(d)]
    total = int(np.prod(shape))
    out = np.empty((total, out_dim), dtype=out_dtype)
    strides = [int(np.prod(shape[a + 1 :])) for a in range(d)]
    with torch.inference_mode():
        for start in range(0, total, chunk_size):
            flat = torch.arange(start, min(start + chunk_size, total), device=device)  # (C,)
            cols = [axes[a][(flat // strides[a]) % shape[a]] for a in range(d)]
            x = torch.stack(cols[::-1], dim=-1)  # (C, d) in (x, y, ...) order
            y = fn(x)  # (C, out_dim)
            out[start : start + len(flat)] = convert(y) if convert else y.float().cpu().numpy()
    return out.reshape(*shape, out_dim)
