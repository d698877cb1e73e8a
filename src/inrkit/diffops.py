"""Differential operators of fields by automatic differentiation.

Each operator takes the output ``y`` of a field evaluated at ``x`` (with
``x.requires_grad``) and differentiates it with respect to ``x``. A field maps
each point independently (``y[n]`` depends on ``x[n]`` only), so the gradient of
``y.sum()`` with respect to ``x`` holds every point's own derivative; that is
what makes one backward pass per output component enough.

Shapes: ``x: (..., d)``; a scalar field ``y: (..., 1)``; a vector field
``v: (..., m)``. Derivatives are with respect to the field's own coordinates (the
``[-1, 1]`` units the signals use), not pixels. ``create_graph=True`` (the
default) keeps the result differentiable, so it can sit inside a training loss
(the Poisson signal fits a field through its gradient or Laplacian).

Examples:
    A paraboloid ``f(x, y) = x² + 3y²``, whose gradient is ``(2x, 6y)`` and Laplacian 8:

    >>> field = lambda p: (p[:, :1] ** 2 + 3 * p[:, 1:] ** 2)   # (N, 2) -> (N, 1)
    >>> x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    >>> y = field(x)                                           # (1, 1)
    >>> gradient(y, x).tolist()                                # (1, 2)
    [[2.0, 12.0]]
    >>> laplacian(y, x).tolist()                               # (1, 1)
    [[8.0]]
    >>> field_gradient(field, torch.tensor([[0.5, -1.0]])).tolist()   # evaluates the field for you
    [[1.0, -6.0]]
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["gradient", "jacobian", "divergence", "laplacian", "field_gradient", "field_laplacian"]


def _check(y: torch.Tensor, x: torch.Tensor) -> None:
    if not x.requires_grad:
        raise ValueError("x must require grad (x.requires_grad_()) before the field is evaluated on it")
    if y.shape[:-1] != x.shape[:-1]:
        raise ValueError(f"y {tuple(y.shape)} and x {tuple(x.shape)} must share their leading (point) dimensions")


def gradient(y: torch.Tensor, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """Gradient of a scalar field: ``y: (..., 1)`` (or ``(...,)``), ``x: (..., d)`` -> ``(..., d)``."""
    if y.dim() == x.dim() - 1:
        y = y.unsqueeze(-1)  # (..., 1)
    _check(y, x)
    if y.shape[-1] != 1:
        raise ValueError(f"gradient needs a scalar field (..., 1), got {tuple(y.shape)}; use jacobian")
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=create_graph)
    return g


def jacobian(y: torch.Tensor, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """Jacobian of a vector field: ``y: (..., m)``, ``x: (..., d)`` -> ``(..., m, d)``, ``J[..., i, j] = ∂y_i/∂x_j``.

    One backward pass per output component ``i``.
    """
    _check(y, x)
    rows = [
        torch.autograd.grad(y[..., i].sum(), x, create_graph=create_graph, retain_graph=True)[0]  # (..., d)
        for i in range(y.shape[-1])
    ]
    return torch.stack(rows, dim=-2)  # (..., m, d)


def divergence(v: torch.Tensor, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """Divergence of a vector field with as many components as coordinates: ``v, x: (..., d)`` -> ``(..., 1)``.

    ``Σ_i ∂v_i/∂x_i``: one backward pass per component.
    """
    _check(v, x)
    if v.shape[-1] != x.shape[-1]:
        raise ValueError(f"divergence needs v with as many components as x has coordinates, got "
                         f"{tuple(v.shape)} and {tuple(x.shape)}")
    div = torch.zeros_like(v[..., :1])  # (..., 1)
    for i in range(v.shape[-1]):
        (g,) = torch.autograd.grad(v[..., i].sum(), x, create_graph=create_graph, retain_graph=True)  # (..., d)
        div = div + g[..., i : i + 1]
    return div


def laplacian(y: torch.Tensor, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """Laplacian of a scalar field: ``y: (..., 1)``, ``x: (..., d)`` -> ``(..., 1)``, ``Σ_i ∂²y/∂x_i²``.

    The divergence of the gradient: d + 1 backward passes.
    """
    g = gradient(y, x, create_graph=True)  # (..., d): the second derivative needs its graph
    return divergence(g, x, create_graph=create_graph)


def _with_grad(x: torch.Tensor) -> torch.Tensor:
    return x if x.requires_grad else x.detach().requires_grad_(True)


def field_gradient(field: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, create_graph: bool = True):
    """Evaluate a scalar ``field`` at ``x: (..., d)`` and return its gradient there, ``(..., d)``."""
    x = _with_grad(x)
    return gradient(field(x), x, create_graph)


def field_laplacian(field: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, create_graph: bool = True):
    """Evaluate a scalar ``field`` at ``x: (..., d)`` and return its Laplacian there, ``(..., 1)``."""
    x = _with_grad(x)
    return laplacian(field(x), x, create_graph)
