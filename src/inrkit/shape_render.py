"""Pictures of and queries on fitted shape fields: shaded renders, turntables, and the signed
distance or occupancy probability at points in the input's units.

A shape field works in its cube ``[-1, 1]³``; its signal metadata's ``transform`` (``center``,
``scale``, see :mod:`inrkit.signals.shape`) maps the input's units in: ``x_field = (x - center) * scale``.
The implicit function is :func:`inrkit.signals.shape.shape_function` (0 on the surface).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .errors import InrkitError
from .grids import evaluate_points
from .nerf.rendering import render_chunked
from .nerf.sampling import ray_aabb

__all__ = ["occupancy_probability", "render_shape", "render_shape_orbit", "signed_distance"]


def _shape_function(field, kind: str):
    # imported on use: signals.shape imports this module to re-export its functions
    from .signals.shape import shape_function

    return shape_function(field, kind)


def _camera(azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthographic view direction, right and up vectors (y is up)."""
    az, el = math.radians(azimuth), math.radians(elevation)
    eye = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    d = -eye
    right = np.cross(d, [0.0, 1.0, 0.0])
    if np.linalg.norm(right) < 1e-6:  # looking straight up or down
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, d)
    return d, right, up


def render_shape(
    field,
    kind: str,
    size: tuple[int, int] = (512, 512),
    azimuth: float = 30.0,
    elevation: float = 20.0,
    chunk_size: int = 1 << 16,
    max_steps: int = 128,
    device=None,
) -> np.ndarray:
    """A shaded image ``(H, W, 3)`` in [0, 1] of a shape field's surface, seen orthographically.

    Signed distances are sphere-traced (step ``0.9 f``, hit at ``|f| < 1e-3``); occupancy
    logits are marched in ``max_steps`` even steps across the cube and the crossing refined by
    bisection. Normals are ``∇f`` by autograd (``-∇logit`` for occupancy); the surface is
    lit by a headlight and a key light (Lambert) over an ambient term, the background is white.

    Examples:
        Any module mapping ``(N, 3)`` to ``(N, 1)`` signed distances renders; here a sphere of radius 0.5:

        >>> class Sphere(torch.nn.Module):
        ...     def forward(self, x):
        ...         return x.norm(dim=-1, keepdim=True) - 0.5
        >>> image = render_shape(Sphere(), "sdf", size=(9, 9), device="cpu")
        >>> image.shape, image[0, 0].tolist()                     # a corner misses: white
        ((9, 9, 3), [1.0, 1.0, 1.0])
        >>> image[4, 4].round(2)                                  # the centre faces the camera
        array([0.61, 0.71, 0.85], dtype=float32)
    """
    w, h = size
    fn = _shape_function(field, kind)
    device = device if device is not None else next(field.parameters()).device
    d, right, up = _camera(azimuth, elevation)
    # Pixel centres on a plane through the origin facing the camera, covering [-1.15, 1.15]².
    u = ((np.arange(w) + 0.5) / w * 2 - 1) * 1.15 * max(w / h, 1)
    vv = -((np.arange(h) + 0.5) / h * 2 - 1) * 1.15 * max(h / w, 1)
    uu, vg = np.meshgrid(u, vv)  # (H, W)
    origins = uu[..., None] * right + vg[..., None] * up - 2.0 * d  # (H, W, 3), 2 units in front
    dirs = torch.tensor(d, dtype=torch.float32, device=device)
    light = torch.tensor(-d + 0.6 * up + 0.4 * right, dtype=torch.float32, device=device)
    light = light / light.norm()
    colour = torch.tensor([0.62, 0.72, 0.86], device=device)

    def shade_rays(o: torch.Tensor, _d: torch.Tensor) -> dict[str, torch.Tensor]:
        o = o.to(device=device, dtype=torch.float32)  # (C, 3); every ray looks along `dirs`
        rgb = torch.ones(len(o), 3, device=device)  # white background
        t0, t1 = ray_aabb(o, dirs)  # (C,) entry and exit of the field's cube
        hit, t = (_sphere_trace if kind == "sdf" else _march)(fn, o, dirs, t0, t1, max_steps)
        if hit.any():
            x = (o[hit] + t[hit, None] * dirs).requires_grad_(True)  # (K, 3)
            with torch.enable_grad():
                (g,) = torch.autograd.grad(fn(x).sum(), x)
            n = g if kind == "sdf" else -g
            n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            shade = 0.25 + 0.45 * (n @ -dirs).clamp_min(0) + 0.35 * (n @ light).clamp_min(0)  # (K,)
            rgb[hit] = (colour * shade[:, None]).clamp(0, 1)
        return {"rgb": rgb}

    flat = torch.from_numpy(origins.reshape(-1, 3))  # (H W, 3) float64 on the CPU, cast per chunk
    image = render_chunked(shade_rays, flat, flat.new_tensor(d).expand_as(flat), chunk_size)["rgb"]  # (H W, 3)
    return image.cpu().numpy().reshape(h, w, 3)


@torch.no_grad()
def _sphere_trace(fn, o, d, t0, t1, max_steps):
    t = t0.clone()
    hit = torch.zeros_like(t, dtype=torch.bool)
    alive = t0 < t1
    for _ in range(max_steps):
        if not alive.any():
            break
        idx = alive.nonzero().flatten()
        f = fn(o[idx] + t[idx, None] * d)  # (K,)
        done = f.abs() < 1e-3
        hit[idx[done]] = True
        t[idx] += torch.where(done, torch.zeros_like(f), 0.9 * f)
        alive[idx[done]] = False
        alive &= (t < t1) & (t >= t0 - 1e-3)
    return hit, t


@torch.no_grad()
def _march(fn, o, d, t0, t1, max_steps):
    """Even steps of ``(t1 - t0) / max_steps`` until the logit turns positive, then bisection."""
    dt = (t1 - t0).clamp_min(0) / max_steps  # (C,)
    t = t0.clone()  # last point known outside
    found = torch.zeros_like(t0, dtype=torch.bool)
    alive = t0 < t1
    for _ in range(max_steps):
        if not alive.any():
            break
        idx = alive.nonzero().flatten()
        tk = t[idx] + dt[idx]
        inside = fn(o[idx] + tk[:, None] * d) > 0
        found[idx[inside]] = True
        t[idx] = torch.where(inside, t[idx], tk)
        alive[idx] = ~inside & (tk < t1[idx])
    idx = found.nonzero().flatten()
    lo, hi = t[idx], t[idx] + dt[idx]
    for _ in range(8):  # bisection of the first crossing
        mid = (lo + hi) / 2
        inside = fn(o[idx] + mid[:, None] * d) > 0
        hi, lo = torch.where(inside, mid, hi), torch.where(inside, lo, mid)
    t[idx] = hi
    return found, t


# -- querying a fitted shape in the input's units ---------------------------------------------------


def _fitted_shape(field, kind: str, function: str):
    """``field`` (or its checkpoint folder), once it is a fitted ``kind`` field, and its signal metadata."""
    from .outputs import as_field, field_meta

    field = as_field(field)
    sig = field_meta(field, ("sdf", "occupancy"))["signal"]
    if sig["kind"] != kind:
        other = "occupancy_probability" if kind == "sdf" else "signed_distance"
        raise InrkitError(f"{function} needs an {kind} field, and this is an {sig['kind']} field "
                          f"(use inrkit.{other})")
    return field, sig


def _query_input_units(field, fn, points, sig: dict, chunk_size: int, post):
    """``post(fn(x_field))`` at ``points (..., 3)`` in the input's units: ``(...,)``, numpy for numpy
    input (chunked, no gradients), a differentiable tensor on the field's device for a tensor."""
    tr = sig["transform"]
    center, scale = np.asarray(tr["center"], np.float64), float(tr["scale"])
    device = next(field.parameters()).device
    if torch.is_tensor(points):
        if points.ndim == 0 or points.shape[-1] != 3:
            raise InrkitError(f"points must have shape (..., 3), got {tuple(points.shape)}")
        x = (points.to(device=device, dtype=torch.float32) - torch.as_tensor(center, dtype=torch.float32,
                                                                           device=device)) * scale  # (..., 3)
        return post(fn(x.reshape(-1, 3)).reshape(points.shape[:-1]))
    p = np.asarray(points, np.float64)
    if p.ndim == 0 or p.shape[-1] != 3:
        raise InrkitError(f"points must have shape (..., 3), got {p.shape}")
    if not np.isfinite(p).all():
        raise InrkitError("points must be finite (found NaN or infinity)")
    if not chunk_size >= 1:
        raise InrkitError(f"chunk size must be positive, got {chunk_size}")
    v = evaluate_points(fn, (p.reshape(-1, 3) - center) * scale, 1, int(chunk_size), device)[:, 0]  # (N,)
    return post(v).reshape(p.shape[:-1]).astype(np.float32)


def signed_distance(field, points, chunk_size: int = 1 << 16):
    """The signed distance of a fitted SDF field at ``points`` in the input's units, in the input's units
    (negative inside).

    The field works in its cube: ``x_field = (x - center) * scale`` with ``center`` and ``scale`` from
    ``field.meta["signal"]["transform"]``, and its distances are in cube units; this maps the points
    in and the distances back out (divided by ``scale``).

    Args:
        field: an ``sdf`` field from :func:`inrkit.load`, or its checkpoint folder.
        points: ``(..., 3)``. A numpy array (or list) gives a numpy ``(...,)`` float32, evaluated
            ``chunk_size`` points at a time without gradients; a torch tensor gives a ``(...,)``
            tensor on the field's device that gradients flow through (normals: its autograd gradient).

    Examples:
        >>> field = inrkit.load("runs/torus")    # doctest: +SKIP
        >>> inrkit.signed_distance(field, [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).round(2)   # doctest: +SKIP
        array([-0.35,  0.65], dtype=float32)

        (``sample:torus`` has major radius 1 and minor radius 0.35: the tube's centre line is 0.35 inside.)
    """
    field, sig = _fitted_shape(field, "sdf", "signed_distance")
    scale = float(sig["transform"]["scale"])
    return _query_input_units(field, _shape_function(field, "sdf"), points, sig, chunk_size, lambda v: v / scale)


def occupancy_probability(field, points, chunk_size: int = 1 << 16):
    """The probability that ``points (..., 3)`` in the input's units are inside a fitted occupancy field's
    shape: ``sigmoid(logit)`` of the field at ``(x - center) * scale`` (``meta["signal"]["transform"]``),
    ``(...,)`` in [0, 1]; numpy in, numpy out (chunked), tensor in, differentiable tensor out.

    Examples:
        >>> p = [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]                          # the tube's centre, the hole
        >>> inrkit.occupancy_probability("runs/torus-occ", p).round(2)       # doctest: +SKIP
        array([1., 0.], dtype=float32)
    """
    field, sig = _fitted_shape(field, "occupancy", "occupancy_probability")

    def sigmoid(v):
        return torch.sigmoid(v) if torch.is_tensor(v) else 1 / (1 + np.exp(-np.clip(v, -60, 60)))

    return _query_input_units(field, _shape_function(field, "occupancy"), points, sig, chunk_size, sigmoid)


def render_shape_orbit(
    field,
    kind: str,
    size: tuple[int, int] = (512, 512),
    frames: int = 120,
    azimuth: float = 30.0,
    elevation: float = 20.0,
    chunk_size: int = 1 << 16,
    device=None,
    progress: bool = True,
) -> np.ndarray:
    """A turntable of a shape field: :func:`render_shape` at ``frames`` azimuths a full turn apart,
    starting at ``azimuth``, at ``elevation``: ``uint8 (F, H, W, 3)``.

    Examples:
        >>> clip = render_shape_orbit(inrkit.load("runs/torus"), "sdf", (64, 64), frames=4)   # doctest: +SKIP
        >>> clip.shape                                                                          # doctest: +SKIP
        (4, 64, 64, 3)
    """
    from .progress import track

    if not (isinstance(frames, (int, np.integer)) and frames >= 1):
        raise InrkitError(f"frames must be a positive number of frames, got {frames}")
    frames, (w, h) = int(frames), size
    out = np.empty((frames, h, w, 3), np.uint8)
    for i in track(range(frames), "rendering", enabled=progress):
        image = render_shape(field, kind, size, azimuth + 360.0 * i / frames, elevation, chunk_size=chunk_size,
                             device=device)
        out[i] = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return out
