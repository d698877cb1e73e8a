"""Images as fields ``(x, y) -> values``.

Pixel ``(row i, column j)`` of an ``H x W`` image sits at
``x = (j + 0.5) / W * 2 - 1``, ``y = (i + 0.5) / H * 2 - 1`` (``y`` grows
downwards, as rows do). Values are in ``[0, 1]``: 8-bit and 16-bit data are
divided by 255 and 65535; channels are kept (grey 1, grey+alpha 2, RGB 3, RGBA 4).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tyro.conf import Positional

import numpy as np
import torch

from .. import metrics
from ..errors import InrkitError
from ..grids import evaluate_grid, grid_coordinates
from ..io import IMAGE_SUFFIXES, atomic_path, input_file
from .base import Kind, SampledSignal, SampleSet

__all__ = ["ImageSignal", "ImageOptions", "KIND", "SAMPLES", "READABLE", "WRITABLE", "load_image", "save_image",
           "parse_size", "render_field", "write_field"]

# scikit-image's bundled images (no download), by name: description.
SAMPLES = {
    "camera": "cameraman, 512x512 grey (the SIREN paper's image)",
    "astronaut": "Eileen Collins, 512x512 RGB",
    "coffee": "cup of coffee, 600x400 RGB",
    "cat": "Chelsea the cat, 451x300 RGB",
    "rocket": "rocket launch, 640x427 RGB",
    "immunohistochemistry": "stained tissue, 512x512 RGB",
    "hubble_deep_field": "Hubble deep field, 1000x872 RGB",
    "colorwheel": "colour wheel, 371x370 RGB",
    "logo": "scikit-image logo, 500x500 RGBA",
    "brick": "brick wall texture, 512x512 grey",
    "grass": "grass texture, 512x512 grey",
    "gravel": "gravel texture, 512x512 grey",
    "moon": "lunar surface, 512x512 grey",
    "coins": "coins, 384x303 grey",
    "clock": "clock, 400x300 grey",
    "page": "scanned page of text, 384x191 grey",
    "text": "text on a photo, 448x172 grey",
    "checkerboard": "checkerboard, 200x200 grey",
}
_SAMPLE_FUNCS = {"cat": "chelsea"}
READABLE = IMAGE_SUFFIXES
"""The image file suffixes (lower case) that :func:`load_image` reads (:data:`inrkit.io.IMAGE_SUFFIXES`)."""
WRITABLE = tuple(s for s in READABLE if s not in (".gif", ".webp"))
"""The suffixes :func:`save_image` writes: all but GIF and WebP."""


def parse_size(text: str) -> tuple[int, int]:
    """``'WxH'`` -> ``(W, H)``, both positive."""
    parts = text.lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise InrkitError(f"size {text!r} is malformed; expected WIDTHxHEIGHT such as 256x256") from None
    if w <= 0 or h <= 0:
        raise InrkitError(f"size {text!r} must have a positive width and height")
    return w, h


def _to_unit(a: np.ndarray, what: str) -> tuple[np.ndarray, int]:
    """Scale an image array to float32 in [0, 1]; return it with its bit depth."""
    if a.dtype == bool:
        return a.astype(np.float32), 1
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255, 8
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535, 16
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise InrkitError(f"{what} contains NaN or infinite values")
        if a.min() < 0 or a.max() > 1:
            raise InrkitError(f"{what} has float values outside [0, 1]; expected a normalised image")
        return a.astype(np.float32), 32
    raise InrkitError(f"{what} has unsupported pixel type {a.dtype}; expected 8 or 16-bit integers or floats")


def _read_file(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    input_file(path, "image file", "an image file")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            return tifffile.imread(path)
        if _png_is_16_bit_colour(path):
            return _read_png16(path)  # Pillow would silently truncate these to 8 bits
        a = iio.imread(path, index=0) if path.suffix.lower() == ".gif" else iio.imread(path)
    except Exception as e:  # corrupt or not an image: every reader raises its own type
        raise InrkitError(f"could not read {str(path)!r} as an image: it is corrupt or not a PNG, JPEG, BMP, "
                          f"TIFF, GIF or WebP file ({type(e).__name__})") from None
    return a


def _png_is_16_bit_colour(path: Path) -> bool:
    """A PNG of 16-bit RGB, RGBA or grey+alpha (IHDR bit depth 16, colour type 2, 4 or 6)."""
    with open(path, "rb") as f:
        head = f.read(26)
    return head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 26 and head[24] == 16 and head[25] in (2, 4, 6)


def _read_png16(path: Path) -> np.ndarray:
    import png

    w, h, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = info["planes"]
    return np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(h, w, planes)


def _write_png16(path: Path, a: np.ndarray) -> None:
    import png

    h, w = a.shape[:2]
    planes = 1 if a.ndim == 2 else a.shape[2]
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[planes] + ";16"
    with open(path, "wb") as f:
        png.from_array(a.reshape(h, w * planes), mode).write(f)


def load_image(source: str, size: tuple[int, int] | None = None, train_stride: int = 1) -> "ImageSignal":
    """Read ``source`` (a file path, or ``sample:NAME``), optionally resized to ``size = (W, H)``."""
    if source.startswith("sample:"):
        name = source.split(":", 1)[1]
        if name not in SAMPLES:
            raise InrkitError(f"unknown sample {name!r}; `inrkit samples` lists: {', '.join(SAMPLES)}")
        import skimage.data

        a = getattr(skimage.data, _SAMPLE_FUNCS.get(name, name))()
    else:
        a = _read_file(Path(source))
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[..., None]  # (H, W, 1)
    if a.ndim != 3 or a.shape[-1] not in (1, 2, 3, 4) or min(a.shape[:2]) < 1:
        raise InrkitError(f"{source!r} has shape {a.shape}; expected an image of HxW or HxWxC with C from 1 to 4")
    image, bits = _to_unit(a, repr(source))
    if size is not None:
        from skimage.transform import resize

        w, h = size
        h0, w0 = image.shape[:2]
        if abs((w / h) / (w0 / h0) - 1) > 0.01:
            warnings.warn(f"--size {w}x{h} stretches the {w0}x{h0} image {(w / h) / (w0 / h0):.2f}x horizontally "
                          f"(it is fitted so; {w}x{max(1, round(w * h0 / w0))} keeps its shape)")
        image = resize(image, (h, w), order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)
    return ImageSignal(image, name=source, train_stride=train_stride, bit_depth=bits)


def save_image(path: str | Path, image: np.ndarray, bit_depth: int = 8) -> None:
    """Write ``(H, W, C)`` values in [0, 1] (or uint8) as an image file, atomically."""
    import imageio.v3 as iio

    a = np.asarray(image)
    if a.dtype not in (np.uint8, np.uint16):
        a = np.clip(a, 0, 1)
        a = (a * 65535 + 0.5).astype(np.uint16) if bit_depth == 16 else (a * 255 + 0.5).astype(np.uint8)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    path = Path(path)
    if path.suffix.lower() not in WRITABLE:
        raise InrkitError(f"cannot write an image as {path.name!r}; expected a name ending in {', '.join(WRITABLE)}")
    try:
        with atomic_path(path) as tmp:
            if a.dtype == np.uint16 and a.ndim == 3 and path.suffix.lower() == ".png":
                _write_png16(tmp, a)  # Pillow cannot write 16-bit colour PNGs
            else:
                iio.imwrite(tmp, a, extension=path.suffix)
    except OSError as e:
        raise InrkitError(f"could not write {str(path)!r}: {e.strerror or e}") from None


def to_uint8(y: torch.Tensor) -> np.ndarray:
    """Field values in [0, 1] to ``uint8`` (rounded, clipped)."""
    return (y.float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


class ImageSignal(SampledSignal):
    """An image with its training pixels (every ``train_stride``-th row and column).

    ``image: (H, W, C)`` float32 in [0, 1].
    """

    kind = "image"
    in_dim = 2

    def __init__(self, image: np.ndarray, name: str = "", train_stride: int = 1, bit_depth: int = 8):
        if train_stride < 1:
            raise InrkitError(f"train stride must be at least 1, got {train_stride}")
        self.image = np.asarray(image, np.float32)
        self.height, self.width, self.channels = self.image.shape
        if train_stride > 1 and (self.height < 2 * train_stride or self.width < 2 * train_stride):
            raise InrkitError(f"the image ({self.width}x{self.height}) is too small for train stride {train_stride}")
        self.name, self.train_stride, self.bit_depth = name, train_stride, bit_depth
        self.out_dim = self.channels

    @property
    def resolution(self) -> int:
        """Samples across the largest side that training sees (the side over ``train_stride``):
        the finest detail the observations can pin down, which sizes grid encodings and band limits."""
        return max(self.height, self.width) // self.train_stride

    @property
    def grid_resolution(self) -> int:
        """Pixels across the largest side: where a hash grid's finest level goes, with or without a
        train stride. With vertices at every pixel's edges, a pixel between two training pixels is
        read from vertices that each training pixel sets (about bilinear interpolation); a finest
        level at the training samples' size is staggered against them by a quarter cell and scores
        about 1 dB lower on the held-out pixels (BENCHMARKS.md)."""
        return max(self.height, self.width)

    def train_mask(self) -> np.ndarray:
        """``(H, W)`` bool: pixels used for training."""
        s = self.train_stride
        m = np.zeros((self.height, self.width), bool)
        m[::s, ::s] = True
        return m

    def train_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Training coordinates ``(N, 2)`` and values ``(N, C)``."""
        s = self.train_stride
        coords = grid_coordinates((self.height, self.width))[::s, ::s].reshape(-1, 2)  # (N, 2)
        values = torch.from_numpy(np.ascontiguousarray(self.image[::s, ::s])).reshape(-1, self.channels)  # (N, C)
        return coords, values

    def metadata(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.name,
            "shape": [self.height, self.width, self.channels],
            "value_range": [0.0, 1.0],
            "bit_depth": self.bit_depth,
            "train_stride": self.train_stride,
        }

    def predict(self, fn: Callable[[torch.Tensor], torch.Tensor], device=None) -> np.ndarray:
        """Field values at every pixel: ``(H, W, C)`` float32 clipped to [0, 1]."""
        out = evaluate_grid(fn, (self.height, self.width), self.channels, device=device)
        return np.clip(out, 0, 1)

    def evaluate(self, pred: np.ndarray, full: bool = True) -> dict:
        """Metrics of a prediction ``(H, W, C)``: PSNR on the full image, and with ``full`` SSIM and,
        for a train stride ``s > 1``, PSNR on the unseen pixels (``psnr_unseen``) and on the pixels
        midway between training pixels along both axes, ``[s//2::s, s//2::s]`` (``psnr_offgrid``:
        the Fourier-features paper's test set, its Table 1's figure)."""
        out = {"psnr": metrics.psnr(pred, self.image)}
        if full:
            out["ssim"] = metrics.ssim(pred, self.image)
            s = self.train_stride
            if s > 1:
                unseen = ~self.train_mask()[..., None]
                out["psnr_unseen"] = metrics.psnr(pred, self.image, mask=unseen)
                out["psnr_offgrid"] = metrics.psnr(pred[s // 2 :: s, s // 2 :: s], self.image[s // 2 :: s, s // 2 :: s])
        return out

    def save(self, path: str | Path, pred: np.ndarray) -> None:
        """The reconstruction ``(H, W, C)`` at ``path`` (at the source's bit depth) and ``comparison.png``
        beside it: target | reconstruction (with its PSNR) | absolute error (mean over channels)."""
        from ..plots import db, image_comparison

        save_image(path, pred, 16 if self.bit_depth == 16 else 8)
        psnr = metrics.psnr(pred, self.image)
        note = f", trained on every {self.train_stride}th pixel per axis" if self.train_stride > 1 else ""
        image_comparison(Path(path).with_name("comparison.png"),
                         [(self.image, "target"), (pred, f"reconstruction {db(psnr)}")],
                         error=(np.abs(pred - self.image).mean(-1), "|reconstruction - target|"),
                         title=f"{self.name or 'image'}, PSNR {db(psnr)}{note}")


def render_image(
    fn: Callable[[torch.Tensor], torch.Tensor],
    size: tuple[int, int],
    channels: int,
    region: tuple[tuple[float, float], tuple[float, float]] | None = None,
    chunk_size: int = 1 << 16,
    device=None,
) -> np.ndarray:
    """Sample a field on a ``size = (W, H)`` pixel grid over ``region = ((x0, y0), (x1, y1))``: ``uint8 (H, W, C)``.

    Goes through the chunked evaluator, so memory is the output plus one chunk.
    """
    w, h = size
    return evaluate_grid(
        fn, (h, w), channels, region=region, chunk_size=chunk_size, device=device, convert=to_uint8, out_dtype=np.uint8
    )


# ---------------------------------------------------------------- the kind: `inrkit fit image`, render, info


@dataclass
class ImageOptions:
    """Fit a field to an image (a file, or sample:NAME from `inrkit samples`)."""

    source: Positional[str] = "sample:camera"
    """Image file (PNG, JPEG, BMP, TIFF; 8 or 16 bit; grey, RGB or RGBA) or sample:NAME."""
    size: Optional[str] = None
    """Resize the image to WIDTHxHEIGHT first (e.g. 256x256)."""
    train_stride: int = 1
    """Train on every S-th pixel of each row and column; metrics are on the full image."""


def _load(o: ImageOptions, seed: int = 0, preset=None) -> ImageSignal:
    return load_image(o.source, size=parse_size(o.size) if o.size else None, train_stride=o.train_stride)


def _summary(m: dict, o, signal) -> str:
    extra = f", unseen pixels {m['psnr_unseen']:.2f} dB" if "psnr_unseen" in m else ""
    return (f"{m['preset']} on {o.source}: PSNR {m['psnr']:.2f} dB{extra}, SSIM {m['ssim']:.4f}, "
            f"{m['steps']} steps in {m['seconds']:.1f} s, {m['params']:,} parameters")


def describe_image(sig: dict) -> str:
    """``inrkit info``'s line for a 2D field (image, Poisson, CT, 2D MRI): its source and pixel size."""
    h, w, c = sig["shape"]
    return f"{sig['kind']} {sig.get('source', '')}, {w}x{h} pixels, {c} channel(s)"


def render_field(field, size=None, scale: float = 1.0, region=None, chunk_size: int = 1 << 16, device=None,
                 fn=None) -> np.ndarray:
    """An image field (or CT, 2D MRI) at any size, over its whole ``[-1, 1]²`` or ``region``: ``uint8 (H, W, C)``.

    ``size``: ``(W, H)`` or ``"WxH"`` (default: the training size times ``scale``); ``region``: see
    :func:`inrkit.outputs.parse_region`; ``fn``: what to sample instead of ``field`` (a masked field). A
    field whose values depend on the output pixel's size (an image through a learned prior,
    :class:`inrkit.superres.ImageField`) is told it through its ``for_size(size, region)``.
    """
    from ..outputs import field_meta, output_size, parse_region

    h0, w0, c = field_meta(field)["signal"]["shape"]
    reg = parse_region(region)
    w, h = output_size(size, scale, (w0, h0), region=reg)
    if hasattr(field, "for_size"):
        field.for_size((w, h), reg)
    device = device if device is not None else next(field.parameters()).device
    return render_image(fn or field, (w, h), c, region=reg, chunk_size=chunk_size, device=device)


def write_field(field, out, folder, render=render_field, note: str = "", **options) -> str:
    """``inrkit render`` of a 2D field: ``render(field, **options)`` written as ``out`` (default
    ``folder/render_WxH.png``); returns what was written."""
    from ..outputs import render_target

    render_target(out, folder, WRITABLE, "an image")  # a bad --out fails before the rendering
    image = render(field, **options)  # (H, W, C)
    h, w = image.shape[:2]
    target = render_target(out, folder, WRITABLE, "an image", f"render_{w}x{h}.png")
    save_image(target, image)
    return f"wrote {target} ({w}x{h}{note})"


KIND = Kind(
    name="image",
    help=ImageOptions.__doc__,
    options=ImageOptions,
    load=_load,
    summary=_summary,
    describe=describe_image,
    render=render_field,
    write=write_field,
    samples=SampleSet("images", SAMPLES),
)
