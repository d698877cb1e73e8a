"""inrkit.grids: pixel/voxel centres and the one chunked evaluator (on a grid or at any points)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from inrkit.grids import evaluate_grid, evaluate_points, grid_coordinates


def _hand(shape, lo=None, hi=None):
    """Centres by the documented formula, looping over array indices: ``(*shape, d)`` float64.

    Array axis ``a`` carries coordinate ``d - 1 - a`` (x along the last axis); index ``i`` of an axis of size
    ``n`` maps to ``lo + (i + 0.5) / n * (hi - lo)``.
    """
    d = len(shape)
    lo = lo if lo is not None else (-1.0,) * d
    hi = hi if hi is not None else (1.0,) * d
    out = np.empty((*shape, d))
    for idx in itertools.product(*(range(n) for n in shape)):
        for k in range(d):
            a = d - 1 - k
            out[idx + (k,)] = lo[k] + (idx[a] + 0.5) / shape[a] * (hi[k] - lo[k])
    return out


# --------------------------------------------------------------------------- grid_coordinates


def test_grid_coordinates_2x3_literal():
    g = grid_coordinates((2, 3))
    assert g.shape == (2, 3, 2) and g.dtype == torch.float32
    # x runs along columns (the last array axis), y along rows.
    expected = [[[-2 / 3, -0.5], [0.0, -0.5], [2 / 3, -0.5]],
                [[-2 / 3, 0.5], [0.0, 0.5], [2 / 3, 0.5]]]
    np.testing.assert_allclose(g.numpy(), expected, atol=1e-7)


@pytest.mark.parametrize("shape", [(1,), (5,), (2, 3), (3, 2), (4, 1), (2, 3, 4), (1, 2, 5)])
def test_grid_coordinates_match_the_hand_formula(shape):
    g = grid_coordinates(shape)
    assert g.shape == (*shape, len(shape))
    np.testing.assert_allclose(g.numpy(), _hand(shape), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "shape,lo,hi",
    [
        ((2, 3), (0.0, -0.5), (1.0, 0.5)),
        ((3, 2), (-1.0, 0.2), (-0.2, 1.0)),
        ((2, 3, 4), (0.0, -1.0, 0.5), (1.0, 0.0, 1.0)),
    ],
)
def test_grid_coordinates_region_is_in_coordinate_order(shape, lo, hi):
    g = grid_coordinates(shape, region=(lo, hi))
    np.testing.assert_allclose(g.numpy(), _hand(shape, lo, hi), rtol=0, atol=1e-6)
    # Every coordinate k stays inside [lo_k, hi_k], strictly (centres, not edges).
    for k in range(len(shape)):
        assert (g[..., k] > lo[k]).all() and (g[..., k] < hi[k]).all()


def test_grid_coordinates_3d_axis_order():
    d, h, w = 2, 3, 4
    g = grid_coordinates((d, h, w))
    k, i, j = 1, 2, 0
    np.testing.assert_allclose(
        g[k, i, j].numpy(), [(j + 0.5) / w * 2 - 1, (i + 0.5) / h * 2 - 1, (k + 0.5) / d * 2 - 1], atol=1e-7
    )
    # x varies only along the last axis, z only along the first.
    assert torch.equal(g[0, 0, :, 0], g[1, 2, :, 0])
    assert torch.equal(g[:, 0, 0, 2], g[:, 2, 3, 2])


def test_grid_coordinates_default_region_is_minus_one_to_one():
    assert torch.equal(grid_coordinates((3, 5)), grid_coordinates((3, 5), region=((-1.0, -1.0), (1.0, 1.0))))


def test_grid_coordinates_are_symmetric_about_the_origin():
    g = grid_coordinates((4, 6))
    torch.testing.assert_close(g.flip(0).flip(1), -g, rtol=0, atol=1e-7)


# --------------------------------------------------------------------------- evaluate_grid


def _poly(x: torch.Tensor) -> torch.Tensor:
    """A fixed non-separable function ``(N, d) -> (N, 3)``: distinct values everywhere."""
    s = x.sum(-1, keepdim=True)
    p = (x * torch.arange(1, x.shape[-1] + 1, dtype=x.dtype)).sum(-1, keepdim=True)
    return torch.cat([s, p * p, torch.sin(3 * p) + x[:, :1] * x[:, -1:]], -1)


class Recorder:
    def __init__(self, fn=_poly):
        self.fn, self.sizes, self.inputs = fn, [], []

    def __call__(self, x):
        assert x.ndim == 2
        self.sizes.append(x.shape[0])
        self.inputs.append(x.clone())
        return self.fn(x)


@pytest.mark.parametrize("shape", [(7,), (2, 3), (5, 4), (2, 3, 4)])
@pytest.mark.parametrize("region", [False, True])
def test_evaluate_grid_equals_direct_evaluation(shape, region):
    d = len(shape)
    reg = (tuple(np.linspace(-0.5, 0.0, d)), tuple(np.linspace(0.3, 1.0, d))) if region else None
    out = evaluate_grid(_poly, shape, 3, region=reg)
    assert out.shape == (*shape, 3) and out.dtype == np.float32
    x = torch.tensor(_hand(shape, *(reg or (None, None))), dtype=torch.float32).reshape(-1, d)
    expected = _poly(x).reshape(*shape, 3).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    # And equals the function on grid_coordinates, the same region.
    gc = grid_coordinates(shape, region=reg).reshape(-1, d)
    np.testing.assert_allclose(out, _poly(gc).reshape(*shape, 3).numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (13,)])
def test_evaluate_grid_is_independent_of_chunk_size(shape):
    ref = evaluate_grid(_poly, shape, 3, chunk_size=1 << 16)
    for chunk in (1, 2, 7, int(np.prod(shape)) - 1, int(np.prod(shape)), 1000):
        np.testing.assert_allclose(evaluate_grid(_poly, shape, 3, chunk_size=chunk), ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("chunk", [1, 7, 24, 100])
def test_evaluate_grid_never_exceeds_chunk_size_and_visits_each_point_once(chunk):
    shape = (2, 3, 4)
    rec = Recorder()
    evaluate_grid(rec, shape, 3, chunk_size=chunk)
    total = 24
    assert all(0 < s <= chunk for s in rec.sizes), rec.sizes
    assert sum(rec.sizes) == total
    assert len(rec.sizes) == -(-total // chunk)  # ceil: every call but the last is full
    assert all(s == chunk for s in rec.sizes[:-1])
    # The chunks, concatenated, are the grid's points in array (C) order.
    seen = torch.cat(rec.inputs)
    torch.testing.assert_close(seen, grid_coordinates(shape).reshape(-1, 3), rtol=0, atol=1e-7)


def test_evaluate_grid_convert_and_out_dtype():
    def to_uint8(y):
        return (y.clamp(0, 1) * 200).round().to(torch.uint8).numpy()  # no .5 ties at these centres

    shape = (3, 5)
    fn = lambda x: (x + 1) / 2  # noqa: E731  (x, y) in (0, 1)
    out = evaluate_grid(fn, shape, 2, chunk_size=4, convert=to_uint8, out_dtype=np.uint8)
    assert out.dtype == np.uint8 and out.shape == (3, 5, 2)
    hand = np.round((_hand(shape) + 1) / 2 * 200).astype(np.uint8)
    assert np.array_equal(out, hand)


def test_evaluate_grid_runs_without_autograd():
    w = torch.ones(2, 1, requires_grad=True)
    seen = []

    def fn(x):
        y = x @ w
        seen.append(y.requires_grad)
        return y

    out = evaluate_grid(fn, (2, 2), 1)
    assert seen and not any(seen)
    np.testing.assert_allclose(out[..., 0], _hand((2, 2)).sum(-1), atol=1e-6)


def test_evaluate_grid_accepts_a_field():
    import inrkit

    torch.manual_seed(0)
    f = inrkit.FieldConfig(inrkit.PositionalConfig(n_frequencies=2),
                           inrkit.MLPConfig(width=8, depth=1)).build(2, 3)
    out = evaluate_grid(f, (4, 6), 3, chunk_size=5)
    with torch.no_grad():
        expected = f(grid_coordinates((4, 6))).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("chunk", [0, -1])
def test_evaluate_grid_rejects_a_non_positive_chunk_size(chunk):
    from inrkit.errors import InrkitError

    with pytest.raises((ValueError, InrkitError), match="chunk"):
        evaluate_grid(_poly, (2, 3), 3, chunk_size=chunk)


def test_examples_in_the_docstrings_run():
    import doctest

    import inrkit.grids

    result = doctest.testmod(inrkit.grids)
    assert result.failed == 0 and result.attempted >= 3


# --------------------------------------------------------------------------- evaluate_points


@pytest.mark.parametrize("as_tensor", [False, True])
def test_evaluate_points_equals_direct_evaluation_with_leading_dims(as_tensor):
    pts = np.random.default_rng(0).uniform(-1, 1, size=(4, 5, 2))  # float64, not on a grid
    x = torch.tensor(pts) if as_tensor else pts
    out = evaluate_points(_poly, x, 3, chunk_size=7)
    assert out.shape == (4, 5, 3) and out.dtype == np.float32
    expected = _poly(torch.tensor(pts, dtype=torch.float32).reshape(-1, 2)).reshape(4, 5, 3).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("chunk", [1, 6, 20, 1000])
def test_evaluate_points_never_exceeds_chunk_size_and_keeps_the_order(chunk):
    pts = np.random.default_rng(1).normal(size=(20, 3))
    rec = Recorder()
    out = evaluate_points(rec, pts, 3, chunk_size=chunk)
    assert all(0 < s <= chunk for s in rec.sizes) and sum(rec.sizes) == 20
    assert len(rec.sizes) == -(-20 // chunk) and all(s == chunk for s in rec.sizes[:-1])
    assert all(x.dtype == torch.float32 for x in rec.inputs)  # cast per chunk
    torch.testing.assert_close(torch.cat(rec.inputs), torch.tensor(pts, dtype=torch.float32), rtol=0, atol=0)
    np.testing.assert_allclose(out, evaluate_points(_poly, pts, 3, chunk_size=1 << 16), rtol=0, atol=0)


def test_evaluate_points_takes_a_flat_output_for_one_channel_and_records_no_gradients():
    w = torch.ones(3, requires_grad=True)
    seen = []

    def fn(x):  # (C, 3) -> (C,)
        y = x @ w
        seen.append(y.requires_grad)
        return y

    pts = np.arange(12.0).reshape(4, 3)
    out = evaluate_points(fn, pts, 1, chunk_size=3)
    assert out.shape == (4, 1) and not any(seen)
    np.testing.assert_array_equal(out[:, 0], pts.sum(-1).astype(np.float32))
    assert evaluate_points(fn, np.zeros((0, 3)), 1).shape == (0, 1)


@pytest.mark.parametrize("chunk", [0, -1])
def test_evaluate_points_rejects_a_non_positive_chunk_size(chunk):
    from inrkit.errors import InrkitError

    with pytest.raises(InrkitError, match="chunk"):
        evaluate_points(_poly, np.zeros((3, 2)), 3, chunk_size=chunk)


def test_meshing_goes_through_evaluate_points(monkeypatch):
    """One place bounds memory: the mesher calls the chunked evaluator with its chunk size."""
    import inrkit.meshing

    calls = []

    def spy(fn, points, out_dim, chunk_size=1 << 16, device=None, **kw):
        calls.append(chunk_size)
        return evaluate_points(fn, points, out_dim, chunk_size, device, **kw)

    monkeypatch.setattr(inrkit.meshing, "evaluate_points", spy)
    sphere = lambda x: x.norm(dim=-1) - 0.5  # noqa: E731
    v, f = inrkit.meshing.extract_mesh(sphere, resolution=12, chunk_size=50)
    assert len(f) and calls and set(calls) == {50}
