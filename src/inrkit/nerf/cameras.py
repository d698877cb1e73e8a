"""Cameras and rays: pixel-centre rays, axis conventions, camera paths.

Cameras are camera-to-world matrices with OpenGL axes (x right, y up, looking
down -z), as Blender, NeRF and nerfstudio store them. Intrinsics are
``(fx, fy, cx, cy)`` in pixels with the image origin at the top-left corner of
the top-left pixel, so pixel ``(i, j)`` (column, row) has its centre at
``(i + 0.5, j + 0.5)``.
"""
from __future__ import annotations

import math

import torch

__all__ = [
    "pixel_rays",
    "image_rays",
    "opencv_to_opengl",
    "undistort",
    "look_at",
    "orbit_path",
    "spiral_path",
]


def undistort(x: torch.Tensor, y: torch.Tensor, dist: torch.Tensor, iterations: int = 10):
    """Invert OpenCV's radial-tangential model on normalised image coordinates.

    ``x, y: (N,)`` distorted coordinates ``((u - cx) / fx, (v - cy) / fy)``;
    ``dist: (N, 4)`` or ``(4,)`` as ``(k1, k2, p1, p2)``. Fixed-point iteration,
    as OpenCV's ``undistortPoints`` does; exact for zero distortion.
    """
    dist = dist.expand(x.shape[0], 4) if dist.dim() == 1 else dist
    k1, k2, p1, p2 = dist.unbind(-1)
    xu, yu = x, y
    for _ in range(iterations):
        r2 = xu * xu + yu * yu
        radial = 1 + k1 * r2 + k2 * r2 * r2
        dx = 2 * p1 * xu * yu + p2 * (r2 + 2 * xu * xu)
        dy = p1 * (r2 + 2 * yu * yu) + 2 * p2 * xu * yu
        xu, yu = (x - dx) / radial, (y - dy) / radial
    return xu, yu


def pixel_rays(
    c2w: torch.Tensor,
    intrinsics: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    distortion: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """World-space rays through image points.

    ``c2w: (N, 3|4, 4)`` OpenGL camera-to-world; ``intrinsics: (N, 4)`` as
    ``(fx, fy, cx, cy)``; ``u, v: (N,)`` image coordinates in pixels (column,
    row; a pixel centre is ``i + 0.5``); ``distortion: (N, 4)`` optional
    ``(k1, k2, p1, p2)``. Returns ``origins (N, 3)`` and unit ``directions (N, 3)``.
    """
    fx, fy, cx, cy = intrinsics.unbind(-1)
    x = (u - cx) / fx  # (N,) right
    y = (v - cy) / fy  # (N,) down in the image
    if distortion is not None:
        x, y = undistort(x, y, distortion)
    d_cam = torch.stack([x, -y, -torch.ones_like(x)], -1)  # (N, 3), OpenGL: y up, looking down -z
    d = (c2w[:, :3, :3] @ d_cam[..., None])[..., 0]  # (N, 3)
    return c2w[:, :3, 3].expand_as(d), torch.nn.functional.normalize(d, dim=-1)


def image_rays(
    c2w: torch.Tensor, intrinsics: torch.Tensor, width: int, height: int, distortion: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through every pixel centre of one camera: ``origins, directions: (H, W, 3)``.

    ``c2w: (3|4, 4)``, ``intrinsics: (4,)``, ``distortion: (4,)`` or None.
    """
    j, i = torch.meshgrid(
        torch.arange(height, dtype=torch.float32, device=c2w.device),
        torch.arange(width, dtype=torch.float32, device=c2w.device),
        indexing="ij",
    )  # (H, W) rows, columns
    n = height * width
    o, d = pixel_rays(
        c2w[None].expand(n, -1, -1),
        intrinsics[None].expand(n, 4),
        i.reshape(-1) + 0.5,
        j.reshape(-1) + 0.5,
        None if distortion is None else distortion[None].expand(n, 4),
    )
    return o.reshape(height, width, 3), d.reshape(height, width, 3)


def opencv_to_opengl(c2w: torch.Tensor) -> torch.Tensor:
    """Flip the camera's y and z axes: OpenCV/COLMAP (y down, looking down +z) to OpenGL. ``(..., 4, 4)``."""
    out = c2w.clone()
    out[..., :3, 1:3] *= -1
    return out


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """OpenGL camera-to-world ``(4, 4)`` at ``eye (3,)`` looking at ``target (3,)`` with ``up (3,)`` upward."""
    back = torch.nn.functional.normalize(eye - target, dim=0)  # camera +z points away from the target
    right = torch.nn.functional.normalize(torch.linalg.cross(up, back), dim=0)
    true_up = torch.linalg.cross(back, right)
    m = torch.eye(4, dtype=eye.dtype)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, true_up, back, eye
    return m


def _scene_frame(c2ws: torch.Tensor):
    """Centre, radius and up vector of a set of cameras ``(N, 4, 4)`` looking at a common centre."""
    origins = c2ws[:, :3, 3]
    dirs = -c2ws[:, :3, 2]  # viewing directions
    # Least-squares point nearest to every viewing ray: sum_i (I - d d^T) p = sum_i (I - d d^T) o_i
    eye = torch.eye(3, dtype=c2ws.dtype)
    proj = eye - dirs[:, :, None] * dirs[:, None, :]  # (N, 3, 3)
    a, b = proj.sum(0), (proj @ origins[..., None]).sum(0)[:, 0]
    try:
        centre = torch.linalg.solve(a, b)
    except RuntimeError:
        centre = origins.mean(0)
    up = torch.nn.functional.normalize(c2ws[:, :3, 1].mean(0), dim=0)
    radius = (origins - centre).norm(dim=-1).mean()
    return centre, float(radius), up


def orbit_path(c2ws: torch.Tensor, n_frames: int, elevation_deg: float | None = None) -> torch.Tensor:
    """A full circle around the cameras' common centre at their mean distance: ``(n_frames, 4, 4)``.

    The circle lies in the plane orthogonal to the cameras' mean up vector, at
    the cameras' mean elevation unless ``elevation_deg`` is given.
    """
    centre, radius, up = _scene_frame(c2ws)
    rel = c2ws[:, :3, 3] - centre
    if elevation_deg is None:
        elevation = float(torch.asin(((rel @ up) / rel.norm(dim=-1)).clamp(-1, 1)).mean())
    else:
        elevation = math.radians(elevation_deg)
    a = torch.nn.functional.normalize(rel[0] - (rel[0] @ up) * up, dim=0)
    b = torch.linalg.cross(up, a)
    out = []
    for k in range(n_frames):
        phi = 2 * math.pi * k / n_frames
        horizontal = math.cos(phi) * a + math.sin(phi) * b
        eye = centre + radius * (math.cos(elevation) * horizontal + math.sin(elevation) * up)
        out.append(look_at(eye, centre, up))
    return torch.stack(out)


def spiral_path(c2ws: torch.Tensor, n_frames: int, rotations: float = 2.0, amplitude: float = 0.3) -> torch.Tensor:
    """A spiral around the mean camera, looking at the cameras' focus (LLFF style): ``(n_frames, 4, 4)``.

    ``amplitude`` is the spiral's radius as a fraction of the camera spread (or
    of the distance to the focus when the cameras coincide).
    """
    centre, radius, up = _scene_frame(c2ws)
    mean = c2ws[:, :3, 3].mean(0)
    right = torch.nn.functional.normalize(c2ws[:, :3, 0].mean(0), dim=0)
    fwd = torch.nn.functional.normalize(centre - mean, dim=0)
    spread = (c2ws[:, :3, 3] - mean).norm(dim=-1).max()
    r = amplitude * float(spread if spread > 1e-6 else (centre - mean).norm())
    out = []
    for k in range(n_frames):
        th = 2 * math.pi * rotations * k / n_frames
        eye = mean + r * (math.cos(th) * right + math.sin(th) * up + 0.5 * math.sin(th / rotations) * fwd)
        out.append(look_at(eye, centre, up))
    return torch.stack(out)


def ndc_rays(
    origins: torch.Tensor, directions: torch.Tensor, fx: float, fy: float, width: int, height: int, near: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Map forward-facing rays to normalised device coordinates (NeRF, appendix C).

    ``origins, directions: (R, 3)`` in a frame whose cameras look down -z (LLFF
    after recentring). Origins are first moved to the plane ``z = -near``; in
    NDC the frustum from ``near`` to infinity becomes ``[-1, 1]³`` and the ray
    runs from ``t' = 0`` (near plane) to ``t' = 1`` (infinity). Returns
    ``origins, directions: (R, 3)`` (directions not normalised).
    """
    t = -(near + origins[:, 2]) / directions[:, 2]
    o = origins + t[:, None] * directions
    ox, oy, oz = o.unbind(-1)
    dx, dy, dz = directions.unbind(-1)
    ax, ay = -2 * fx / width, -2 * fy / height
    o_ndc = torch.stack([ax * ox / oz, ay * oy / oz, 1 + 2 * near / oz], -1)
    d_ndc = torch.stack([ax * (dx / dz - ox / oz), ay * (dy / dz - oy / oz), -2 * near / oz], -1)
    return o_ndc, d_ndc


__all__ += ["ndc_rays"]


def read_camera_path(path, intrinsics: torch.Tensor, width: int, height: int):
    """Cameras from a file: nerfstudio's ``camera_path.json`` (``camera_path`` entries with
    ``camera_to_world`` as 16 numbers and a vertical ``fov`` in degrees, ``render_width`` /
    ``render_height``) or a transforms-style file (``frames`` with a 4x4 ``transform_matrix``).

    ``intrinsics (4,)``, ``width``, ``height``: what the cameras get when the file does not say.
    Returns ``c2w (F, 4, 4)`` float64, ``intrinsics (4,)``, ``width``, ``height``. A missing or
    malformed file is one :class:`~inrkit.errors.InrkitError`.
    """
    from pathlib import Path

    from ..errors import InrkitError
    from ..io import read_json

    path = Path(path)
    if not path.exists():
        raise InrkitError(f"camera path {str(path)!r} is not orbit, spiral, dataset or an existing JSON file")
    d = read_json(path, "camera path")
    mats, fovs = [], []
    k, w, h = intrinsics, width, height
    try:
        if isinstance(d, dict) and "camera_path" in d:
            w, h = int(d.get("render_width", w)), int(d.get("render_height", h))
            for c in d["camera_path"]:
                mats.append(torch.tensor(c["camera_to_world"], dtype=torch.float64).reshape(4, 4))
                fovs.append(c.get("fov"))
        elif isinstance(d, dict) and "frames" in d:
            for f in d["frames"]:
                mats.append(torch.tensor(f["transform_matrix"], dtype=torch.float64).reshape(4, 4))
        else:
            raise KeyError("camera_path or frames")
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InrkitError(f"camera path {str(path)!r} is malformed (expected nerfstudio's camera_path list of "
                          f"camera_to_world 4x4 matrices, or frames with transform_matrix): {e}") from None
    if not mats:
        raise InrkitError(f"camera path {str(path)!r} holds no cameras")
    if w < 1 or h < 1:
        raise InrkitError(f"camera path {str(path)!r} asks for an empty image ({w}x{h})")
    if fovs and fovs[0]:
        f = 0.5 * h / math.tan(math.radians(float(fovs[0])) / 2)
        k = torch.tensor([f, f, w / 2, h / 2])
    return torch.stack(mats), k, w, h


__all__ += ["read_camera_path"]
