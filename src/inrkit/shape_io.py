"""Shape data: reading meshes and oriented point clouds, the built-in shapes, writing meshes.

Sources are meshes (OBJ, PLY, STL, OFF, GLB/GLTF through trimesh), oriented point
clouds (PLY with ``nx ny nz`` vertex properties, ``.xyz`` text with six columns
``x y z nx ny nz`` as the SIREN paper's data) and built-in procedural shapes
(``sample:NAME``, see :data:`SHAPES`). Everything here is in the shape's own units;
:func:`normalisation` gives the map into a field's cube ``[-1, 1]³`` that
:class:`inrkit.signals.shape.ShapeSignal` applies.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import shape_metrics
from .errors import InrkitError
from .io import atomic_path, input_file, output_folder_exists

__all__ = [
    "MESH_SUFFIXES",
    "SAVE_SUFFIXES",
    "SHAPES",
    "ShapeData",
    "load_shape",
    "mesh_to_cloud",
    "normalisation",
    "save_mesh",
]

# Built-in procedural shapes (trimesh.creation), by name: description.
SHAPES = {
    "sphere": "unit sphere (icosphere, 5 subdivisions)",
    "torus": "torus, major radius 1, minor radius 0.35",
    "box": "box 1.6 x 1.0 x 1.2",
    "capsule": "capsule, radius 0.5, height 1",
    "cylinder": "cylinder, radius 0.5, height 1.5",
}
# Suffixes read by trimesh as meshes (a PLY may hold a point cloud instead).
MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")
# Suffixes save_mesh writes.
SAVE_SUFFIXES = (".ply", ".obj", ".glb", ".stl", ".off")


@dataclass
class ShapeData:
    """A shape in its own units: a mesh (``faces`` set) or an oriented point cloud.

    ``vertices: (V, 3)`` float64; ``faces: (F, 3)`` int64 or None; ``normals: (V, 3)``
    unit point normals or None.

    Examples:
        >>> cloud = ShapeData(np.array([[0.0, 0, 0], [2, 1, 0]]), normals=np.array([[0.0, 0, 1], [0, 0, 1]]))
        >>> cloud.is_mesh, cloud.bounds()
        (False, (array([0., 0., 0.]), array([2., 1., 0.])))
    """

    vertices: np.ndarray
    faces: np.ndarray | None = None
    normals: np.ndarray | None = None
    name: str = ""

    @property
    def is_mesh(self) -> bool:
        return self.faces is not None

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(0), self.vertices.max(0)


def _procedural(name: str) -> ShapeData:
    import trimesh

    make = {
        "sphere": lambda: trimesh.creation.icosphere(subdivisions=5, radius=1.0),
        "torus": lambda: trimesh.creation.torus(major_radius=1.0, minor_radius=0.35, major_sections=128,
                                                minor_sections=64),
        "box": lambda: trimesh.creation.box(extents=(1.6, 1.0, 1.2)),
        "capsule": lambda: trimesh.creation.capsule(height=1.0, radius=0.5, count=(64, 64)),
        "cylinder": lambda: trimesh.creation.cylinder(radius=0.5, height=1.5, sections=128),
    }[name]
    m = make()
    return ShapeData(np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64), None, f"sample:{name}")


def load_shape(source: str) -> ShapeData:
    """Read a mesh or an oriented point cloud from ``source`` (a file, or ``sample:NAME``).

    Normals are scaled to unit length; an empty, non-finite or flat-to-a-point shape, or one with
    zero normals, stops with an :class:`~inrkit.errors.InrkitError` naming ``source``.

    Examples:
        >>> sphere = load_shape("sample:sphere")
        >>> sphere.vertices.shape, sphere.faces.shape, sphere.name
        ((10242, 3), (20480, 3), 'sample:sphere')
        >>> load_shape("sample:box").bounds()
        (array([-0.8, -0.5, -0.6]), array([0.8, 0.5, 0.6]))
    """
    if source.startswith("sample:"):
        name = source.split(":", 1)[1]
        if name not in SHAPES:
            raise InrkitError(f"unknown sample shape {name!r}; expected one of {', '.join(SHAPES)}")
        return _procedural(name)
    path = input_file(source, "shape file", "a mesh or point-cloud file")
    suffix = path.suffix.lower()
    if suffix == ".xyz":
        data = _read_xyz(path)
    elif suffix in MESH_SUFFIXES:
        data = _read_trimesh(path)
    else:
        raise InrkitError(
            f"{source!r} has an unsupported extension; expected a mesh ({', '.join(MESH_SUFFIXES)}) "
            "or a point cloud (.ply with normals, .xyz)"
        )
    v = data.vertices
    if len(v) == 0:
        raise InrkitError(f"{source!r} holds no vertices or points")
    if not np.isfinite(v).all():
        raise InrkitError(f"{source!r} has NaN or infinite coordinates")
    lo, hi = data.bounds()
    if not (hi - lo).max() > 0:
        raise InrkitError(f"{source!r} has no extent: all its points coincide")
    if data.normals is not None:
        n = np.linalg.norm(data.normals, axis=1)
        if not (np.isfinite(n).all() and n.min() > 0):
            raise InrkitError(f"{source!r} has zero, NaN or infinite normals")
        data.normals = data.normals / n[:, None]
    data.name = source
    return data


def _read_xyz(path: Path) -> ShapeData:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns on an empty file
            a = np.loadtxt(path, dtype=np.float64, ndmin=2, comments="#")
    except (ValueError, UnicodeDecodeError) as e:
        raise InrkitError(f"could not read {str(path)!r} as .xyz text with numbers in columns ({e})") from None
    if a.size == 0:
        raise InrkitError(f"{str(path)!r} holds no points")
    if a.shape[1] not in (3, 6):
        raise InrkitError(f"{str(path)!r} has {a.shape[1]} columns; expected x y z or x y z nx ny nz")
    return ShapeData(a[:, :3].copy(), None, a[:, 3:].copy() if a.shape[1] == 6 else None)


def _read_trimesh(path: Path) -> ShapeData:
    import trimesh

    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as e:  # each format's parser raises its own types
        raise InrkitError(f"could not read {str(path)!r} as a mesh ({type(e).__name__}: {e})") from None
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if not geoms:
            raise InrkitError(f"{str(path)!r} holds no triangle mesh")
        loaded = trimesh.util.concatenate(geoms)
    if isinstance(loaded, trimesh.PointCloud) or (isinstance(loaded, trimesh.Trimesh) and len(loaded.faces) == 0):
        v = np.asarray(loaded.vertices, np.float64)
        return ShapeData(v, None, _ply_normals(loaded, len(v)))
    if not isinstance(loaded, trimesh.Trimesh):
        raise InrkitError(f"{str(path)!r} holds a {type(loaded).__name__}, not a mesh or point cloud")
    faces = np.asarray(loaded.faces, np.int64)
    v = np.asarray(loaded.vertices, np.float64)
    if len(faces) == 0 or faces.max() >= len(v) or faces.min() < 0:
        raise InrkitError(f"{str(path)!r} has faces that index missing vertices")
    return ShapeData(v, faces, None)


def _ply_normals(obj, n: int) -> np.ndarray | None:
    raw = obj.metadata.get("_ply_raw", {}).get("vertex", {}).get("data")
    # binary PLY: a structured array; ASCII PLY: a dict of columns
    names = raw.keys() if isinstance(raw, dict) else getattr(getattr(raw, "dtype", None), "names", None) or ()
    if not all(k in names for k in ("nx", "ny", "nz")):
        return None
    return np.stack([np.asarray(raw[k], np.float64).reshape(-1) for k in ("nx", "ny", "nz")], axis=1)[:n]


def save_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Write a triangle mesh (PLY, OBJ, GLB, STL or OFF by the suffix), atomically.

    Examples:
        >>> import tempfile
        >>> box = load_shape("sample:box")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     save_mesh(f"{tmp}/box.ply", box.vertices, box.faces)
        ...     load_shape(f"{tmp}/box.ply").faces.shape
        (12, 3)
    """
    import trimesh

    path = Path(path)
    if path.suffix.lower() not in SAVE_SUFFIXES:
        raise InrkitError(f"cannot write a mesh as {path.name!r}; expected a name ending in {', '.join(SAVE_SUFFIXES)}")
    output_folder_exists(path)
    mesh = trimesh.Trimesh(np.asarray(vertices), np.asarray(faces), process=False)
    try:
        with atomic_path(path) as tmp:
            mesh.export(str(tmp), file_type=path.suffix.lower()[1:])
    except OSError as e:
        raise InrkitError(f"could not write {str(path)!r}: {e.strerror or e}") from None


def normalisation(data: ShapeData, extent: float) -> tuple[np.ndarray, float]:
    """``(center (3,), scale)`` putting the bounding box's longest side on ``[-extent, extent]``:
    ``x_field = (x - center) * scale``.

    Examples:
        >>> normalisation(load_shape("sample:box"), extent=0.9)   # longest side 1.6 -> 1.8
        (array([0., 0., 0.]), 1.125)
    """
    lo, hi = data.bounds()
    return (lo + hi) / 2, 2 * extent / float((hi - lo).max())


def mesh_to_cloud(data: ShapeData, n: int, seed: int = 0) -> ShapeData:
    """``n`` oriented samples of a mesh's surface, uniform by area, with the faces' unit normals
    (for the point-cloud mode on a mesh or a procedural shape).

    Examples:
        >>> cloud = mesh_to_cloud(load_shape("sample:box"), 1000)
        >>> cloud.is_mesh, cloud.vertices.shape, cloud.normals.shape
        (False, (1000, 3), (1000, 3))
    """
    pts, normals = shape_metrics.sample_surface(data.vertices, data.faces, n, seed=seed)
    return ShapeData(pts, None, normals, data.name)
