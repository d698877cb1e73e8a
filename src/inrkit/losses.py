"""The losses signals fit through: pure functions of tensors, each returning a scalar.

Every function takes predictions and targets with any leading batch dimensions
and averages over every element, so a loss does not grow with the batch size.
Signals pick theirs (field values: :func:`mse`; BACON's scales:
:func:`multiscale_mse`; shapes: :func:`l1`, :func:`bce_logits`,
:func:`siren_sdf_loss`; CT and MRI regularisers: :func:`total_variation`).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
import torch.nn.functional as F

__all__ = ["mse", "multiscale_mse", "l1", "bce_logits", "eikonal", "siren_sdf_loss", "total_variation"]


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error ``mean |pred - target|²`` over every element; ``pred, target: (..., C)``.

    Complex tensors (k-space) use the squared magnitude ``re² + im²``.

    Examples:
        >>> mse(torch.tensor([[0.0, 1.0], [2.0, 2.0]]), torch.tensor([[0.0, 0.0], [0.0, 0.0]]))
        tensor(2.2500)
        >>> mse(torch.tensor([1 + 1j]), torch.tensor([0j]))
        tensor(2.)
    """
    if pred.is_complex() or target.is_complex():
        diff = pred - target
        return (diff.real**2 + diff.imag**2).mean()
    return F.mse_loss(pred, target)


def multiscale_mse(preds: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """The mean over scales of :func:`mse`: ``(1 / K) Σ_k mse(pred_k, target)``.

    BACON (Lindell et al. 2022) supervises every output scale with the full signal;
    ``preds``: ``K`` tensors shaped like ``target``.

    Examples:
        >>> multiscale_mse([torch.zeros(2), torch.full((2,), 2.0)], torch.ones(2))
        tensor(1.)
    """
    return sum(mse(p, target) for p in preds) / len(preds)


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error ``mean |pred - target|``; e.g. regression on true signed distances.

    Examples:
        >>> l1(torch.tensor([0.5, -1.0]), torch.tensor([0.0, 0.0]))
        tensor(0.7500)
    """
    return (pred - target).abs().mean()


def bce_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of logits against labels in [0, 1] (occupancy: 1 inside):
    ``mean(-y log σ(z) - (1 - y) log(1 - σ(z)))``, computed stably from ``z``.

    Examples:
        >>> bce_logits(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 1.0]))  # log 2
        tensor(0.6931)
    """
    return F.binary_cross_entropy_with_logits(logits, labels)


def eikonal(grad: torch.Tensor) -> torch.Tensor:
    """Eikonal penalty ``mean | ‖∇f‖ - 1 |`` of gradients ``grad: (..., d)``: 0 for a true distance.

    Examples:
        >>> eikonal(torch.tensor([[3.0, 4.0], [0.0, 1.0]]))
        tensor(2.)
    """
    return (grad.norm(dim=-1) - 1).abs().mean()


def siren_sdf_loss(
    f: torch.Tensor,
    grad: torch.Tensor,
    normals: torch.Tensor,
    on_surface: torch.Tensor,
    surface: float = 3e3,
    normal: float = 1e2,
    off_surface: float = 1e2,
    eikonal_weight: float = 5e1,
    alpha: float = 1e2,
) -> torch.Tensor:
    """The SIREN paper's point-cloud SDF loss (Sitzmann et al. 2020, Sec. 4.2, its ``sdf_loss``).

    ``f: (B,)`` the field at ``B`` points, ``grad: (B, 3)`` its gradient there, ``normals: (B, 3)``
    the surface normals (any value off the surface), ``on_surface: (B,)`` 1 for surface points and
    0 for free-space points. With ``s = on_surface`` and means over all ``B`` points::

        surface · mean(s |f|) + normal · mean(s (1 - cos(∇f, n)))
        + off_surface · mean((1 - s) exp(-α |f|)) + eikonal_weight · mean | ‖∇f‖ - 1 |

    Default weights are the paper's (3e3, 1e2, 1e2, 5e1, α = 100).

    Examples:
        >>> f = torch.tensor([0.0, 1.0])                 # on the surface; one unit away
        >>> g = torch.tensor([[0.0, 0, 1], [0, 0, 1]])   # unit gradients along the normal
        >>> siren_sdf_loss(f, g, torch.tensor([[0.0, 0, 1], [0, 0, 0]]), torch.tensor([1.0, 0.0]), alpha=1.0)
        tensor(18.3940)
    """
    cos = F.cosine_similarity(grad, normals, dim=-1)  # (B,)
    return (
        surface * (on_surface * f.abs()).mean()
        + normal * (on_surface * (1 - cos)).mean()
        + off_surface * ((1 - on_surface) * torch.exp(-alpha * f.abs())).mean()
        + eikonal_weight * eikonal(grad)
    )


def total_variation(differences: Iterable[torch.Tensor]) -> torch.Tensor:
    """Anisotropic total variation from forward differences along each axis: ``Σ_a mean |Δ_a f|``.

    ``differences``: one tensor per axis, e.g. ``values.diff(dim=a)`` on a grid, or
    ``f(x + h e_a) - f(x)`` at random points ``x``.

    Examples:
        >>> img = torch.tensor([[0.0, 1.0], [0.0, 3.0]])
        >>> total_variation(img.diff(dim=a) for a in (0, 1))  # rows: (0 + 2) / 2, columns: (1 + 3) / 2
        tensor(3.)
    """
    return sum(d.abs().mean() for d in differences)
