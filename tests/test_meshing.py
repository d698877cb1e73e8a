import math

import numpy as np
import pytest
import torch

from inrkit import InrkitError
from inrkit.meshing import extract_mesh


def sphere(r=0.5, c=(0.0, 0.0, 0.0)):
    c = torch.tensor(c)
    return lambda x: (x - c).norm(dim=-1) - r


def torus(R=0.5, r=0.2):
    def f(x):
        q = torch.stack([x[:, [0, 2]].norm(dim=-1) - R, x[:, 1]], -1)
        return q.norm(dim=-1) - r

    return f


def volume(v, f):
    tri = v[f].astype(np.float64)  # (F, 3, 3)
    return np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6


def test_sphere_radius_and_volume():
    v, f = extract_mesh(sphere(0.5, (0.1, -0.05, 0.0)), resolution=64)
    r = np.linalg.norm(v - [0.1, -0.05, 0.0], axis=1)
    assert abs(r.mean() - 0.5) < 1e-3 and r.std() < 2e-3
    # Closed and outward-wound: the signed volume is the ball's (4/3 π r³), not its negative.
    assert volume(v, f) == pytest.approx(4 / 3 * math.pi * 0.125, rel=0.01)
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all()  # watertight: every edge shared by two faces (slab seams merged)


def test_slabs_and_coarse_to_fine_give_the_same_mesh():
    fn = torus()
    ref_v, ref_f = extract_mesh(fn, resolution=48, slab=64)
    for kw in ({"slab": 5}, {"coarse_to_fine": True, "block": 4}, {"coarse_to_fine": True, "slab": 7}):
        v, f = extract_mesh(fn, resolution=48, **kw)
        assert len(v) == len(ref_v) and len(f) == len(ref_f), kw
        np.testing.assert_allclose(np.sort(v, axis=0), np.sort(ref_v, axis=0), atol=1e-5)
        assert volume(v, f) == pytest.approx(volume(ref_v, ref_f), rel=1e-5)


def test_inside_above_and_bounds():
    # Occupancy-like: positive inside a ball of radius 2 centred at (5, 5, 5); bounds in those units.
    fn = lambda x: 2 - (x - 5).norm(dim=-1)  # noqa: E731
    v, f = extract_mesh(fn, bounds=((2, 2, 2), (8, 8, 8)), resolution=40, inside="above")
    assert np.abs(np.linalg.norm(v - 5, axis=1) - 2).max() < 0.02
    assert volume(v, f) == pytest.approx(4 / 3 * math.pi * 8, rel=0.02)


def test_no_surface_gives_an_empty_mesh():
    v, f = extract_mesh(lambda x: x.norm(dim=-1) + 1, resolution=16)
    assert v.shape == (0, 3) and f.shape == (0, 3)


@pytest.mark.parametrize(
    "kw",
    [{"resolution": 1}, {"bounds": ((0, 0, 0), (1, 1, 0))}, {"inside": "left"}, {"slab": 1}],
)
def test_bad_arguments(kw):
    with pytest.raises(InrkitError):
        extract_mesh(sphere(), **{"resolution": 16, **kw})


def test_nan_field():
    with pytest.raises(InrkitError, match="NaN"):
        extract_mesh(lambda x: x[:, 0] * float("nan"), resolution=8)
