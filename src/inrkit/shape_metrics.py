"""Metrics between surfaces, as Occupancy Networks (Mescheder et al. 2019) and the
Fourier-features paper (Tancik et al. 2020) report them.

Surfaces are compared through oriented point samples ``(points (N, 3), normals (N, 3))``
drawn uniformly by area. With ``d(p, Q)`` the distance from ``p`` to its nearest
neighbour in ``Q``:

- Chamfer-L1 ``= (mean_p d(p, Q) + mean_q d(q, P)) / 2`` (distances, not squared);
- Chamfer-L2 ``= (mean_p d(p, Q)² + mean_q d(q, P)²) / 2``;
- normal consistency ``= (mean_p |n_p · n_nn(p)| + mean_q |n_q · n_nn(q)|) / 2``;
- F-score at ``τ`` ``= 2 PR / (P + R)`` with precision ``P`` the fraction of predicted
  points within ``τ`` of the reference and recall ``R`` the converse (Tatarchenko et al. 2019);
- volumetric IoU of inside/outside labels on a fixed point set.
"""
from __future__ import annotations

import numpy as np

__all__ = ["chamfer", "iou", "sample_surface", "surface_metrics"]


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform by area on a triangle mesh and their face normals: ``(n, 3)`` each (float64)."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    tri = v[f]  # (F, 3, 3)
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # (F, 3)
    area = np.linalg.norm(cross, axis=1)
    if not area.sum() > 0:
        raise ValueError("the mesh has no area")
    rng = np.random.default_rng(seed)
    face = rng.choice(len(f), size=n, p=area / area.sum())  # (n,)
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    a, b, c = 1 - s, s * (1 - r2), s * r2  # uniform barycentric coordinates
    pts = a[:, None] * tri[face, 0] + b[:, None] * tri[face, 1] + c[:, None] * tri[face, 2]
    normals = cross[face] / np.maximum(area[face], 1e-300)[:, None]
    return pts, normals


def _nearest(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    d, i = cKDTree(dst).query(src, k=1, workers=-1)
    return d, i


def chamfer(p: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """Symmetric Chamfer-L1 and Chamfer-L2 between point sets ``p: (N, 3)`` and ``q: (M, 3)``."""
    dp, _ = _nearest(p, q)
    dq, _ = _nearest(q, p)
    return float((dp.mean() + dq.mean()) / 2), float(((dp**2).mean() + (dq**2).mean()) / 2)


def surface_metrics(
    pred: tuple[np.ndarray, np.ndarray],
    ref: tuple[np.ndarray, np.ndarray],
    fscore_threshold: float,
) -> dict:
    """Chamfer-L1/L2, normal consistency and F-score between oriented samples ``(points, normals)``.

    Distances are in the units of the points; ``fscore_threshold`` is ``τ`` in the same units.
    """
    (p, pn), (q, qn) = pred, ref
    dp, ip = _nearest(p, q)  # predicted -> reference (accuracy)
    dq, iq = _nearest(q, p)  # reference -> predicted (completeness)
    unit = lambda n: n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)  # noqa: E731
    pn, qn = unit(pn), unit(qn)
    nc_p = np.abs((pn * qn[ip]).sum(1)).mean()
    nc_q = np.abs((qn * pn[iq]).sum(1)).mean()
    precision = float((dp < fscore_threshold).mean())
    recall = float((dq < fscore_threshold).mean())
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "chamfer_l1": float((dp.mean() + dq.mean()) / 2),
        "chamfer_l2": float(((dp**2).mean() + (dq**2).mean()) / 2),
        "normal_consistency": float((nc_p + nc_q) / 2),
        "fscore": f,
        "precision": precision,
        "recall": recall,
    }


def iou(pred_inside: np.ndarray, ref_inside: np.ndarray) -> float:
    """Intersection over union of two boolean inside labels on the same points (1 when both are empty)."""
    a, b = np.asarray(pred_inside, bool), np.asarray(ref_inside, bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
