"""Video as a field ``(x, y, t) -> colour``.

Frame ``k`` of ``T``, pixel ``(row i, column j)`` of ``H x W`` sits at
``x = (j + 0.5) / W * 2 - 1``, ``y = (i + 0.5) / H * 2 - 1``,
``t = (k + 0.5) / T * 2 - 1``: the clip fills ``[-1, 1]^3``, so sampling other
frame times renders other frame rates (temporal super-resolution) and other
pixel grids other resolutions. Values are in ``[0, 1]`` (8-bit / 255).

Clips are read frame by frame with imageio (MP4 and other containers through
PyAV, the ``video`` extra; GIF through Pillow; a folder of image files in name
order), resized and subsampled on the way in, so only the kept frames are
held. Before reading, the memory the fit needs (the clip, plus the training
coordinates and values the fit loop draws random pixel batches from) is
compared with the memory available, and a clip that does not fit is refused.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import torch
from tyro.conf import Positional

from .. import metrics
from ..errors import InrkitError
from ..grids import evaluate_grid, grid_coordinates
from ..io import atomic_path
from ..memory import available_memory
from .image import READABLE
from .base import Kind, SampledSignal, SampleSet

__all__ = [
    "VideoSignal",
    "VideoOptions",
    "KIND",
    "render_field",
    "write_field",
    "sample_frames",
    "VIDEO_SAMPLES",
    "load_video",
    "save_video",
    "render_video",
    "has_codec",
    "available_memory",
]

VIDEO_SAMPLES = {"disks": "three coloured disks orbiting over a drifting gradient, 32 frames of 64x64 at 16 fps"}
_GIF_EXTS = {".gif"}
_FRAME_SUFFIXES = tuple(s for s in READABLE if s not in _GIF_EXTS)  # a GIF in a folder is a clip, not a frame
# Bytes per pixel the fit holds besides the uint8 clip: float32 (x, y, t) twice (the loop's training
# coordinates and their cached identity encoding), and per channel float32 training values, the
# prediction and the float target an evaluation compares.
_COORD_BYTES_PER_PIXEL = 2 * 3 * 4
_BYTES_PER_VALUE = 1 + 3 * 4


def has_codec() -> bool:
    """Whether PyAV (the ``video`` extra) is installed: MP4 and other containers can be read and written."""
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True



def fit_memory(frames: int, height: int, width: int, channels: int) -> int:
    """Bytes a fit of such a clip holds at its peak: the uint8 clip, the loop's float coordinates and values,
    and an evaluation's prediction and target (the network's activations come on top, one batch at a time)."""
    px = frames * height * width
    return px * (_COORD_BYTES_PER_PIXEL + _BYTES_PER_VALUE * channels)


def _disks(t: int = 32, h: int = 64, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = (yy + 0.5) / h, (xx + 0.5) / w
    out = np.empty((t, h, w, 3), np.float32)
    colours = np.array([[0.95, 0.25, 0.2], [0.2, 0.8, 0.3], [0.25, 0.35, 0.95]], np.float32)
    for k in range(t):
        s = k / t
        bg = 0.35 + 0.25 * np.sin(2 * np.pi * (xx + yy + s))  # drifting diagonal gradient
        frame = np.stack([bg, 0.6 * bg + 0.2 * xx, 0.5 - 0.3 * bg * yy], axis=-1)
        for n, c in enumerate(colours):
            a = 2 * np.pi * (s + n / 3)
            cx, cy, r = 0.5 + 0.28 * np.cos(a), 0.5 + 0.28 * np.sin(a), 0.11 + 0.03 * n
            d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
            inside = np.clip((r - d) * w, 0, 1)[..., None]  # one-pixel anti-aliased edge
            frame = frame * (1 - inside) + c * inside
        out[k] = frame
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def _frame_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES and p.is_file())
    if not files:
        raise InrkitError(f"folder {str(folder)!r} holds no frames; expected image files (PNG, JPEG, ...) "
                          "named in frame order")
    return files


def _probe(path: Path) -> tuple[int, int, int, int, float]:
    """``(frames, height, width, channels, fps)`` without decoding the clip."""
    import imageio.v3 as iio

    if path.is_dir():
        files = _frame_files(path)
        first = _as_hwc(iio.imread(files[0]), files[0])
        return len(files), *first.shape, 0.0
    if path.suffix.lower() in _GIF_EXTS:
        props = iio.improps(path, index=None)
        meta = iio.immeta(path, index=0)
        fps = 1000.0 / meta["duration"] if meta.get("duration") else 0.0
        shape = props.shape
        frames = shape[0] if props.is_batch else 1
        hwc = shape[1:] if props.is_batch else shape
        return frames, hwc[0], hwc[1], (hwc[2] if len(hwc) == 3 else 1), fps
    if not has_codec():
        raise InrkitError(f"reading {str(path)!r} needs a video codec: pip install 'inrkit[video]' (PyAV)")
    props = iio.improps(path, plugin="pyav")
    fps = float(iio.immeta(path, plugin="pyav").get("fps") or 0.0)
    n, h, w = props.shape[:3]
    return n, h, w, 3, fps


def _as_hwc(a: np.ndarray, what) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise InrkitError(f"frame {str(what)!r} has shape {a.shape}; expected HxW or HxWxC with C of 1, 3 or 4")
    if a.dtype != np.uint8:
        raise InrkitError(f"frame {str(what)!r} has pixel type {a.dtype}; expected 8-bit frames")
    return a


def _frames(path: Path) -> Iterator[np.ndarray]:
    import imageio.v3 as iio

    if path.is_dir():
        for f in _frame_files(path):
            yield iio.imread(f)
    elif path.suffix.lower() in _GIF_EXTS:
        yield from iio.imiter(path)
    else:
        yield from iio.imiter(path, plugin="pyav")


def load_video(
    source: str,
    size: tuple[int, int] | None = None,
    max_frames: int = 0,
    frame_step: int = 1,
    memory_limit: int | None = None,
) -> "VideoSignal":
    """Read a clip (MP4 or another container, GIF, a folder of frames, or ``sample:disks``).

    ``size = (W, H)`` resizes every frame; ``frame_step`` keeps every n-th frame and ``max_frames`` the
    first n kept (0: all). Refuses a clip whose fit would need more than ``memory_limit`` bytes (default:
    the memory available now) before decoding it.
    """
    if frame_step < 1 or max_frames < 0:
        raise InrkitError(f"frame step must be at least 1 and max frames non-negative, got {frame_step}, {max_frames}")
    if source.startswith("sample:"):
        name = source.split(":", 1)[1]
        if name not in VIDEO_SAMPLES:
            raise InrkitError(f"unknown video sample {name!r}; expected one of {', '.join(VIDEO_SAMPLES)}")
        clip, fps = _disks(), 16.0
        clip = clip[::frame_step][: max_frames or None]
        return _finish(clip, fps / frame_step, source, size)
    path = Path(source)
    if not path.exists():
        raise InrkitError(f"video {source!r} does not exist")
    try:
        n, h, w, c, fps = _probe(path)
    except InrkitError:
        raise
    except Exception as e:
        raise InrkitError(f"could not read {source!r} as a video (MP4, GIF or a folder of frames): {e}") from None
    if n < 1 or h < 1 or w < 1:
        raise InrkitError(f"video {source!r} is empty (no frames)")
    kept = len(range(0, n, frame_step))
    kept = min(kept, max_frames) if max_frames else kept
    out_w, out_h = size or (w, h)
    need = fit_memory(kept, out_h, out_w, c)
    limit = available_memory() if memory_limit is None else memory_limit
    if need > limit:
        raise InrkitError(
            f"fitting {source!r} ({kept} frames of {out_w}x{out_h}) needs about {_size(need)} but "
            f"{_size(limit)} is available; use --size, --frame-step or --max-frames to fit a smaller clip"
        )
    frames, first = [], None
    try:
        for k, frame in enumerate(_frames(path)):
            if k % frame_step:
                continue
            frame = _as_hwc(frame, f"{source} frame {k}")
            first = frame.shape if first is None else first
            if frame.shape != first:
                raise InrkitError(f"frame {k} of {source!r} has shape {frame.shape}, unlike frame 0's {first}")
            frames.append(_resize(frame, size))
            if max_frames and len(frames) >= max_frames:
                break
    except InrkitError:
        raise
    except Exception as e:
        raise InrkitError(f"could not decode {source!r} ({type(e).__name__}: {e})") from None
    if not frames:
        raise InrkitError(f"video {source!r} is empty (no frames)")
    return _finish(np.stack(frames), fps / frame_step if fps else 0.0, source, None)


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def _resize(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or (frame.shape[1], frame.shape[0]) == tuple(size):
        return frame
    from skimage.transform import resize

    w, h = size
    r = resize(frame, (h, w), order=1, anti_aliasing=True, preserve_range=True)
    return (np.clip(r, 0, 255) + 0.5).astype(np.uint8)


def _finish(clip: np.ndarray, fps: float, name: str, size) -> "VideoSignal":
    if size is not None:
        clip = np.stack([_resize(f, size) for f in clip])
    if clip.shape[-1] == 4:
        clip = clip[..., :3]  # alpha does not survive video containers
    return VideoSignal(clip, fps or 25.0, name=name)


def save_video(path: str | Path, frames: np.ndarray, fps: float) -> Path:
    """Write ``frames: (T, H, W, C)`` uint8 (or floats in [0, 1]) atomically; returns the path written.

    MP4 (H.264 through PyAV) when the ``video`` extra is installed; otherwise, or for a ``.gif`` name,
    a GIF beside it. Odd sizes are padded by one edge pixel for H.264 (which needs even sizes).
    """
    import imageio.v3 as iio

    a = np.asarray(frames)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)  # (T, H, W, 3): containers want colour
    path = Path(path)
    if path.suffix.lower() != ".gif" and not has_codec():
        path = path.with_suffix(".gif")
    try:
        with atomic_path(path) as tmp:
            if path.suffix.lower() == ".gif":
                iio.imwrite(tmp, a, extension=".gif", duration=1000.0 / fps, loop=0)
            else:
                pad = ((0, 0), (0, a.shape[1] % 2), (0, a.shape[2] % 2), (0, 0))
                a = np.pad(a, pad, mode="edge")
                iio.imwrite(tmp, a, plugin="pyav", codec="libx264", fps=fps,
                            out_pixel_format="yuv420p", extension=path.suffix or ".mp4")
    except OSError as e:
        raise InrkitError(f"could not write {str(path)!r}: {e.strerror or e}") from None
    return path


class VideoSignal(SampledSignal):
    """A clip ``frames: (T, H, W, C)`` uint8 at ``fps``; coordinates ``(x, y, t)`` at pixel and frame centres."""

    kind = "video"
    in_dim = 3

    def __init__(self, frames: np.ndarray, fps: float, name: str = ""):
        a = np.asarray(frames)
        if a.ndim == 3:
            a = a[..., None]
        if a.ndim != 4 or min(a.shape) < 1 or a.shape[-1] not in (1, 3):
            raise InrkitError(f"video {name!r} has shape {a.shape}; expected (frames, height, width, 1 or 3 channels)")
        if a.dtype != np.uint8:
            raise InrkitError(f"video {name!r} has pixel type {a.dtype}; expected 8-bit frames")
        if not fps > 0:
            raise InrkitError(f"video {name!r} has frame rate {fps}; expected a positive number")
        self.frames, self.fps, self.name = a, float(fps), name
        self.n_frames, self.height, self.width, self.channels = a.shape
        self.out_dim = self.channels

    @property
    def output_name(self) -> str:
        return "reconstruction.mp4" if has_codec() else "reconstruction.gif"

    @property
    def resolution(self) -> int:
        """Samples across the largest axis (frames, rows or columns)."""
        return max(self.n_frames, self.height, self.width)

    def train_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Coordinates ``(T*H*W, 3)`` as ``(x, y, t)`` and values ``(T*H*W, C)`` in [0, 1]; the loop draws batches."""
        coords = grid_coordinates((self.n_frames, self.height, self.width)).reshape(-1, 3)  # (T*H*W, 3)
        values = torch.from_numpy(self.frames).reshape(-1, self.channels).float().div_(255)  # (T*H*W, C)
        return coords, values

    def metadata(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.name,
            "shape": [self.n_frames, self.height, self.width, self.channels],
            "fps": self.fps,
            "value_range": [0.0, 1.0],
        }

    def predict(self, fn: Callable[[torch.Tensor], torch.Tensor], device=None) -> np.ndarray:
        """Field values at every pixel of every frame: ``(T, H, W, C)`` float32 in [0, 1]."""
        shape = (self.n_frames, self.height, self.width)
        return np.clip(evaluate_grid(fn, shape, self.channels, device=device), 0, 1)

    def target(self) -> np.ndarray:
        return self.frames.astype(np.float32) / 255

    def evaluate(self, pred: np.ndarray, full: bool = True) -> dict:
        """``psnr`` over the clip; with ``full`` also ``psnr_per_frame``, its minimum and the mean SSIM
        (frames of at least 11x11)."""
        target = self.target()
        out = {"psnr": metrics.psnr(pred, target)}
        if full:
            per = [metrics.psnr(p, t) for p, t in zip(pred, target)]
            out["psnr_per_frame"] = [round(v, 3) for v in per]
            out["psnr_min_frame"] = min(per)
            if min(self.height, self.width) >= 11:  # SSIM's 11x11 Gaussian window
                out["ssim"] = float(np.mean([metrics.ssim(p, t) for p, t in zip(pred, target)]))
        return out

    def save(self, path: str | Path, pred: np.ndarray) -> None:
        """Write the reconstruction (MP4, or GIF without a codec) and ``comparison.png`` beside it."""
        path = Path(path)
        save_video(path, pred, self.fps)
        plot_comparison(path.parent / "comparison.png", self.target(), pred)


def plot_comparison(path: Path, target: np.ndarray, pred: np.ndarray) -> bool:
    """Per-frame PSNR and four frames (original above the field); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("matplotlib is not installed: comparison.png skipped (pip install matplotlib)")
        return False
    per = [metrics.psnr(p, t) for p, t in zip(pred, target)]
    picks = np.unique(np.linspace(0, len(target) - 1, 4).round().astype(int))
    aspect = target.shape[1] / target.shape[2]  # H / W of a frame
    fig = plt.figure(figsize=(3 * len(picks), 2.5 + 2 * (3 * aspect + 0.4)))
    grid = fig.add_gridspec(3, len(picks), height_ratios=[2.5, 3 * aspect + 0.4, 3 * aspect + 0.4])
    ax = fig.add_subplot(grid[0, :])
    ax.plot(np.arange(len(per)), per, marker=".")
    ax.set(xlabel="frame", ylabel="PSNR (dB)", title=f"per-frame PSNR (mean over the clip's MSE: "
                                                      f"{metrics.psnr(pred, target):.2f} dB)")
    for col, k in enumerate(picks):
        for row, (a, label) in enumerate(((target, "original"), (pred, "field"))):
            sub = fig.add_subplot(grid[1 + row, col])
            img = a[k]
            sub.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            sub.set_title(f"{label}, frame {k}" + (f" ({per[k]:.1f} dB)" if row else ""), fontsize=9)
            sub.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return True


def render_video(
    fn: Callable[[torch.Tensor], torch.Tensor],
    path: str | Path,
    size: tuple[int, int],
    n_frames: int,
    fps: float,
    channels: int,
    chunk_size: int = 1 << 16,
    device=None,
) -> Path:
    """Sample a field at ``n_frames`` frame centres over ``t in [-1, 1]`` on a ``size = (W, H)`` grid; write a clip.

    Frames are evaluated one at a time through the chunked evaluator (memory: the frames as uint8
    plus one chunk of activations) and written with :func:`save_video`; returns the path written.
    """
    return save_video(path, sample_frames(fn, size, n_frames, channels, chunk_size, device), fps)


def sample_frames(fn: Callable[[torch.Tensor], torch.Tensor], size: tuple[int, int], n_frames: int, channels: int,
                  chunk_size: int = 1 << 16, device=None, progress: bool = False) -> np.ndarray:
    """A field ``(x, y, t) -> values`` at ``n_frames`` frame centres over ``t in [-1, 1]`` on a ``size = (W, H)``
    grid: ``uint8 (T, H, W, C)``, one frame at a time through the chunked evaluator (memory: the frames
    plus one chunk of activations)."""
    from ..progress import track

    w, h = size
    frames = np.empty((n_frames, h, w, channels), np.uint8)
    for k in track(range(n_frames), "rendering", enabled=progress):
        t = (k + 0.5) / n_frames * 2 - 1

        def at_t(xy: torch.Tensor, t=t) -> torch.Tensor:  # xy: (C, 2) -> field at (x, y, t)
            return fn(torch.cat([xy, torch.full_like(xy[:, :1], t)], dim=-1))

        frames[k] = evaluate_grid(
            at_t, (h, w), channels, chunk_size=chunk_size, device=device, out_dtype=np.uint8,
            convert=lambda y: (y.float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy(),
        )
    return frames


# ---------------------------------------------------------------- the kind: `inrkit fit video`, render, info


@dataclass
class VideoOptions:
    """Fit an (x, y, t) field to a video (MP4 and other containers, GIF, a folder of frames) or sample:disks."""

    source: Positional[str] = "sample:disks"
    """Video file (MP4, MOV, AVI, ... with the video extra; GIF), a folder of frame images, or sample:disks."""
    size: Optional[str] = None
    """Resize every frame to WIDTHxHEIGHT while reading."""
    frame_step: int = 1
    """Keep every n-th frame."""
    max_frames: int = 0
    """Keep at most this many frames (0: all)."""


def _load(o: VideoOptions, seed: int = 0, preset=None) -> "VideoSignal":
    from .image import parse_size

    return load_video(o.source, size=parse_size(o.size) if o.size else None, max_frames=o.max_frames,
                      frame_step=o.frame_step)


def _summary(m: dict, o, sig: "VideoSignal") -> str:
    return (f"{m['preset']} on {o.source} ({sig.n_frames} frames of {sig.width}x{sig.height} at {sig.fps:g} fps): "
            f"PSNR {m['psnr']:.2f} dB (worst frame {m['psnr_min_frame']:.2f}), SSIM {m.get('ssim', float('nan')):.4f}, "
            f"{m['steps']} steps in {m['seconds']:.1f} s")


def _describe(sig: dict) -> str:
    t, h, w = sig["shape"][:3]
    return f"video {sig.get('source', '')}, {t} frames of {w}x{h} at {sig.get('fps', 0):g} fps"


def render_field(field, size=None, scale: float = 1.0, fps: float | None = None, chunk_size: int = 1 << 16,
                 device=None, progress: bool = True) -> np.ndarray:
    """A clip field at any frame size and rate over the clip's duration: ``uint8 (T', H, W, C)`` with
    ``T' = T fps / fps0`` frames (default: the clip's size times ``scale`` and its own rate)."""
    from ..outputs import field_meta, output_size

    sig = field_meta(field)["signal"]
    t, h0, w0, c = sig["shape"]
    w, h = output_size(size, scale, (w0, h0), "the frames")
    rate = sig["fps"] if fps is None else fps
    if not (isinstance(rate, (int, float)) and 0 < rate < float("inf")):
        raise InrkitError(f"frame rate must be positive, got {fps}")
    n = max(1, round(t * rate / sig["fps"]))  # the same duration at the new frame rate
    device = device if device is not None else next(field.parameters()).device
    return sample_frames(field, (w, h), n, c, chunk_size, device, progress)


def write_field(field, out, folder, **options) -> str:
    """``inrkit render`` of a clip field: an MP4 (or GIF) at ``fps``."""
    from ..outputs import field_meta, render_target

    fps = field_meta(field)["signal"]["fps"] if options.get("fps") is None else options["fps"]
    render_target(out, folder, (".mp4", ".gif"), "a video")
    frames = render_field(field, **options)  # (T, H, W, C) uint8
    h, w = frames.shape[1:3]
    target = render_target(out, folder, (".mp4", ".gif"), "a video", f"render_{w}x{h}_{fps:g}fps.mp4")
    written = save_video(target, frames, fps)
    return f"wrote {written} ({len(frames)} frames of {w}x{h} at {fps:g} fps)"


KIND = Kind(name="video", help=VideoOptions.__doc__, options=VideoOptions, load=_load, summary=_summary,
            describe=_describe, render=render_field, write=write_field,
            samples=SampleSet("clips", VIDEO_SAMPLES), fit_defaults={"batch_size": 1 << 16})
