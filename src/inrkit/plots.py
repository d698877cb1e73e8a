"""Figures written beside a fit: image comparisons, slice grids, depth maps, training curves.

Every figure is drawn with matplotlib's object API on an explicit Agg canvas: no pyplot, so no
global backend switch and no figure registry to close (a figure is freed with its last
reference), and each file is written atomically. matplotlib is optional (the ``test`` and
``bench`` extras): without it each function warns once, writes nothing and returns False.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from .errors import InrkitError
from .io import atomic_path

__all__ = [
    "db",
    "have_matplotlib",
    "new_figure",
    "save_figure",
    "image_comparison",
    "slice_grid",
    "depth_figure",
    "training_curve",
]

DPI = 100  # figures are sized in inches at this many pixels per inch


def have_matplotlib(what: str, missing: str | None = None) -> bool:
    """True when matplotlib imports; else one warning (``"WHAT skipped: pip install matplotlib"``,
    or ``missing``) and False."""
    try:  # the top-level package first: a blocked or missing matplotlib fails here even when submodules are cached
        import matplotlib  # noqa: F401
        import matplotlib.figure  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        warnings.warn(missing or f"{what} skipped: pip install matplotlib", stacklevel=3)
        return False
    return True


def new_figure(what: str, figsize: tuple[float, float], missing: str | None = None, **kwargs):
    """A matplotlib ``Figure`` of ``figsize`` inches on an Agg canvas (``kwargs`` go to ``Figure``,
    e.g. ``layout="constrained"``), or None after the one warning of :func:`have_matplotlib`."""
    try:
        import matplotlib  # noqa: F401  (first: see have_matplotlib)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        warnings.warn(missing or f"{what} skipped: pip install matplotlib", stacklevel=3)
        return None
    fig = Figure(figsize=figsize, dpi=DPI, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | Path, metadata: dict | None = None) -> None:
    """Write ``fig`` as a PNG at ``path`` atomically (``metadata``: PNG text chunks such as ``Description``)."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=DPI, format="png", metadata=metadata)
    except OSError as e:
        raise InrkitError(f"could not write {str(path)!r}: {e.strerror or e}") from None


def db(value: float) -> str:
    """A PSNR for a title: ``"31.20 dB"``, or ``"exact"`` for an identical reconstruction (infinite PSNR)."""
    return f"{value:.2f} dB" if math.isfinite(value) else ("exact" if value > 0 else f"{value} dB")


def _panel(a: np.ndarray) -> np.ndarray:
    """An image ``(H, W)`` or ``(H, W, C)`` (C 1-4) as imshow wants it: grey ``(H, W)`` or RGB(A)."""
    a = np.asarray(a, np.float32)
    if a.ndim == 3 and a.shape[-1] in (1, 2):
        a = a[..., 0]  # grey (+ alpha): the grey
    return np.clip(a, 0, 1)


def image_comparison(path: str | Path, panels: list[tuple[np.ndarray, str]],
                     error: tuple[np.ndarray, str] | None = None, title: str | None = None) -> bool:
    """Images side by side at one size, each under its title; False (and nothing written) without matplotlib.

    ``panels``: ``[(image, title), ...]``, images ``(H, W)`` or ``(H, W, C)`` in [0, 1], grey ones in
    a grey colour map over [0, 1]. ``error``: ``(values (H, W), title)``, drawn last in the inferno
    colour map from 0 to its 99.5th percentile (its maximum in the title), with a colour bar.
    ``title``: above the whole figure.
    """
    h, w = np.asarray(panels[0][0]).shape[:2]
    panel_w = min(max(w, 256), 480) / DPI  # inches: about one screen pixel per image pixel, 256 to 480
    panel_h = min(max(panel_w * h / w, 0.8), 6.0)
    n = len(panels) + (error is not None)
    size = (n * panel_w + (0.9 if error is not None else 0.2), panel_h + 0.45 + (0.35 if title else 0))
    fig = new_figure(Path(path).name, size, layout="constrained")
    if fig is None:
        return False
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (image, name) in zip(axes, panels):
        a = _panel(image)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(name)
        ax.set_axis_off()
    if error is not None:
        e = np.asarray(error[0], np.float32)
        top = max(float(np.percentile(e, 99.5)), 1e-6)  # a few outliers would leave the rest black
        im = axes[-1].imshow(e, cmap="inferno", vmin=0, vmax=top)
        axes[-1].set_title(f"{error[1]} (max {float(e.max()):.2g})")
        axes[-1].set_axis_off()
        fig.colorbar(im, ax=axes[-1], shrink=0.9, extend="max" if float(e.max()) > top else "neither")
    if title:
        fig.suptitle(title)
    save_figure(fig, path)
    return True


def slice_grid(path: str | Path, grid: list[list[np.ndarray]], row_labels: list[str], col_titles: list[str],
               pixel_aspect: list[float], vmin: float = 0.0, vmax: float = 1.0, colorbar_label: str = "",
               title: str | None = None, missing: str | None = None) -> bool:
    """Planes in a grid with one grey colour map and one colour bar; False without matplotlib.

    ``grid[r][c]``: 2D arrays; the planes of row ``r`` share a shape and ``pixel_aspect[r]`` (a
    pixel's physical height over its width), so each row is as tall as its planes' physical
    aspect asks at the common column width: no padding between unlike planes. ``row_labels``
    go left of each row, ``col_titles`` above each column (empty strings: none).
    """
    rows, cols = len(grid), len(grid[0])
    ratios = [min(max(g[0].shape[0] * a / g[0].shape[1], 0.2), 2.5) for g, a in zip(grid, pixel_aspect)]
    panel_w = 3.6 if cols == 1 else 3.0  # inches
    size = (cols * panel_w + 1.6, panel_w * sum(ratios) + 0.15 * rows + 0.4 + (0.35 if title else 0))
    fig = new_figure(Path(path).name, size, missing=missing, layout="constrained")
    if fig is None:
        return False
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw={"height_ratios": ratios})
    im = None
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            im = ax.imshow(grid[r][c], cmap="gray", vmin=vmin, vmax=vmax, aspect=pixel_aspect[r])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 and col_titles[c]:
                ax.set_title(col_titles[c])
            if c == 0:  # horizontal, so that a thin row's label does not run into its neighbours
                ax.set_ylabel(row_labels[r], rotation=0, ha="right", va="center")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=min(1.0, 0.4 + 0.2 * rows), label=colorbar_label)
    if title:
        fig.suptitle(title)
    save_figure(fig, path)
    return True


def depth_colours(depth: np.ndarray, opacity: np.ndarray, near: float, far: float,
                  cmap: str = "viridis_r", background=(1.0, 1.0, 1.0)) -> np.ndarray:
    """Depth ``(H, W)`` through ``cmap`` over ``[near, far]`` (clipped), blended onto ``background``
    by the opacity ``(H, W)`` (empty pixels: the background): ``(H, W, 3)`` uint8. Needs matplotlib."""
    import matplotlib

    t = np.clip((np.asarray(depth, np.float64) - near) / max(far - near, 1e-12), 0, 1)
    rgb = matplotlib.colormaps[cmap](t)[..., :3]  # (H, W, 3)
    alpha = np.clip(np.asarray(opacity, np.float64), 0, 1)[..., None]
    alpha = np.where(alpha < 0.01, 0.0, alpha)
    out = rgb * alpha + np.asarray(background, np.float64) * (1 - alpha)
    return (out * 255 + 0.5).astype(np.uint8)


def depth_figure(path: str | Path, depth: np.ndarray, opacity: np.ndarray, near: float, far: float,
                 unit: str = "world units", title: str | None = None, cmap: str = "viridis_r",
                 missing: str | None = None) -> bool:
    """A depth map pixel for pixel with a colour bar from ``near`` to ``far`` ``unit``; False without matplotlib.

    ``depth, opacity: (H, W)``. Colours come from :func:`depth_colours` (near bright, far dark with
    the default ``viridis_r``; depths outside the range take the end colours; pixels with no
    opacity are white). Each pixel is drawn as a ``k x k`` block (k the smallest integer making the
    map at least 256 pixels across), not resampled. The range is in the title, on the colour bar
    and in the PNG's ``Description`` text chunk.
    """
    h, w = np.asarray(depth).shape
    k = max(1, math.ceil(256 / max(h, w)))
    left, right, bottom, top = 10, 110, 10, 50  # margins in pixels; the colour bar sits in the right one
    fig = new_figure(Path(path).name, ((w * k + left + right) / DPI, (h * k + bottom + top) / DPI), missing=missing)
    if fig is None:
        return False
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    rgb = depth_colours(depth, opacity, near, far, cmap)
    fig.figimage(np.repeat(np.repeat(rgb, k, 0), k, 1), xo=left, yo=bottom, origin="upper")  # (H k, W k, 3)
    fw, fh = fig.get_size_inches() * DPI
    cax = fig.add_axes(((left + w * k + 15) / fw, bottom / fh, 14 / fw, h * k / fh))
    fig.colorbar(ScalarMappable(Normalize(near, far), cmap), cax=cax, extend="both", label=f"depth ({unit})")
    head = f"depth {near:.3g} to {far:.3g} {unit}"
    fig.text(0.5 * (left + w * k) / fw, 1 - 8 / fh, f"{title}\n{head}" if title else head, ha="center", va="top",
             fontsize=9)
    save_figure(fig, path, metadata={"Description": f"{head}; colour map {cmap}; white: empty (no opacity)"})
    return True


def training_curve(history: list[dict], metric: str, path: str | Path) -> bool:
    """Plot a fit's history: ``metric`` (top) and the loss on a log scale (bottom), against the
    step (left) and the wall-clock seconds (right).

    ``history``: the fit loop's rows ``{"step", "seconds", metric, "loss"}``; non-finite values
    (an infinite PSNR) and non-positive losses are left out. Returns True when ``path`` (a PNG)
    was written; False, writing nothing, for an empty history or, after one warning, when
    matplotlib is not installed.
    """
    if not history:
        return False
    fig = new_figure(Path(path).name, (9.0, 5.5), layout="constrained")
    if fig is None:
        return False
    step = np.array([r.get("step", np.nan) for r in history], np.float64)
    secs = np.array([r.get("seconds", np.nan) for r in history], np.float64)
    value = np.array([r.get(metric, np.nan) for r in history], np.float64)
    loss = np.array([r.get("loss", np.nan) for r in history], np.float64)
    axes = fig.subplots(2, 2, sharex="col")
    for c, (x, xlabel) in enumerate(((step, "step"), (secs, "seconds"))):
        ok = np.isfinite(x) & np.isfinite(value)
        axes[0][c].plot(x[ok], value[ok], marker="o" if ok.sum() < 30 else None, ms=3, color="C0")
        axes[0][c].set_ylabel(metric)
        ok = np.isfinite(x) & np.isfinite(loss) & (loss > 0)
        axes[1][c].plot(x[ok], loss[ok], marker="o" if ok.sum() < 30 else None, ms=3, color="C1")
        if ok.any():
            axes[1][c].set_yscale("log")
        axes[1][c].set(xlabel=xlabel, ylabel="loss")
        for ax in axes[:, c]:
            ax.grid(True, which="major", alpha=0.3)
    last = history[-1]
    v = last.get(metric, float("nan"))
    fig.suptitle(f"{metric} {v:.4g} at step {last.get('step', '?')} ({last.get('seconds', float('nan')):.1f} s)")
    save_figure(fig, path)
    return True
