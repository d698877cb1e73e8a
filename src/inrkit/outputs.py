"""What a fitted field gives back, one call each: the Python side of ``inrkit render``, ``inrkit mesh``
and ``inrkit eval``.

Every function here takes a field from :func:`inrkit.load` (its ``meta`` says what it was fitted to)
or the checkpoint folder itself, and returns arrays. The CLI parses its options, calls these same
functions and writes files, so the two give the same result:

================================================  ===========================================================
command                                           Python
================================================  ===========================================================
``inrkit render RUN [--size --scale --region]``   :func:`render` (any kind), :func:`inrkit.render_image`
``inrkit render RUN --rate R`` (audio)            ``render(RUN, rate=R)``, :func:`inrkit.signals.audio.resample_field`
``inrkit render RUN --fps F`` (video)             ``render(RUN, fps=F)``: ``uint8 (T, H, W, C)``
``inrkit render RUN --size N`` (volume)           :func:`render_volume`
``inrkit render RUN`` (shape)                     :func:`inrkit.render_shape`; with ``camera_path="orbit"``
                                                  :func:`inrkit.signals.shape.render_shape_orbit`
``inrkit render RUN --view N`` (NeRF)             :func:`inrkit.render_view` (``render(RUN, view=N)``)
``inrkit render RUN --camera-path P`` (NeRF)      :func:`inrkit.render_camera_path`
``inrkit mesh RUN``                               :func:`mesh`
``inrkit eval RUN``                               :func:`inrkit.evaluate_views`
================================================  ===========================================================

Options a kind has no use for (``rate`` for an image, ``azimuth`` for a sound, ...) give one
:class:`UserWarning` each naming what happens instead; bad values are one
:class:`~inrkit.errors.InrkitError` sentence.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Sequence

import numpy as np
import torch

from .errors import InrkitError

__all__ = ["as_field", "field_meta", "mesh", "output_size", "parse_region", "render", "render_target", "render_volume",
           "size_pair", "volume_size", "write_render"]

IMAGE_KINDS = ("image", "poisson", "ct", "mri")  # mri: 2D ones; a 3D one renders as a volume
SHAPE_KINDS = ("sdf", "occupancy")


# ---------------------------------------------------------------- fields and their metadata


def as_field(field_or_path, device=None):
    """A fitted field: ``field_or_path`` itself, or the checkpoint folder (or a file in it) loaded with
    :func:`inrkit.load` on ``device`` (default: CUDA when present, as the CLI's ``--device auto``)."""
    if isinstance(field_or_path, (str, os.PathLike)):
        from .checkpoint import load
        from .train import pick_device

        return load(field_or_path, device=pick_device(device or "auto"))
    if not isinstance(field_or_path, torch.nn.Module):
        raise InrkitError(f"expected a fitted field or a checkpoint folder, got a {type(field_or_path).__name__}")
    return field_or_path


def field_meta(field, kinds: Sequence[str] | None = None) -> dict:
    """``field.meta`` (its checkpoint's ``field.json``), once it names a signal of one of ``kinds``."""
    meta = getattr(field, "meta", None)
    if not isinstance(meta, dict) or not isinstance(meta.get("signal"), dict):
        raise InrkitError("the field carries no description of what it was fitted to (field.meta); "
                          "load it from its checkpoint folder with inrkit.load, or pass the folder")
    kind = meta["signal"].get("kind")
    if kinds is not None and kind not in kinds:
        raise InrkitError(f"this is a {kind!r} field; expected a {' or '.join(kinds)} field")
    return meta


def _kind(meta: dict) -> str:
    """The kind a field renders as: ``mri`` becomes ``image`` (2D) or ``volume`` (3D)."""
    sig = meta["signal"]
    if sig.get("kind") == "mri":
        return "image" if len(sig["shape"]) == 3 else "volume"
    return sig.get("kind")


# ---------------------------------------------------------------- sizes and regions


def _region_text(r) -> str:
    return ",".join(f"{v:g}" for v in r)


def parse_region(region) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """A region of an image's own ``[-1, 1]`` coordinates (x right, y down) as ``((x0, y0), (x1, y1))``.

    ``region``: None (the whole image), ``"x0,y0,x1,y1"``, four numbers, or ``((x0, y0), (x1, y1))``.
    It must be non-empty and lie within ``[-1, 1]``: the field was fitted there only, and what it
    returns outside is an extrapolation, not the image.

    Examples:
        >>> parse_region("-1,-1,0,0")
        ((-1.0, -1.0), (0.0, 0.0))
        >>> parse_region(((-0.5, -0.5), (0.5, 0.5)))
        ((-0.5, -0.5), (0.5, 0.5))
    """
    if region is None:
        return None
    text = region if isinstance(region, str) else repr(region)
    try:
        if isinstance(region, str):
            values = [float(v) for v in region.split(",")]
        else:
            values = [float(v) for v in np.asarray(region, np.float64).reshape(-1)]
        x0, y0, x1, y1 = values
    except (ValueError, TypeError):
        raise InrkitError(f"region {text!r} is malformed; expected x0,y0,x1,y1 such as -1,-1,0,0") from None
    if not all(math.isfinite(v) for v in values):
        raise InrkitError(f"region {text!r} is malformed; expected four finite numbers x0,y0,x1,y1")
    if not (x0 < x1 and y0 < y1):
        raise InrkitError(f"region {text!r} is empty; expected x0 < x1 and y0 < y1")
    if min(values) < -1 or max(values) > 1:
        raise InrkitError(f"region {_region_text(values)} must lie within [-1, 1] (the image's extent)")
    return (x0, y0), (x1, y1)


def _positive_scale(scale: float) -> float:
    if not (isinstance(scale, (int, float)) and 0 < scale < float("inf")):
        raise InrkitError(f"scale must be a positive finite number, got {scale}")
    return float(scale)


def size_pair(size) -> tuple[int, int]:
    """``"WxH"`` or ``(W, H)`` -> ``(W, H)``, both positive integers."""
    from .signals.image import parse_size

    if isinstance(size, str):
        return parse_size(size)
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InrkitError(f"size {size!r} is malformed; expected (WIDTH, HEIGHT) or 'WIDTHxHEIGHT'") from None
    if w <= 0 or h <= 0:
        raise InrkitError(f"size {w}x{h} must have a positive width and height")
    return w, h


def output_size(size, scale: float, base: tuple[int, int], what: str = "the image",
                region=None) -> tuple[int, int]:
    """The ``(W, H)`` to render: ``size`` (``"WxH"`` or ``(W, H)``), else ``base = (W0, H0)`` (the
    training size) times ``scale`` times the share of it ``region`` covers.

    A ``size`` whose aspect differs from the rendered area's (the region, or ``what``: the whole
    image) stretches it: that is rendered as asked, with a warning giving the factor.

    Examples:
        >>> output_size(None, 2.0, (48, 32))
        (96, 64)
        >>> output_size(None, 2.0, (48, 32), region=((-1, -1), (0, 0)))
        (48, 32)
    """
    w0, h0 = base
    fx, fy = (1.0, 1.0) if region is None else ((region[1][0] - region[0][0]) / 2, (region[1][1] - region[0][1]) / 2)
    if size is None:
        s = _positive_scale(scale)
        return max(1, round(w0 * s * fx)), max(1, round(h0 * s * fy))
    w, h = size_pair(size)
    area_w, area_h = w0 * fx, h0 * fy  # the rendered area, in the training image's pixels
    aspect = area_w / area_h
    if round(h * aspect) != w and round(w / aspect) != h:
        f = (w / h) / aspect
        how = f"{f:.2f}x horizontally" if f > 1 else f"{1 / f:.2f}x vertically"
        area = "the region" if region is not None else what
        warnings.warn(f"--size {w}x{h} stretches {area} {how} (it is {area_w:g}x{area_h:g} pixels of the "
                      f"training size; {w}x{max(1, round(w / aspect))} keeps its shape)")
    return w, h


def volume_size(size, scale: float, shape: Sequence[int]) -> tuple[int, int, int]:
    """A volume's render size in array order: ``size`` as N (a cube), ``"N0xN1xN2"`` or three numbers
    (as numpy and nibabel print shapes), else ``shape`` times ``scale``.

    Examples:
        >>> volume_size("64", 1.0, (32, 32, 16)), volume_size(None, 2.0, (32, 32, 16))
        ((64, 64, 64), (64, 64, 32))
    """
    if size is None:
        s = _positive_scale(scale)
        return tuple(max(1, round(n * s)) for n in shape)
    try:
        if isinstance(size, str):
            parts = [int(p) for p in size.lower().split("x")]
        elif isinstance(size, (int, np.integer)):
            parts = [int(size)]
        else:
            parts = [int(p) for p in size]
    except (TypeError, ValueError):
        parts = []
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or min(parts) < 1:
        raise InrkitError(f"size {size!r} is malformed for a volume; expected N or N0xN1xN2 such as 128x128x64")
    return tuple(parts)


def render_target(out, folder, suffixes: Sequence[str], what: str, default_name: str | None = None):
    """Where a render writes ``what``: ``out``, else ``folder / default_name`` (None when neither is known
    yet: call again once the rendering has given the name). Its folder must exist and its name end in one
    of ``suffixes``; a kind's ``write`` checks ``out`` this way before rendering, so a bad name costs nothing.

    Examples:
        >>> render_target(None, ".", (".png",), "an image", "render_8x8.png").name
        'render_8x8.png'
        >>> render_target("x.wav", ".", (".png",), "an image")
        Traceback (most recent call last):
        inrkit.errors.InrkitError: cannot write an image as 'x.wav'; expected a name ending in .png
    """
    from pathlib import Path

    from .io import output_folder_exists

    if out is None and default_name is None:
        return None
    target = output_folder_exists(Path(out) if out is not None else Path(folder) / default_name)
    if not target.name.lower().endswith(tuple(suffixes)):
        raise InrkitError(f"cannot write {what} as {target.name!r}; expected a name ending in {', '.join(suffixes)}")
    return target


# ---------------------------------------------------------------- options a kind has no use for


def _warn_ignored(kind: str, sig: dict, given: dict[str, bool], view, camera_path) -> None:
    """One warning per reason, naming the options that do nothing for this field and why."""
    shape, nerf = kind in SHAPE_KINDS, kind == "nerf"
    path = camera_path if camera_path is not None else ("dataset" if view is not None else "orbit")
    reasons: dict[str, list[str]] = {}

    def ignore(flag: str, why: str) -> None:
        if given.get(flag):
            reasons.setdefault(why, []).append(flag)

    what = f"{kind} fields"
    if kind == "audio":
        for flag in ("size", "scale", "region"):
            ignore(flag, "ignored for audio: a sound has no image size (--rate sets its rate)")
    else:
        ignore("rate", f"ignored for {what}: only a sound has a sample rate")
    if kind == "poisson":
        ignore("region", "ignored for poisson fields: the unobservable part is set over the whole image")
    elif kind not in ("image", "ct", "audio"):
        ignore("region", f"ignored for {what}: it picks part of an image")
    if shape:
        ignore("scale", f"ignored for {what}: a shape preview has no training size "
                        "(--size sets it, 512x512 by default)")
    if kind in ("image", "ct", "poisson", "volume", "audio"):
        ignore("fps", f"ignored for {what}: only a video has a frame rate")
    if not (nerf or shape):
        for flag in ("camera_path", "frames", "depth", "view"):
            ignore(flag, f"ignored for {what}: cameras are for radiance fields (and turntables of shapes)")
    if shape:
        for flag in ("depth", "view"):
            ignore(flag, f"ignored for {what}: depth maps and held-out cameras belong to radiance fields")
        if camera_path is None:
            for flag in ("frames", "fps"):
                ignore(flag, f"ignored for {what} without --camera-path orbit (a still preview)")
    if not shape:
        for flag in ("azimuth", "elevation"):
            ignore(flag, f"ignored for {what}: they place the camera of a shape preview")
    if nerf:
        if view is not None:
            ignore("fps", "ignored for a single view: only a video has a frame rate")
        if path == "dataset":
            n = len(sig.get("cameras", {}).get("test_c2w", []))
            ignore("frames", f"ignored for --camera-path dataset: it has the scene's {n} held-out cameras")
        elif path not in ("orbit", "spiral"):
            ignore("frames", "ignored for a camera path file: it lists its own cameras")
    for why, flags in reasons.items():
        names = " and ".join("--" + f.replace("_", "-") for f in flags)
        warnings.warn(f"{names} {why}", stacklevel=3)


# ---------------------------------------------------------------- render


def render(
    field_or_path,
    size=None,
    scale: float = 1.0,
    region=None,
    rate: float | None = None,
    fps: float | None = None,
    azimuth: float | None = None,
    elevation: float | None = None,
    camera_path: str | None = None,
    frames: int | None = None,
    depth: bool = False,
    view: int | None = None,
    chunk_size: int = 1 << 16,
    device=None,
    progress: bool = True,
):
    """Sample a fitted field at any resolution, as ``inrkit render`` does (which writes the result).

    Args:
        field_or_path: a field from :func:`inrkit.load`, or its checkpoint folder (loaded on ``device``).
        size: image ``(W, H)`` or ``"WxH"`` (images, video frames, shape previews, NeRF views); a
            volume's ``N`` or ``(N0, N1, N2)`` in array order. Default: the training size x ``scale``
            (shape previews: 512x512). An aspect other than the rendered area's stretches it (a warning).
        scale: multiplies the training size (ignored with ``size``).
        region: images: ``"x0,y0,x1,y1"`` or ``((x0, y0), (x1, y1))`` of the image's ``[-1, 1]``
            coordinates (x right, y down), within ``[-1, 1]``.
        rate: audio: the output's sample rate in Hz (default the clip's; lower rates are low-pass filtered).
        fps: video: the frame rate, more or fewer frames over the same duration (default the clip's).
        azimuth, elevation: shapes: the camera in degrees (default 30 and 20); a turntable starts at ``azimuth``.
        camera_path: NeRF: ``orbit`` (default), ``spiral``, ``dataset`` or a camera-path file;
            shapes: ``orbit`` for a turntable (default: one still).
        frames: frames of an orbit or spiral (default 120).
        depth: NeRF frames: colour beside the depth map.
        view: NeRF: render only camera ``view`` of the path (default path: ``dataset``, the held-out cameras).
        chunk_size: points (NeRF: rays) evaluated at once; bounds memory.
        progress: a progress bar over frames.

    Returns, by the kind of signal the field was fitted to:

    - image, poisson, ct, 2D mri: ``(H, W, C)`` (uint8 for image, ct, mri; float32 in [0, 1] for poisson);
    - audio: ``(M, C)`` float32 in [-1, 1] at ``rate`` Hz;
    - video: ``uint8 (T, H, W, C)``;
    - volume, 3D mri: ``(N0, N1, N2)`` float32 in the volume's own units (:func:`render_volume`);
    - sdf, occupancy: a shaded preview ``(H, W, 3)`` float32 in [0, 1] (:func:`inrkit.render_shape`), or
      with ``camera_path="orbit"`` a turntable ``uint8 (F, H, W, 3)``;
    - nerf: ``uint8 (F, H, W, 3)`` frames (``(F, H, 2W, 3)`` with ``depth``), or with ``view`` the
      :func:`inrkit.render_view` dict of ``rgb (H, W, 3)``, ``depth (H, W)``, ``opacity (H, W)``.

    Examples:
        >>> image = inrkit.render("runs/camera", scale=4)                 # doctest: +SKIP
        >>> image.shape, image.dtype                                      # doctest: +SKIP
        ((1024, 1024, 1), dtype('uint8'))
        >>> zoom = inrkit.render("runs/camera", size=(512, 512), region="-0.5,-0.5,0.5,0.5")   # doctest: +SKIP
        >>> clip = inrkit.render("runs/song", rate=8000)                  # doctest: +SKIP
    """
    field = as_field(field_or_path, device)
    options = dict(size=size, scale=scale, region=region, rate=rate, fps=fps, azimuth=azimuth, elevation=elevation,
                   camera_path=camera_path, frames=frames, depth=depth, view=view)
    return _dispatch(field, "render", options, chunk_size, progress)


def write_render(field_or_path, out=None, folder=None, chunk_size: int = 1 << 16, device=None, progress: bool = True,
                 **options) -> str:
    """:func:`render` a field and write the result as ``inrkit render`` does: to ``out``, or to a name
    chosen by the kind in ``folder`` (default: the field's checkpoint folder). Returns the line saying
    what was written. ``options`` are :func:`render`'s."""
    field = as_field(field_or_path, device)
    if folder is None:
        folder = getattr(field, "checkpoint_dir", None) or "."
    return _dispatch(field, "write", options, chunk_size, progress, out, folder)


def _dispatch(field, what: str, options: dict, chunk_size: int, progress: bool, *args):
    """Call the field's kind's ``render`` or ``write`` (:data:`inrkit.signals.KINDS`) with the options it
    takes; each option it has no use for, given a value, is one warning."""
    import inspect

    from .signals import KINDS

    meta = field_meta(field)
    sig = meta["signal"]
    kind = KINDS.get(sig.get("kind"))
    fn = getattr(kind, what, None)
    if fn is None:
        raise InrkitError(f"cannot render a {sig.get('kind')!r} field: no kind of that name knows how")
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise InrkitError(f"chunk size must be positive, got {chunk_size}")
    defaults = {k: p.default for k, p in inspect.signature(render).parameters.items()}  # the options' own
    given = {k: v for k, v in options.items() if v != defaults.get(k)}
    takes = dict(inspect.signature(fn).parameters)
    if any(p.kind is p.VAR_KEYWORD for p in takes.values()) and kind.render is not None:
        takes.update(inspect.signature(kind.render).parameters)  # a write passing its options on to render
    takes = {k for k, p in takes.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    if kind.name in _BUILT_IN:
        _warn_ignored(_kind(meta), sig, {k: True for k in given}, options.get("view"), options.get("camera_path"))
    else:
        ignored = [k for k in given if k not in takes]
        if ignored:
            names = " and ".join("--" + k.replace("_", "-") for k in ignored)
            warnings.warn(f"{names} ignored for {kind.name} fields", stacklevel=3)
    call = {k: v for k, v in given.items() if k in takes}
    for key, value in (("chunk_size", chunk_size), ("progress", progress),
                       ("device", next(field.parameters()).device)):
        if key in takes:
            call[key] = value
    return fn(field, *args, **call)


_BUILT_IN = ("image", "poisson", "ct", "mri", "volume", "audio", "video", "sdf", "occupancy", "nerf")


def render_volume(field, size=None, scale: float = 1.0, chunk_size: int = 1 << 16, device=None) -> np.ndarray:
    """A volume field on a voxel grid of any size (:func:`inrkit.signals.volume.render_field`)."""
    from .signals.volume import render_field

    return render_field(field, size, scale, chunk_size, device)


# ---------------------------------------------------------------- mesh


def mesh(field_or_path, resolution: int = 256, level: float | None = None, coarse_to_fine: bool | None = None,
         chunk_size: int = 1 << 17, device=None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A triangle mesh of a fitted shape or radiance field (marching cubes), as ``inrkit mesh`` writes it.

    Args:
        field_or_path: an ``sdf``, ``occupancy`` or ``nerf`` field from :func:`inrkit.load`, or its folder.
        resolution: grid points per axis over the field's cube (8 to 4096).
        level: NeRF: the density (per world unit) whose level set is the surface (default 25); shapes
            are meshed at their zero level set (a signed distance of 0, an occupancy of 1/2).
        coarse_to_fine: sample densely only near the surface found on an 8x coarser grid (default: from 256 up).
        chunk_size: points evaluated at once.
        progress: a spinner (or start and end lines in a log) while it runs.

    Returns:
        ``vertices (V, 3)`` float32 in the input's units (shapes) or world units (NeRF), ``faces (F, 3)``
        int; ``F = 0`` when the field has no surface at that level.

    Examples:
        >>> v, f = inrkit.mesh("runs/torus", resolution=128)   # doctest: +SKIP
        >>> v.shape[1], f.shape[1]                             # doctest: +SKIP
        (3, 3)
    """
    from .progress import status

    field = as_field(field_or_path, device)
    meta = field_meta(field, ("sdf", "occupancy", "nerf"))
    kind = meta["signal"]["kind"]
    if not (isinstance(resolution, int) and 8 <= resolution <= 4096):
        raise InrkitError(f"mesh resolution must be between 8 and 4096, got {resolution}")
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise InrkitError(f"chunk size must be positive, got {chunk_size}")
    dev = next(field.parameters()).device
    with status(f"extracting the mesh ({resolution}³ grid)", enabled=progress):
        if kind == "nerf":
            from .signals.nerf import mesh_radiance_field

            lv = 25.0 if level is None else level
            if not lv > 0:
                raise InrkitError(f"a density level must be positive, got {lv}")
            with torch.no_grad():
                return mesh_radiance_field(field, meta["signal"], resolution, lv,
                                           getattr(field, "checkpoint_dir", None), coarse_to_fine, chunk_size, dev)
        from .signals.shape import mesh_field

        if level is not None:
            warnings.warn(f"--level ignored for {kind} fields: a shape's surface is its zero level set "
                          "(--level is a radiance field's density)", stacklevel=2)
        return mesh_field(field, meta["signal"], resolution, coarse_to_fine, chunk_size, dev)


def write_mesh(folder, out=None, resolution: int = 256, level: float | None = None,
               coarse_to_fine: bool | None = None, chunk_size: int = 1 << 17, device: str = "auto") -> str:
    """``inrkit mesh``: the mesh of the field in checkpoint ``folder`` written as ``out`` (default
    ``folder/mesh_N.ply``); returns the line saying what was written. Nothing is written when the
    field has no surface at that level (an error)."""
    from pathlib import Path

    from .checkpoint import load, load_meta
    from .io import output_folder_exists
    from .progress import status
    from .shape_io import SAVE_SUFFIXES, save_mesh
    from .train import pick_device

    folder = Path(folder)
    if not (isinstance(resolution, int) and 8 <= resolution <= 4096):
        raise InrkitError(f"mesh resolution must be between 8 and 4096, got {resolution}")
    if chunk_size < 1:
        raise InrkitError(f"chunk size must be positive, got {chunk_size}")
    out = Path(out) if out is not None else folder / f"mesh_{resolution}.ply"
    if out.suffix.lower() not in SAVE_SUFFIXES:
        raise InrkitError(f"cannot write a mesh as {out.name!r}; expected a name ending in {', '.join(SAVE_SUFFIXES)}")
    kind = load_meta(folder).get("signal", {}).get("kind")
    if kind not in ("sdf", "occupancy", "nerf"):
        raise InrkitError(f"{str(folder)!r} holds a field of kind {kind!r}; mesh handles sdf, occupancy and nerf fields")
    if kind == "nerf" and level is not None and not level > 0:
        raise InrkitError(f"a density level must be positive, got {level}")
    output_folder_exists(out)
    field = load(folder, device=pick_device(device))
    v, f = mesh(field, resolution, level, coarse_to_fine, chunk_size, progress=True)
    if len(f) == 0:
        at = f"density {25.0 if level is None else level:g}" if kind == "nerf" else "level 0"
        raise InrkitError(f"the field in {str(folder)!r} has no surface at {at}; nothing written")
    with status(f"writing {out}"):
        save_mesh(out, v, f)
    return f"wrote {out} ({len(v):,} vertices, {len(f):,} faces, {resolution}³ grid)"


def write_evaluation(folder, split: str = "test", data: str | None = None, downscale: int | None = None,
                     chunk_size: int = 8192, device: str = "auto"):
    """``inrkit eval``: score the radiance field in checkpoint ``folder`` on ``split`` of its scene
    (:func:`inrkit.evaluate_views`), writing ``eval_SPLIT.json`` and the renders beside ground truth in
    ``eval_SPLIT/``. Returns ``(result, json path, renders folder)``."""
    from pathlib import Path

    from .checkpoint import load
    from .io import write_json
    from .signals.nerf import evaluate_views
    from .train import pick_device

    folder = Path(folder)
    if split not in ("test", "val", "train"):
        raise InrkitError(f"unknown split {split!r}; expected test, val or train")
    if chunk_size < 1:
        raise InrkitError(f"chunk size must be positive, got {chunk_size}")
    if downscale is not None and downscale < 1:
        raise InrkitError(f"downscale must be a positive integer, got {downscale}")
    field = load(folder, device=pick_device(device))
    kind = field.meta.get("signal", {}).get("kind")
    if kind != "nerf":
        raise InrkitError(f"{str(folder)!r} holds a field of kind {kind!r}; eval scores NeRF fields")
    views = folder / f"eval_{split}"
    result = evaluate_views(field, split, data, downscale, chunk_size, out_dir=views)
    written = folder / f"eval_{split}.json"
    write_json(written, result)
    return result, written, views
