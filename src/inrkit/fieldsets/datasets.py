"""Datasets of signals: many images of one size, to fit many fields or learn a prior over them.

A dataset is ``images: (N, H, W, C)`` float32 in [0, 1] with one name per image. Sources:

- a folder of image files (PNG, JPEG, ...; files of other types beside them, such as a licence, are
  skipped), in name order;
- IDX files (the MNIST family's format, gzipped or not): a folder holding ``train-images-idx3-ubyte``
  and ``t10k-images-idx3-ubyte`` (Fashion-MNIST as distributed), or one such file;
- a ``.npy`` array ``(N, H, W)`` or ``(N, H, W, C)``, uint8 or floats in [0, 1];
- ``sample:shapes``: generated, no download (discs, squares and triangles in random colours).

Splits (``split``): an IDX folder has its own (train, t10k); elsewhere a stable 90/10 split by
*group*, the part of a file name before its first ``-`` or ``_`` (so emoji skin-tone variants, named
by their first code point, stay on one side), hashed with CRC-32; ``all`` takes every image.
Images with an alpha channel are composited onto white (RGB); grey stays one channel.

Examples:
    >>> d = load_dataset("sample:shapes", limit=8)
    >>> d.images.shape, d.images.dtype.name
    ((8, 32, 32, 3), 'float32')
    >>> load_dataset("sample:shapes", split="test", limit=3).names[0]
    'shape-0009'
"""
from __future__ import annotations

import gzip
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InrkitError
from ..io import IMAGE_SUFFIXES

__all__ = ["Dataset", "DATASET_SAMPLES", "SPLITS", "load_dataset", "split_of"]

DATASET_SAMPLES = {"shapes": "1,000 generated 32x32 RGB images: discs, squares and triangles in random colours"}
SPLITS = ("train", "test", "all")
TEST_SHARE = 10  # percent of groups held out


@dataclass
class Dataset:
    """``images (N, H, W, C)`` float32 in [0, 1], their ``names`` and the ``source`` they came from."""

    images: np.ndarray
    names: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of every image."""
        return tuple(self.images.shape[1:])


def split_of(name: str) -> str:
    """``train`` or ``test``: a stable 90/10 split by the name's group (before its first ``-`` or ``_``).

    Examples:
        >>> split_of("1f468-1f3fb.png") == split_of("1f468.png")
        True
    """
    group = Path(name).stem.replace("_", "-").split("-")[0]
    return "test" if zlib.crc32(group.encode()) % 100 < TEST_SHARE else "train"


def load_dataset(source: str | Path, size: tuple[int, int] | None = None, split: str = "train",
                 limit: int = 0) -> Dataset:
    """The images of ``source`` (see the module's docstring), resized to ``size = (W, H)`` when given
    (images of several sizes without it are an error), the ``split`` part, at most ``limit`` (0: all)."""
    if split not in SPLITS:
        raise InrkitError(f"unknown split {split!r}; expected {', '.join(SPLITS)}")
    if limit < 0:
        raise InrkitError(f"limit must be a number of images (0: all), got {limit}")
    text = str(source)
    if text.startswith("sample:"):
        images, names = _sample(text.split(":", 1)[1], split)
    else:
        path = Path(text)
        if not path.exists():
            raise InrkitError(f"dataset {text!r} does not exist")
        if path.is_dir() and _idx_files(path):
            images = _read_idx(_idx_files(path)[split if split != "all" else "train"])
            names = [f"{split}-{i:05d}" for i in range(len(images))]
        elif path.is_dir():
            images, names = _read_folder(path, split, size, limit)
        elif "idx3" in path.name:
            images = _read_idx(path)
            names = [f"{path.name.split('-')[0]}-{i:05d}" for i in range(len(images))]
        elif path.suffix.lower() == ".npy":
            images = _read_npy(path)
            names = [f"{path.stem}-{i:05d}" for i in range(len(images))]
        else:
            raise InrkitError(f"cannot read {text!r} as a dataset; expected a folder of images, IDX files "
                              "(train-images-idx3-ubyte[.gz]), a .npy array or sample:shapes")
    if limit:
        images, names = images[:limit], names[:limit]
    if isinstance(images, np.ndarray) and size is not None and images.shape[2:0:-1] != tuple(size):
        images = [*images]
    if isinstance(images, list):  # files of their own sizes
        images = _same_size(images, names, size, text)
    if len(images) == 0:
        raise InrkitError(f"dataset {text!r} has no images in its {split} split")
    return Dataset(np.ascontiguousarray(images, dtype=np.float32), list(names), text)


def _unit(a: np.ndarray, what: str) -> np.ndarray:
    """An image as float32 in [0, 1], ``(H, W, C)``; alpha composited onto white."""
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise InrkitError(f"{what} has values outside [0, 1] (or NaN); expected uint8 or floats in [0, 1]")
        a = a.astype(np.float32)
    else:
        raise InrkitError(f"{what} has pixel type {a.dtype}; expected uint8, uint16 or floats in [0, 1]")
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] in (2, 4):  # alpha onto white
        a = a[..., :-1] * a[..., -1:] + (1 - a[..., -1:])
    return a


def _same_size(images: list[np.ndarray], names: list[str], size, source: str) -> np.ndarray:
    if size is not None:
        from skimage.transform import resize

        w, h = size
        images = [im if im.shape[:2] == (h, w) else
                  resize(im, (h, w), order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)
                  for im in images]
    shapes = {im.shape for im in images}
    if len({s[:2] for s in shapes}) > 1:
        (a, b) = sorted({s[:2] for s in shapes})[:2]
        first = next(n for n, im in zip(names, images) if im.shape[:2] == a)
        other = next(n for n, im in zip(names, images) if im.shape[:2] == b)
        raise InrkitError(f"dataset {source!r} mixes image sizes ({first} is {a[1]}x{a[0]}, {other} is "
                          f"{b[1]}x{b[0]}); give --size WIDTHxHEIGHT to resize them all")
    channels = max(s[2] for s in shapes)
    return np.stack([np.repeat(im, channels, -1) if im.shape[2] < channels else im for im in images])


def _read_folder(path: Path, split: str, size, limit: int) -> tuple[list[np.ndarray], list[str]]:
    import imageio.v3 as iio

    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InrkitError(f"folder {str(path)!r} holds no images (PNG, JPEG, BMP, TIFF, GIF or WebP files)")
    if split != "all":
        files = [p for p in files if split_of(p.name) == split]
    if limit:
        files = files[:limit]
    images = []
    for p in files:
        try:
            with warnings.catch_warnings():  # Pillow on palette PNGs with transparency: read as RGBA all the same
                warnings.filterwarnings("ignore", "Palette images with Transparency")
                a = np.asarray(iio.imread(p, index=0) if p.suffix.lower() == ".gif" else iio.imread(p))
        except Exception as e:  # every reader raises its own type for a corrupt file
            raise InrkitError(f"could not read {str(p)!r} as an image ({type(e).__name__})") from None
        if a.ndim == 3 and a.shape[-1] not in (1, 2, 3, 4):
            raise InrkitError(f"{str(p)!r} has shape {a.shape}; expected a grey or RGB(A) image")
        images.append(_unit(a, repr(str(p))))
    return images, [p.name for p in files]


def _idx_files(folder: Path) -> dict[str, Path]:
    found = {}
    for split, prefix in (("train", "train-images-idx3-ubyte"), ("test", "t10k-images-idx3-ubyte")):
        for name in (prefix, prefix + ".gz"):
            if (folder / name).is_file():
                found[split] = folder / name
    return found if len(found) == 2 else {}


def _read_idx(path: Path) -> np.ndarray:
    """An IDX image file (magic 2051: count, rows, cols, then uint8 pixels): ``(N, H, W, 1)`` in [0, 1]."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic, n, rows, cols = struct.unpack(">4I", f.read(16))
            if magic != 2051:
                raise InrkitError(f"{str(path)!r} is not an IDX image file (magic {magic}, expected 2051)")
            data = f.read(n * rows * cols)
    except (OSError, EOFError, struct.error) as e:
        raise InrkitError(f"could not read {str(path)!r} as an IDX image file: {e}") from None
    if len(data) != n * rows * cols:
        raise InrkitError(f"{str(path)!r} is truncated: {len(data):,} of {n * rows * cols:,} pixel bytes")
    return (np.frombuffer(data, np.uint8).reshape(n, rows, cols, 1).astype(np.float32) / 255)


def _read_npy(path: Path) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InrkitError(f"could not read {str(path)!r} as a NumPy array: {e}") from None
    if a.ndim not in (3, 4) or (a.ndim == 4 and a.shape[-1] not in (1, 2, 3, 4)):
        raise InrkitError(f"{str(path)!r} has shape {a.shape}; expected (N, H, W) or (N, H, W, C) images")
    return np.stack([_unit(im, repr(str(path))) for im in a]) if len(a) else a.astype(np.float32)


def _sample(name: str, split: str) -> tuple[np.ndarray, list[str]]:
    if name not in DATASET_SAMPLES:
        raise InrkitError(f"unknown dataset sample:{name}; expected one of "
                          + ", ".join(f"sample:{k}" for k in DATASET_SAMPLES))
    images = shapes_dataset(1000)
    names = [f"shape-{i:04d}" for i in range(len(images))]
    keep = [i for i in range(len(images)) if split == "all" or (i % 10 == 9) == (split == "test")]
    return images[keep], [names[i] for i in keep]


def shapes_dataset(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """``n`` generated ``size x size`` RGB images ``(n, size, size, 3)`` in [0, 1]: a disc, a square or a
    triangle of a random colour, position and size on a random plain background, antialiased by 4x
    supersampling."""
    rng = np.random.default_rng(seed)
    s = size * 4
    yy, xx = (np.mgrid[0:s, 0:s] + 0.5) / s  # (s, s) in [0, 1]
    out = np.empty((n, size, size, 3), np.float32)
    for k in range(n):
        bg, fg = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.12, 0.28)
        shape = k % 3
        if shape == 0:
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        elif shape == 1:
            inside = (np.abs(xx - cx) < r) & (np.abs(yy - cy) < r)
        else:
            inside = (yy - cy < r) & (yy - cy > 2 * np.abs(xx - cx) - r)
        img = np.where(inside[..., None], fg, bg)  # (s, s, 3)
        out[k] = img.reshape(size, 4, size, 4, 3).mean((1, 3))
    return out
