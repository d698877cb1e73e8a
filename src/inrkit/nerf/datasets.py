"""Posed images: Blender synthetic, nerfstudio / instant-ngp ``transforms.json``, LLFF, and a built-in scene.

Every loader returns a :class:`NerfDataset` with OpenGL camera-to-world poses
(x right, y up, looking down -z), pinhole intrinsics in pixels of the
(possibly downscaled) images, and a scene box: the cube that the field's
``[-1, 1]³`` maps to. Malformed input raises :class:`InrkitError` naming the
file and what was expected.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import InrkitError
from ..io import atomic_path, read_json
from ..io import IMAGE_SUFFIXES as READABLE
from .cameras import _scene_frame, look_at

__all__ = ["NerfDataset", "load_scene", "load_blender", "load_transforms", "load_llff", "builtin_scene",
           "write_blender", "SCENES"]

# The image loader's suffixes, and EXR: a transforms file naming an EXR image gets "cannot be read"
# (Pillow has no EXR reader) rather than "does not exist".
IMAGE_SUFFIXES = READABLE + (".exr",)


@dataclass
class NerfDataset:
    """One split of posed images."""

    images: torch.Tensor
    """(N, H, W, C) uint8, C = 3 (RGB) or 4 (RGBA, composited onto a background when rendered)."""
    c2w: torch.Tensor
    """(N, 4, 4) float32 OpenGL camera-to-world."""
    intrinsics: torch.Tensor
    """(N, 4) float32 (fx, fy, cx, cy) in pixels."""
    center: list[float]
    """Centre of the scene box, world units."""
    half_size: float
    """Half the side of the scene box (a cube), world units."""
    distortion: torch.Tensor | None = None
    """(N, 4) (k1, k2, p1, p2) of OpenCV's radial-tangential model, or None."""
    names: list[str] = field(default_factory=list)
    """An identifier per image (its file name)."""
    ndc: dict | None = None
    """Forward-facing scenes: {"fx", "fy", "width", "height", "near"} of the NDC warp, else None."""
    source: str = ""
    """Where it came from."""

    @property
    def height(self) -> int:
        return int(self.images.shape[1])

    @property
    def width(self) -> int:
        return int(self.images.shape[2])

    def __len__(self) -> int:
        return int(self.images.shape[0])


# ---------------------------------------------------------------- helpers


def _read_json(path: Path) -> dict:
    d = read_json(path, "scene file")
    if not isinstance(d, dict):
        raise InrkitError(f"{str(path)!r} should hold a JSON object")
    return d


def _pose(m, where: str) -> np.ndarray:
    try:
        a = np.asarray(m, dtype=np.float64)
    except (TypeError, ValueError):
        a = np.zeros(0)
    if a.shape == (3, 4):
        a = np.vstack([a, [0, 0, 0, 1]])
    if a.shape != (4, 4) or not np.isfinite(a).all():
        raise InrkitError(f"{where}: transform_matrix should be a 4x4 (or 3x4) matrix of numbers, got shape {a.shape}")
    return a


def _read_image(path: Path, downscale: int) -> np.ndarray:
    """``(H, W, 3|4)`` uint8, area-downscaled by an integer factor."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            alpha = "A" in im.getbands() or "transparency" in im.info
            im = im.convert("RGBA" if alpha else "RGB")
            if downscale > 1:
                w, h = im.size
                if min(w, h) < downscale:
                    raise InrkitError(f"downscale {downscale} is larger than image {str(path)!r} ({w}x{h})")
                im = im.resize((w // downscale, h // downscale), Image.Resampling.BOX)
            return np.asarray(im)
    except FileNotFoundError:
        raise InrkitError(f"image {str(path)!r} does not exist") from None
    except (UnidentifiedImageError, OSError) as e:
        raise InrkitError(f"image {str(path)!r} cannot be read ({e})") from None


def _find_image(root: Path, file_path: str) -> Path:
    p = root / file_path
    if p.suffix.lower() in IMAGE_SUFFIXES and p.exists():
        return p
    for s in READABLE:  # Blender's file_path has no suffix: ".png" first
        for q in (p.with_name(p.name + s), p.with_name(p.name + s.upper())):
            if q.exists():
                return q
    raise InrkitError(f"image {str(p)!r} (listed in the transforms file) does not exist")


def _stack_images(images: list[np.ndarray], names: list[str], where: str) -> torch.Tensor:
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise InrkitError(f"{where}: images differ in size or channels ({', '.join(map(str, sorted(shapes)))})")
    return torch.from_numpy(np.stack(images))


def _check_downscale(downscale: int):
    if downscale < 1:
        raise InrkitError(f"downscale must be a positive integer, got {downscale}")


def _box_from_cameras(c2w: torch.Tensor) -> tuple[list[float], float]:
    """Cameras around an object: the box centred on their common focus, reaching 3/4 of their mean distance."""
    centre, radius, _ = _scene_frame(c2w.double())
    return [float(v) for v in centre], 0.75 * radius


def _split_indices(n: int, split: str, every: int = 8) -> list[int]:
    """Held-out views: every ``every``-th (0, 8, 16, ...) is a test view, the rest train."""
    if split == "all":
        return list(range(n))
    test = [i for i in range(n) if i % every == 0]
    return test if split in ("test", "val") else [i for i in range(n) if i % every != 0]


# ---------------------------------------------------------------- Blender


def load_blender(root: str | Path, split: str = "train", downscale: int = 1, half_size: float = 1.5) -> NerfDataset:
    """A Blender synthetic scene: ``transforms_{split}.json`` with ``camera_angle_x`` and frames
    holding ``file_path`` (no extension) and a 4x4 ``transform_matrix``; RGBA images.

    The scene box is the cube ``[-half_size, half_size]³`` (1.5 holds every
    scene of the NeRF synthetic set).
    """
    _check_downscale(downscale)
    root = Path(root)
    path = root / f"transforms_{split}.json"
    if not path.exists() and (root / "transforms_train.json").exists():
        have = ", ".join(sorted(p.name for p in root.glob("transforms_*.json")))
        raise InrkitError(f"scene {str(root)!r} has no {split} split: there is no {path.name} (it has {have})")
    d = _read_json(path)
    frames = d.get("frames")
    if not isinstance(frames, list) or not frames:
        raise InrkitError(f"{str(path)!r} has no frames (expected a non-empty list under 'frames')")
    if not isinstance(d.get("camera_angle_x"), (int, float)):
        raise InrkitError(f"{str(path)!r} has no camera_angle_x (the horizontal field of view in radians)")
    images, poses, names = [], [], []
    for i, f in enumerate(frames):
        where = f"{path}, frame {i}"
        if not isinstance(f, dict) or "file_path" not in f or "transform_matrix" not in f:
            raise InrkitError(f"{where}: a frame needs file_path and transform_matrix")
        poses.append(_pose(f["transform_matrix"], where))
        p = _find_image(root, f["file_path"])
        images.append(_read_image(p, downscale))
        names.append(p.name)
    ims = _stack_images(images, names, str(path))
    h, w = ims.shape[1:3]
    full_w = _read_image_size(_find_image(root, frames[0]["file_path"]))[0]
    focal = 0.5 * full_w / math.tan(0.5 * d["camera_angle_x"]) * (w / full_w)
    n = len(frames)
    k = torch.tensor([focal, focal, w / 2, h / 2], dtype=torch.float32).repeat(n, 1)
    return NerfDataset(ims, torch.tensor(np.stack(poses), dtype=torch.float32), k, [0.0, 0.0, 0.0], half_size,
                       names=names, source=str(root))


def _read_image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


# ---------------------------------------------------------------- nerfstudio / instant-ngp


_INTRINSIC_KEYS = ("fl_x", "fl_y", "cx", "cy", "w", "h", "k1", "k2", "p1", "p2", "camera_angle_x", "camera_angle_y")


def load_transforms(
    root: str | Path, split: str = "train", downscale: int = 1, half_size: float | None = None
) -> NerfDataset:
    """A nerfstudio or instant-ngp ``transforms.json``: intrinsics ``fl_x, fl_y, cx, cy, w, h`` and
    distortion ``k1, k2, p1, p2`` at the top level or per frame (``camera_angle_x`` when there is
    no ``fl_x``), frames with ``file_path`` (with its extension) and an OpenGL ``transform_matrix``.

    Frames 0, 8, 16, ... are the test (and val) split, the rest train. The
    scene box is centred on the cameras' common focus; its half side is
    ``half_size`` if given, else 3/4 of the mean camera distance (times
    instant-ngp's ``aabb_scale`` when present).
    """
    _check_downscale(downscale)
    root = Path(root)
    path = root / "transforms.json" if root.is_dir() else root
    root = path.parent
    d = _read_json(path)
    frames = d.get("frames")
    if not isinstance(frames, list) or not frames:
        raise InrkitError(f"{str(path)!r} has no frames (expected a non-empty list under 'frames')")
    poses, ks, dists, images, names = [], [], [], [], []
    all_poses = []
    for i, f in enumerate(frames):
        if not isinstance(f, dict) or "file_path" not in f or "transform_matrix" not in f:
            raise InrkitError(f"{path}, frame {i}: a frame needs file_path and transform_matrix")
        all_poses.append(_pose(f["transform_matrix"], f"{path}, frame {i}"))
    keep = _split_indices(len(frames), split)
    for i in keep:
        f = frames[i]
        where = f"{path}, frame {i}"
        c = {k: f.get(k, d.get(k)) for k in _INTRINSIC_KEYS}
        p = _find_image(root, f["file_path"])
        im = _read_image(p, downscale)
        fw, fh = _read_image_size(p)
        w = c["w"] or fw
        h = c["h"] or fh
        if c["fl_x"] is None:
            if c["camera_angle_x"] is None:
                raise InrkitError(f"{where}: no focal length (fl_x) or camera_angle_x")
            c["fl_x"] = 0.5 * w / math.tan(0.5 * c["camera_angle_x"])
        if c["fl_y"] is None:
            c["fl_y"] = 0.5 * h / math.tan(0.5 * c["camera_angle_y"]) if c["camera_angle_y"] else c["fl_x"]
        s = im.shape[1] / w
        ks.append([c["fl_x"] * s, c["fl_y"] * s, (c["cx"] if c["cx"] is not None else w / 2) * s,
                   (c["cy"] if c["cy"] is not None else h / 2) * s])
        dists.append([float(c[k] or 0.0) for k in ("k1", "k2", "p1", "p2")])
        poses.append(all_poses[i])
        images.append(im)
        names.append(p.name)
    ims = _stack_images(images, names, str(path))
    c2w_all = torch.tensor(np.stack(all_poses), dtype=torch.float32)
    centre, half = _box_from_cameras(c2w_all)
    if half_size is None:
        half = half * float(d.get("aabb_scale", 1.0)) if d.get("aabb_scale", 1) <= 4 else half
    else:
        half = half_size
    dist = torch.tensor(dists, dtype=torch.float32)
    return NerfDataset(ims, torch.tensor(np.stack(poses), dtype=torch.float32), torch.tensor(ks, dtype=torch.float32),
                       centre, half, distortion=dist if dist.abs().sum() > 0 else None, names=names, source=str(root))


# ---------------------------------------------------------------- LLFF


def load_llff(root: str | Path, split: str = "train", downscale: int = 1) -> NerfDataset:
    """A forward-facing LLFF scene: ``poses_bounds.npy`` (N x 17: a 3x5 pose matrix whose columns
    are the camera's down, right, back axes, its position and (height, width, focal), then the
    near and far depth bounds) with images in ``images/`` (or ``images_K/`` for ``downscale=K``).

    As in NeRF, poses are converted to OpenGL axes, recentred on their mean pose,
    scaled so the nearest bound is 1/0.75, and rendered in NDC; frames 0, 8, ... are the test split.
    """
    _check_downscale(downscale)
    root = Path(root)
    path = root / "poses_bounds.npy"
    if not path.exists():
        raise InrkitError(f"{str(path)!r} does not exist")
    try:
        pb = np.load(path)
    except (ValueError, OSError) as e:
        raise InrkitError(f"{str(path)!r} cannot be read as a NumPy array ({e})") from None
    if pb.ndim != 2 or pb.shape[1] != 17 or pb.shape[0] < 1 or not np.isfinite(pb).all():
        raise InrkitError(f"{str(path)!r} should hold an N x 17 array of numbers, got shape {pb.shape}")
    folder = root / (f"images_{downscale}" if downscale > 1 and (root / f"images_{downscale}").is_dir() else "images")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if len(files) != pb.shape[0]:
        raise InrkitError(f"{str(folder)!r} holds {len(files)} images but {str(path)!r} has {pb.shape[0]} poses")
    factor = downscale if folder.name == "images" else 1
    poses = pb[:, :15].reshape(-1, 3, 5)
    bounds = pb[:, 15:]
    hwf = poses[0, :, 4]
    # LLFF columns [down, right, back] -> OpenGL [right, up, back]
    rot = np.concatenate([poses[:, :, 1:2], -poses[:, :, 0:1], poses[:, :, 2:4]], 2)  # (N, 3, 4)
    scale = 1.0 / (bounds.min() * 0.75)
    rot[:, :, 3] *= scale
    c2w = np.concatenate([rot, np.tile([[[0, 0, 0, 1]]], (len(rot), 1, 1))], 1)  # (N, 4, 4)
    # Recentre: express every pose in the frame of the mean pose.
    centre = c2w[:, :3, 3].mean(0)
    z = c2w[:, :3, 2].sum(0)
    z /= np.linalg.norm(z)
    y_up = c2w[:, :3, 1].sum(0)
    x = np.cross(y_up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    mean = np.eye(4)
    mean[:3, :4] = np.stack([x, y, z, centre], 1)
    c2w = np.linalg.inv(mean) @ c2w
    keep = _split_indices(len(files), split)
    images = [_read_image(files[i], factor) for i in keep]
    ims = _stack_images([im[..., :3] for im in images], [files[i].name for i in keep], str(folder))
    h, w = ims.shape[1:3]
    f = float(hwf[2]) * w / float(hwf[1])
    k = torch.tensor([f, f, w / 2, h / 2], dtype=torch.float32).repeat(len(keep), 1)
    ndc = {"fx": f, "fy": f, "width": int(w), "height": int(h), "near": 1.0}
    return NerfDataset(ims, torch.tensor(c2w[keep], dtype=torch.float32), k, [0.0, 0.0, 0.0], 1.0,
                       names=[files[i].name for i in keep], ndc=ndc, source=str(root))


# ---------------------------------------------------------------- built-in scene

SCENES = {"spheres": "three textured, lit spheres ray-traced analytically, RGBA on transparent background"}


def builtin_scene(name: str = "spheres", split: str = "train", size: int = 64, n_views: int | None = None) -> NerfDataset:
    """A small synthetic scene ray-traced on the fly in Blender layout (RGBA, cameras on a sphere of
    radius 4 looking at the origin, 40° field of view, scene box [-1.5, 1.5]³).

    The spheres carry a view-independent checker texture lit by a fixed light,
    so a converged field reproduces it exactly. ``split`` train: 24 views on
    a golden spiral over the upper hemisphere; test/val: 8 views between them.
    """
    if name not in SCENES:
        raise InrkitError(f"unknown built-in scene {name!r}; expected one of {', '.join(SCENES)}")
    n = n_views or (24 if split == "train" else 8)
    offset = 0.0 if split == "train" else 0.5
    fov = math.radians(40)
    focal = 0.5 * size / math.tan(0.5 * fov)
    c2ws = []
    for i in range(n):
        k = i + offset
        z = 0.15 + 0.8 * (k + 0.5) / n  # height of the camera direction in (0.15, 0.95)
        phi = k * math.pi * (3 - math.sqrt(5))  # golden angle
        r = math.sqrt(1 - z * z)
        eye = 4.0 * torch.tensor([r * math.cos(phi), r * math.sin(phi), z], dtype=torch.float64)
        c2ws.append(look_at(eye, torch.zeros(3, dtype=torch.float64), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)))
    c2w = torch.stack(c2ws).float()
    k = torch.tensor([focal, focal, size / 2, size / 2], dtype=torch.float32).repeat(n, 1)
    from .cameras import pixel_rays

    j, i = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")  # (H, W)
    m = size * size
    o, d = pixel_rays(c2w.repeat_interleave(m, 0), k.repeat_interleave(m, 0),
                      i.reshape(-1).repeat(n) + 0.5, j.reshape(-1).repeat(n) + 0.5)  # (n * H * W, 3)
    images = _trace_spheres(o.double(), d.double()).reshape(n, size, size, 4)
    ims = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    return NerfDataset(ims, c2w, k, [0.0, 0.0, 0.0], 1.5, names=[f"r_{v}" for v in range(n)],
                       source=f"sample:{name}")


_SPHERES = [  # centre, radius, two checker colours
    ((0.0, 0.0, 0.0), 0.8, (0.9, 0.25, 0.2), (0.95, 0.85, 0.3)),
    ((0.75, -0.6, -0.35), 0.45, (0.2, 0.45, 0.9), (0.85, 0.9, 0.95)),
    ((-0.7, 0.55, -0.4), 0.4, (0.15, 0.7, 0.3), (0.1, 0.2, 0.15)),
]


def _trace_spheres(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """RGBA of rays ``(R, 3)`` through the built-in spheres: ``(R, 4)``."""
    best = torch.full(o.shape[:1], float("inf"), dtype=o.dtype)
    rgba = torch.zeros(o.shape[0], 4, dtype=o.dtype)
    light = torch.nn.functional.normalize(torch.tensor([0.4, 0.3, 1.0], dtype=o.dtype), dim=0)
    for c, r, c1, c2 in _SPHERES:
        c = torch.tensor(c, dtype=o.dtype)
        oc = o - c
        b = (oc * d).sum(-1)
        disc = b * b - ((oc * oc).sum(-1) - r * r)
        t = -b - disc.clamp(min=0).sqrt()
        hit = (disc > 0) & (t > 0) & (t < best)
        nrm = torch.nn.functional.normalize(oc + t[:, None] * d, dim=-1)
        theta, phi = torch.acos(nrm[:, 2].clamp(-1, 1)), torch.atan2(nrm[:, 1], nrm[:, 0])
        checker = ((torch.floor(theta / math.pi * 3) + torch.floor((phi + math.pi) / math.pi * 3)) % 2)[:, None]
        albedo = checker * torch.tensor(c1, dtype=o.dtype) + (1 - checker) * torch.tensor(c2, dtype=o.dtype)
        shade = 0.35 + 0.65 * (nrm @ light).clamp(min=0)[:, None]
        colour = albedo * shade
        rgba[hit, :3], rgba[hit, 3] = colour[hit], 1.0
        best = torch.where(hit, t, best)
    return rgba


def write_blender(dataset: NerfDataset, root: str | Path, split: str) -> None:
    """Write a dataset in Blender layout: ``root/split/r_i.png`` and ``root/transforms_{split}.json``."""
    from PIL import Image

    root = Path(root)
    (root / split).mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(len(dataset)):
        name = f"r_{i}"
        with atomic_path(root / split / f"{name}.png") as tmp:
            Image.fromarray(dataset.images[i].numpy()).save(tmp)
        frames.append({"file_path": f"./{split}/{name}", "transform_matrix": dataset.c2w[i].tolist()})
    fx = float(dataset.intrinsics[0, 0])
    angle = 2 * math.atan(0.5 * dataset.width / fx)
    with atomic_path(root / f"transforms_{split}.json") as tmp:
        tmp.write_text(json.dumps({"camera_angle_x": angle, "frames": frames}, indent=2))


# ---------------------------------------------------------------- dispatch


def load_scene(source: str | Path, split: str = "train", downscale: int = 1, half_size: float | None = None) -> NerfDataset:
    """Load ``source``: ``sample:NAME`` (see :data:`SCENES`; ``builtin:NAME``, its older spelling, too), or a folder holding
    ``transforms_{train,test}.json`` (Blender), ``transforms.json`` (nerfstudio /
    instant-ngp) or ``poses_bounds.npy`` (LLFF). ``half_size`` overrides the scene box.

    ``split`` is train, test or (Blender scenes with a ``transforms_val.json`` only) val; asking
    for a split the scene does not have is an :class:`InrkitError` naming what it has, never
    another split passed off under that name."""
    s = str(source)
    builtin = s.startswith(("sample:", "builtin:")) and not Path(s).exists()
    if split == "val" and not (Path(s) / "transforms_train.json").exists():  # Blender: load_blender checks
        held_out = None
        if builtin:
            held_out = "the built-in scene holds out one set of views, its test split"
        elif (Path(s) / "transforms.json").exists() or s.endswith(".json"):
            held_out = "a transforms.json scene holds out every 8th frame, as its test split"
        elif (Path(s) / "poses_bounds.npy").exists():
            held_out = "an LLFF scene holds out every 8th view, as its test split"
        if held_out is not None:
            raise InrkitError(f"scene {s!r} has no val split: {held_out}")
    if builtin:
        ds = builtin_scene(s.split(":", 1)[1], split, size=max(8, 64 // downscale))
    else:
        root = Path(source)
        if not root.exists():
            raise InrkitError(f"scene folder {s!r} does not exist")
        if (root / "transforms_train.json").exists():
            ds = load_blender(root, split, downscale, half_size or 1.5)
        elif (root / "transforms.json").exists() or root.suffix == ".json":
            ds = load_transforms(root, split, downscale, half_size)
        elif (root / "poses_bounds.npy").exists():
            ds = load_llff(root, split, downscale)
        else:
            raise InrkitError(f"{s!r} holds no transforms_train.json (Blender), transforms.json (nerfstudio, "
                              f"instant-ngp) or poses_bounds.npy (LLFF)")
    if half_size is not None:
        if not half_size > 0:
            raise InrkitError(f"the scene box half size must be positive, got {half_size}")
        ds.half_size = half_size
    return ds
