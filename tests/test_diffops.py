"""Differential operators by autograd, against closed forms and finite differences."""
import pytest
import torch

import inrkit
from inrkit import diffops


def _points(n=64, d=2, seed=0):
    return (torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1)


def test_gradient_and_laplacian_closed_form():
    x = _points().requires_grad_(True)
    a, b = x[:, :1], x[:, 1:]
    y = torch.sin(2 * a) * b**2 + a**3  # (N, 1)
    g = diffops.gradient(y, x)
    assert g.shape == (64, 2)
    assert torch.allclose(g[:, :1], 2 * torch.cos(2 * a) * b**2 + 3 * a**2)
    assert torch.allclose(g[:, 1:], 2 * torch.sin(2 * a) * b)
    lap = diffops.laplacian(y, x)
    assert lap.shape == (64, 1)
    assert torch.allclose(lap, -4 * torch.sin(2 * a) * b**2 + 6 * a + 2 * torch.sin(2 * a))


def test_divergence_and_jacobian_closed_form_3d():
    x = _points(32, 3).requires_grad_(True)
    u, v, w = x.unbind(-1)
    field = torch.stack([u**2 * v, torch.exp(v) * w, torch.sin(w) + u], dim=-1)  # (N, 3)
    div = diffops.divergence(field, x)
    assert div.shape == (32, 1)
    assert torch.allclose(div[:, 0], 2 * u * v + torch.exp(v) * w + torch.cos(w))
    jac = diffops.jacobian(field, x)
    assert jac.shape == (32, 3, 3)
    expected = torch.stack([
        torch.stack([2 * u * v, u**2, torch.zeros_like(u)], -1),
        torch.stack([torch.zeros_like(u), torch.exp(v) * w, torch.exp(v)], -1),
        torch.stack([torch.ones_like(u), torch.zeros_like(u), torch.cos(w)], -1),
    ], dim=-2)
    assert torch.allclose(jac, expected)


def test_leading_batch_dimensions():
    x = _points(24, 2).reshape(4, 6, 2).requires_grad_(True)
    y = (x**2).sum(-1, keepdim=True)  # (4, 6, 1)
    assert torch.allclose(diffops.gradient(y, x), 2 * x)
    assert torch.allclose(diffops.laplacian(y, x), torch.full((4, 6, 1), 4.0, dtype=torch.float64))


def test_any_field_against_finite_differences():
    torch.manual_seed(0)
    field = inrkit.Field(inrkit.Identity(2), inrkit.Siren(2, 1, width=32, depth=3, first_omega=5.0)).double()
    x0 = _points(16, 2, seed=3)
    g = diffops.field_gradient(field, x0)
    lap = diffops.field_laplacian(field, x0)
    h = 1e-4
    eye = torch.eye(2, dtype=torch.float64) * h
    with torch.no_grad():
        fd_g = torch.cat([(field(x0 + eye[i]) - field(x0 - eye[i])) / (2 * h) for i in range(2)], dim=-1)
        h2 = 1e-3
        e2 = torch.eye(2, dtype=torch.float64) * h2
        fd_lap = sum((field(x0 + e2[i]) - 2 * field(x0) + field(x0 - e2[i])) / h2**2 for i in range(2))
    assert torch.allclose(g, fd_g, atol=1e-6)
    assert torch.allclose(lap, fd_lap, rtol=1e-3, atol=1e-3)
    # The result is differentiable: a loss on it reaches every weight (what the Poisson fit needs;
    # the output bias alone cannot change a derivative).
    lap.square().mean().backward()
    for name, p in field.named_parameters():
        if name != "network.out.bias":
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_errors():
    x = _points()
    with pytest.raises(ValueError, match="requires_grad|require grad"):
        diffops.gradient(x[:, :1] * 2, x)
    x.requires_grad_(True)
    with pytest.raises(ValueError, match="scalar"):
        diffops.gradient(x * 2, x)
    with pytest.raises(ValueError, match="components"):
        diffops.divergence(x[:, :1] * 2, x)
