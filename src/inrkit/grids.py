"""Regular grids of pixel or voxel centres, and the one chunked evaluator (on a grid or at any points).

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

__all__ = ["grid_coordinates", "evaluate_grid", "evaluate_points"]


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
    ``fn: (C, d) -> (C, out_dim)`` (or ``(C,)`` when ``out_dim`` is 1).

    Examples:
        >>> evaluate_grid(lambda x: x.sum(-1), (2, 2), 1, chunk_size=3)[..., 0]
        array([[-1.,  0.],
               [ 0.,  1.]], dtype=float32)
    """
    d = len(shape)
    lo, hi = region if region is not None else ((-1.0,) * d, (1.0,) * d)
    axes = [_axis_centres(shape[a], lo[d - 1 - a], hi[d - 1 - a], device) for a in range(d)]
    strides = [int(np.prod(shape[a + 1 :])) for a in range(d)]

    def points(start: int, stop: int) -> torch.Tensor:
        flat = torch.arange(start, stop, device=device)  # (C,)
        cols = [axes[a][(flat // strides[a]) % shape[a]] for a in range(d)]
        return torch.stack(cols[::-1], dim=-1)  # (C, d) in (x, y, ...) order

    out = _evaluate_chunks(fn, points, int(np.prod(shape)), out_dim, chunk_size, convert, out_dtype)
    return out.reshape(*shape, out_dim)


def evaluate_points(
    fn: Callable[[torch.Tensor], torch.Tensor],
    points: np.ndarray | torch.Tensor,
    out_dim: int,
    chunk_size: int = 1 << 16,
    device=None,
    convert: Callable[[torch.Tensor], np.ndarray] | None = None,
    out_dtype=np.float32,
) -> np.ndarray:
    """Evaluate ``fn`` at arbitrary ``points: (..., d)``, ``chunk_size`` at a time: ``(..., out_dim)`` numpy.

    The points that are not on a grid (a mesh's active cells, query points, a coarse grid in
    float64). Each chunk is cast to float32 and moved to ``device`` on its own, and its result
    converted into a preallocated array, as :func:`evaluate_grid` does: peak memory is the
    points, the output and one chunk's activations. No gradients are recorded.
    ``fn: (C, d) -> (C, out_dim)`` (or ``(C,)`` when ``out_dim`` is 1).

    Examples:
        >>> pts = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
        >>> evaluate_points(lambda x: x.sum(-1), pts, 1, chunk_size=2)[:, 0]
        array([1., 5., 9.], dtype=float32)
    """
    lead = tuple(points.shape[:-1])
    flat = points.reshape(-1, points.shape[-1])  # (N, d)

    def chunk(start: int, stop: int) -> torch.Tensor:
        return torch.as_tensor(flat[start:stop], dtype=torch.float32, device=device)  # (C, d)

    out = _evaluate_chunks(fn, chunk, flat.shape[0], out_dim, chunk_size, convert, out_dtype)
    return out.reshape(*lead, out_dim)


def _evaluate_chunks(fn, points, total: int, out_dim: int, chunk_size: int, convert, out_dtype) -> np.ndarray:
    """The one chunked loop: ``fn(points(start, stop))`` for each chunk, written into ``(total, out_dim)``."""
    if chunk_size < 1:
        raise InrkitError(f"chunk size must be a positive number of points, got {chunk_size}")
    out = np.empty((total, out_dim), dtype=out_dtype)
    with torch.inference_mode():
        for start in range(0, total, chunk_size):
            stop = min(start + chunk_size, total)
            y = fn(points(start, stop)).reshape(stop - start, out_dim)  # (C, out_dim)
            out[start:stop] = convert(y) if convert else y.float().cpu().numpy()
    return out
