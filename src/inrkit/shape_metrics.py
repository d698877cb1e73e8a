"""Metrics between surfaces, as Occupancy Networks (Mescheder et al. 2019) and the
Fourier-features paper (Tancik et al. 2020) report them.

Surfaces are compared through oriented point samples ``(points (N, 3), normals (N, 3))``
drawn uniformly by area. With ``d(p, Q)`` the distance from ``p`` to its nearest
neighbour in ``Q``:

- Chamfer-L1 ``= (mean_p d(p, Q) + mean_q d(q, P)) / 2`` (distances, not squared), where ``d`` is
  the exact distance to the other surface's mesh when there is one, else to its nearest sample;
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


def _to_surface(p: np.ndarray, other, mesh) -> tuple[np.ndarray, np.ndarray]:
    """Distance from ``p: (N, 3)`` to the other surface and the other surface's normal there: ``(N,)``, ``(N, 3)``.

    ``mesh = (vertices, faces)``: exact point-to-triangle distance (point-cloud-utils) and the closest
    face's normal; None: the nearest of the other surface's samples ``other = (points, normals)``.
    """
    if mesh is None:
        d, i = _nearest(p, other[0])
        return d, other[1][i]
    import point_cloud_utils as pcu

    v, f = np.asarray(mesh[0], np.float64), np.asarray(mesh[1], np.int32)
    d, fid, _ = pcu.closest_points_on_mesh(np.ascontiguousarray(p, np.float64), v, f)
    tri = v[f[fid]]  # (N, 3, 3)
    return np.asarray(d), np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def surface_metrics(
    pred: tuple[np.ndarray, np.ndarray],
    ref: tuple[np.ndarray, np.ndarray],
    fscore_threshold: float,
    pred_mesh: tuple[np.ndarray, np.ndarray] | None = None,
    ref_mesh: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """Chamfer-L1/L2, normal consistency and F-score between oriented samples ``(points, normals)``.

    Distances are in the units of the points; ``fscore_threshold`` is ``τ`` in the same units. Given
    a surface's mesh ``(vertices, faces)``, distances to it are exact point-to-triangle distances
    instead of distances to its nearest sample, which removes the bias of sampling (two independent
    samplings of one surface are about half a sample spacing apart).
    """
    (p, pn), (q, qn) = pred, ref
    dp, pn_other = _to_surface(p, ref, ref_mesh)  # predicted -> reference (accuracy)
    dq, qn_other = _to_surface(q, pred, pred_mesh)  # reference -> predicted (completeness)
    unit = lambda n: n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)  # noqa: E731
    nc_p = np.abs((unit(pn) * unit(pn_other)).sum(1)).mean()
    nc_q = np.abs((unit(qn) * unit(qn_other)).sum(1)).mean()
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
