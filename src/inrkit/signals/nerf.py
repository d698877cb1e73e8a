"""Scenes seen through volume rendering: posed photos -> a radiance field.

The signal holds the training and held-out views of a :class:`NerfDataset`,
maps world space into the field's ``[-1, 1]³`` (the scene box), draws ray
batches, and renders them with :func:`inrkit.nerf.render.render_rays`: either
an occupancy grid with fixed steps and early ray termination
(``sampler="occupancy"``, Instant-NGP) or stratified coarse samples refined by
importance sampling (``sampler="hierarchical"``, the original NeRF). It
implements the fit loop's forward-model protocol: ``loss`` renders a random
ray batch and returns the MSE against the observed pixels. The occupancy grid
is the field's own (``field.grid``, saved with its weights); ``loss`` carves it
from the training views' silhouettes at the start and refreshes it from the
field's density every ``grid_update_every`` steps.

What is done with a fitted field (views, camera paths, evaluation, meshing) is
in :mod:`inrkit.nerf.views`; its names are re-exported here.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from tyro.conf import Positional

from .. import losses, metrics
from ..errors import InrkitError
from ..io import output_folder
from ..nerf.cameras import image_rays, ndc_rays, pixel_rays
from ..nerf.datasets import NerfDataset
from ..nerf.occupancy import OccupancyGrid
from ..nerf.render import NerfRenderConfig, render_rays
from ..nerf.rendering import render_chunked
from ..nerf.views import (OCCUPANCY, camera_path, depth_image, depth_range, evaluate_views, frame_image,  # noqa: F401
                          grid_for_field, load_saved_grid, lpips_status, mesh_radiance_field, occupancy_grid,
                          render_camera_path, render_config, render_view, save_view, signal_from_meta)
from .base import Kind, SampleSet, Signal, psnr_quality

__all__ = ["NerfRenderConfig", "NerfSignal", "NerfOptions", "KIND", "render_field", "write_field", "parse_background", "grid_for_field", "depth_image", "depth_range",
           "save_view", "camera_path", "evaluate_views", "frame_image", "lpips_status", "occupancy_grid",
           "render_camera_path", "render_config", "render_view", "signal_from_meta"]


def parse_background(text: str) -> tuple[float, float, float]:
    """``white``, ``black`` or ``R,G,B`` in [0, 1] -> a colour."""
    named = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
    if text in named:
        return named[text]
    try:
        rgb = tuple(float(v) for v in text.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 1 for v in rgb):
        raise InrkitError(f"background {text!r} is malformed; expected white, black or R,G,B in [0, 1]")
    return rgb



class NerfSignal(Signal):
    """Posed training views and held-out views of one scene.

    ``train``, ``test``: :class:`NerfDataset`; ``background``: the colour the
    RGBA views are composited onto for evaluation (white for Blender scenes).
    """

    kind = "nerf"
    in_dim, out_dim = 3, 4
    metric = "psnr"
    batch_unit = "rays"  # the fit loop reports rays/s (progress bar, metrics.json)
    default_batch_size = 4096  # rays per step when FitConfig.batch_size is 0 (automatic)
    output_name = "test_views"

    def __init__(self, train: NerfDataset, test: NerfDataset, render: NerfRenderConfig | None = None,
                 background=(1.0, 1.0, 1.0), eval_views: int = 1, downscale: int = 1):
        render = NerfRenderConfig() if render is None else render
        render.check()
        if len(test) == 0 or len(train) == 0:
            raise InrkitError("a scene needs at least one training and one held-out view")
        self.train, self.test, self.render = train, test, render
        self.background = tuple(float(v) for v in background)
        self._resolution = max(train.height, train.width)
        self.eval_views = eval_views
        self.downscale = downscale  # recorded in the metadata so `inrkit eval` reloads views at the same size
        self._device_data = None

    # ------------------------------------------------------------ geometry

    def to_box(self, origins: torch.Tensor, directions: torch.Tensor):
        """World rays ``(R, 3)`` -> rays in the field's box coordinates (unit directions), and the
        factor from box distances back to world (or NDC) distances."""
        ds = self.train
        if ds.ndc is not None:
            n = ds.ndc
            o, d = ndc_rays(origins, directions, n["fx"], n["fy"], n["width"], n["height"], n["near"])
            return o, torch.nn.functional.normalize(d, dim=-1), 1.0
        centre = torch.as_tensor(ds.center, dtype=origins.dtype, device=origins.device)
        return (origins - centre) / ds.half_size, directions, ds.half_size

    def render_rays(self, field, origins, directions, background, generator=None, perturb=False, grid=None):
        """Render world rays ``origins, directions: (R, 3)`` with ``field`` as the fit does
        (:func:`inrkit.nerf.render.render_rays` in the field's box); ``background: (3,)`` or ``(R, 3)``;
        ``grid`` default the field's own.

        Returns ``rgb (R, 3)``, ``depth (R,)`` (world units; NDC for forward-facing
        scenes), ``opacity (R,)`` and, for the hierarchical sampler, ``rgb_coarse``;
        ``samples`` counts the field queries.
        """
        o, d, scale = self.to_box(origins, directions)
        grid = getattr(field, "grid", None) if grid is None else grid
        return render_rays(field, o, d, self.render, grid, background, viewdirs=directions, depth_scale=scale,
                           generator=generator, perturb=perturb)

    def grid_for(self, field) -> OccupancyGrid | None:
        """The occupancy grid to render ``field`` with: None for the hierarchical sampler, else the
        field's own (filled while training), or for a field without one a new grid built from its
        density (:func:`~inrkit.nerf.views.grid_for_field`)."""
        if self.render.sampler != "occupancy":
            return None
        return grid_for_field(field, self.render, next(field.parameters()).device)

    # ------------------------------------------------------------ training

    def _data(self, device):
        if self._device_data is None or self._device_data[0] != device:
            ds = self.train
            self._device_data = (
                device,
                ds.images.to(device),
                ds.c2w.to(device),
                ds.intrinsics.to(device),
                None if ds.distortion is None else ds.distortion.to(device),
            )
        return self._device_data[1:]

    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """MSE of ``batch_size`` random training rays rendered through ``field`` (plus the coarse
        pass's MSE for the hierarchical sampler).

        The occupancy sampler keeps its grid in the field (``field.grid``, an
        :class:`~inrkit.nerf.occupancy.OccupancyGrid`, saved with the weights): a grid of another size
        (a new field's is empty) starts afresh, carved to the training views' visual hull for RGBA
        views; every ``grid_update_every`` steps it is refreshed from the field's density."""
        device = next(field.parameters()).device
        images, c2w, intr, dist = self._data(device)
        cfg = self.render
        if cfg.sampler == "occupancy":
            grid = getattr(field, "grid", None)
            if not isinstance(grid, OccupancyGrid):
                raise InrkitError("the occupancy sampler keeps its grid in the field: fit a RadianceField "
                                  "(or a field with an OccupancyGrid as `grid`), or use the hierarchical sampler")
            if grid.resolution != cfg.grid_resolution:
                grid.reset(cfg.grid_resolution)
                if images.shape[-1] == 4 and self.train.ndc is None:  # RGBA: start from the visual hull
                    grid.carve(c2w, intr, images[..., 3] > 0, self.train.center, self.train.half_size)
            if step % cfg.grid_update_every == 0:
                grid.update(field.density, cfg.step_size, generator)
        n, h, w = images.shape[:3]
        img = torch.randint(n, (batch_size,), device=device, generator=generator)
        px = torch.randint(w, (batch_size,), device=device, generator=generator)
        py = torch.randint(h, (batch_size,), device=device, generator=generator)
        o, d = pixel_rays(c2w[img], intr[img], px.float() + 0.5, py.float() + 0.5,
                          None if dist is None else dist[img])
        pix = images[img, py, px].float() / 255  # (B, C)
        if pix.shape[-1] == 4:
            if cfg.random_background:
                bg = torch.rand(batch_size, 3, device=device, generator=generator)
            else:
                bg = torch.tensor(self.background, device=device).expand(batch_size, 3)
            target = pix[:, :3] * pix[:, 3:] + bg * (1 - pix[:, 3:])
        else:
            bg, target = torch.tensor(self.background, device=device), pix
        out = self.render_rays(field, o, d, bg, generator, perturb=True)  # through field.grid
        loss = losses.mse(out["rgb"], target)
        if "rgb_coarse" in out:
            loss = loss + losses.mse(out["rgb_coarse"], target)
        return loss

    # ------------------------------------------------------------ evaluation

    def render_view(self, field, c2w: torch.Tensor, intrinsics: torch.Tensor, width: int, height: int,
                    distortion=None, grid=None) -> dict[str, np.ndarray]:
        """Render one camera: ``rgb (H, W, 3)``, ``depth (H, W)``, ``opacity (H, W)`` numpy arrays.
        Memory is bounded by ``render.chunk_size`` rays at a time."""
        device = next(field.parameters()).device
        o, d = image_rays(c2w.to(device), intrinsics.to(device), width, height,
                          None if distortion is None else distortion.to(device))
        bg = torch.tensor(self.background, device=device)
        if grid is None:
            grid = self.grid_for(field)
        out = render_chunked(lambda oo, dd: {k: v for k, v in self.render_rays(field, oo, dd, bg, grid=grid).items()
                                             if k != "samples"}, o, d, self.render.chunk_size)
        return {k: v.numpy() for k, v in out.items()}

    def ground_truth(self, ds: NerfDataset, i: int) -> np.ndarray:
        """View ``i`` of ``ds`` as ``(H, W, 3)`` floats, composited onto the background."""
        im = ds.images[i].float().numpy() / 255
        if im.shape[-1] == 4:
            im = im[..., :3] * im[..., 3:] + np.asarray(self.background, np.float32) * (1 - im[..., 3:])
        return im

    @property
    def resolution(self) -> int:
        """Pixels across the training views' larger side."""
        return self._resolution

    def predict(self, field, device=None, grid: OccupancyGrid | None = None):
        """The held-out views, rendered on demand through ``grid`` (default :meth:`grid_for`)."""
        return _Prediction(self, field, grid)

    def evaluate(self, pred: "_Prediction", full: bool = True) -> dict:
        """PSNR and SSIM on held-out views: all of them (``full``), else the first ``eval_views``."""
        n = len(self.test) if full else min(self.eval_views, len(self.test))
        psnrs, ssims = [], []
        from ..progress import track

        for i in track(range(n), "rendering the test views", enabled=full):
            v = pred.view(i)
            gt = self.ground_truth(self.test, i)
            psnrs.append(metrics.psnr(np.clip(v["rgb"], 0, 1), gt))
            ssims.append(metrics.ssim(np.clip(v["rgb"], 0, 1), gt) if full else float("nan"))
        out = {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}
        if full:
            out.update(views=len(psnrs), psnr_per_view=[round(p, 4) for p in psnrs],
                       ssim_per_view=[round(s, 5) for s in ssims])
        return out

    def save(self, path: Path, pred: "_Prediction") -> None:
        """Write every held-out view's rendering, depth (one colour scale for all views, with a
        colour bar) and ground truth into the folder ``path``."""
        path = output_folder(path)
        from ..plots import have_matplotlib

        # one depth range for every view, so that a colour means the same depth in each
        near_far = depth_range([pred.view(i) for i in range(len(self.test))])
        unit = "NDC" if self.train.ndc is not None else "world units"
        figure = have_matplotlib("depth colour bars", "depth colour bars skipped (grey depth written): "
                                                      "pip install matplotlib")
        for i in range(len(self.test)):
            save_view(path, f"{i:03d}", pred.view(i), self.ground_truth(self.test, i), near_far, unit, figure)

    def metadata(self) -> dict:
        ds, t = self.train, self.test
        c, h = ds.center, ds.half_size
        return {
            "kind": "nerf",
            "source": ds.source,
            "downscale": self.downscale,
            "shape": [len(ds), ds.height, ds.width],
            "center": list(c),
            "half_size": h,
            "bounds": [[v - h for v in c], [v + h for v in c]],
            "ndc": ds.ndc,
            "background": list(self.background),
            "render": dataclasses.asdict(self.render),
            "cameras": {
                "width": ds.width,
                "height": ds.height,
                "train_c2w": ds.c2w.tolist(),
                "train_intrinsics": ds.intrinsics.tolist(),
                "test_c2w": t.c2w.tolist(),
                "test_intrinsics": t.intrinsics.tolist(),
                "test_names": t.names,
            },
        }


class _Prediction:
    """Held-out views rendered on demand (each once), all through one occupancy grid."""

    def __init__(self, signal: NerfSignal, field, grid: OccupancyGrid | None = None):
        self.signal, self.field, self.grid, self._views = signal, field, grid, {}

    def view(self, i: int) -> dict[str, np.ndarray]:
        if i not in self._views:
            s, t = self.signal, self.signal.test
            if self.grid is None:
                self.grid = s.grid_for(self.field)
            self._views[i] = s.render_view(self.field, t.c2w[i], t.intrinsics[i], t.width, t.height,
                                           None if t.distortion is None else t.distortion[i], grid=self.grid)
        return self._views[i]


# ---------------------------------------------------------------- the kind: `inrkit fit nerf`, render, info


@dataclass
class NerfOptions:
    """Fit a radiance field to posed photos (Blender, nerfstudio, instant-ngp or LLFF folder, or sample:spheres)."""

    source: Positional[str] = "sample:spheres"
    """Scene folder (transforms_train.json, transforms.json or poses_bounds.npy) or sample:spheres."""
    downscale: int = 1
    """Shrink the images by this integer factor (area average); intrinsics follow."""
    background: str = "white"
    """Colour RGBA views are composited onto: white, black or R,G,B in [0, 1]."""
    scene_size: Optional[float] = None
    """Half side of the scene box in world units (default: 1.5 for Blender, else from the cameras)."""


def _load(o: NerfOptions, seed: int = 0, preset=None) -> NerfSignal:
    from ..nerf.datasets import load_scene

    bg = parse_background(o.background)
    train = load_scene(o.source, "train", o.downscale, o.scene_size)
    test = load_scene(o.source, "test", o.downscale, o.scene_size)
    return NerfSignal(train, test, getattr(preset, "render", None), bg, downscale=o.downscale)


def _summary(m: dict, o, signal) -> str:
    return (f"{m['preset']} on {o.source}: test PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.4f} over {m['views']} views, "
            f"{m['steps']} steps in {m['seconds']:.1f} s ({m['rays_per_second']:,.0f} rays/s), "
            f"{m['params']:,} parameters")


def _describe(sig: dict) -> str:
    n, h, w = sig["shape"][:3]
    return f"nerf {sig.get('source', '')}, {n} training views of {w}x{h}"


def _quality(m: dict) -> list[tuple[str, str]]:
    rows = psnr_quality(m)
    if rows and "views" in m:
        rows[0] = (rows[0][0], rows[0][1] + f" over {m['views']} test views")
    return rows


def render_field(field, camera_path: str | None = None, frames: int | None = None, size=None, scale: float = 1.0,
                 depth: bool = False, view: int | None = None, chunk_size: int = 1 << 16, progress: bool = True):
    """A radiance field along a camera path (``orbit`` by default, ``spiral``, ``dataset`` or a file):
    ``uint8 (F, H, W, 3)`` frames (``(F, H, 2W, 3)`` with ``depth``); with ``view``, camera ``view`` of the
    path (default path ``dataset``, the held-out cameras) as :func:`render_view`'s dict of ``rgb (H, W, 3)``,
    ``depth (H, W)`` and ``opacity (H, W)``."""
    if view is None:
        return render_camera_path(field, camera_path or "orbit", frames, size, scale, depth, chunk_size, progress)
    c2w, k, w, h = camera_path_of(field, camera_path or "dataset", frames, size, scale)
    if not (isinstance(view, (int, np.integer)) and 0 <= view < c2w.shape[0]):
        raise InrkitError(f"view {view} does not exist: the camera path has {c2w.shape[0]} "
                          f"camera{'s' * (c2w.shape[0] != 1)} (0 to {c2w.shape[0] - 1})")
    return render_view(field, c2w[int(view)], k[int(view)], w, h, chunk_size)


camera_path_of = camera_path  # the module-level name, for render_field's argument of the same name


def write_field(field, out, folder, fps: float | None = None, **options) -> str:
    """``inrkit render`` of a radiance field: a camera path as a video, or one camera (``view``, or an
    image ``out``) as an image, and its depth map beside it with ``depth``."""
    from ..outputs import render_target
    from .image import WRITABLE, save_image
    from .video import save_video

    path = options.get("camera_path") or ("dataset" if options.get("view") is not None else "orbit")
    depth = options.get("depth", False)
    if options.get("view") is None and not (out is not None and str(out).lower().endswith(WRITABLE)):
        if fps is not None and not fps > 0:
            raise InrkitError(f"fps must be positive, got {fps}")
        render_target(out, folder, (".mp4", ".gif"), "a video")
        frames = render_field(field, **options)  # (F, H, W, 3), or (F, H, 2W, 3) with depth
        target = render_target(out, folder, (".mp4", ".gif"), "a video", f"render_{Path(path).stem}.mp4")
        written = save_video(target, frames, 30 if fps is None else fps)
        h, w = frames.shape[1], frames.shape[2] // (2 if depth else 1)
        return f"wrote {written} ({len(frames)} frames, {w}x{h}{', with depth' if depth else ''})"
    render_target(out, folder, WRITABLE, "an image")
    view = options.get("view")
    if view is None:  # an image out: the camera path must hold just one camera
        n = camera_path_of(field, path, options.get("frames"), options.get("size"), options.get("scale", 1.0))[0].shape[0]
        if n != 1:
            raise InrkitError(f"an image holds one view, and the {path} camera path has {n}; pick one with --view N "
                              "(or --frames 1), or write a .mp4 or .gif")
        view = 0
    v = render_field(field, **{**options, "camera_path": path, "view": view})  # rgb, depth, opacity
    h, w = v["rgb"].shape[:2]
    default = f"render_view_{view}.png" if path == "dataset" else f"render_{Path(path).stem}_{view}.png"
    target = render_target(out, folder, WRITABLE, "an image", default)
    save_image(target, np.clip(v["rgb"], 0, 1))
    also = ""
    if depth:
        name = target.name[: -len(target.suffix)] + "_depth" + target.suffix
        save_image(target.with_name(name), depth_image(v["depth"], v["opacity"])[..., None])
        also = f" and {target.with_name(name)} (depth: near bright, far dark, empty black)"
    return f"wrote {target} ({w}x{h}, camera {view} of the {path} camera path){also}"


def _default_preset(device: torch.device) -> str:
    return "ngp" if device.type == "cuda" else "tensorf"  # the fastest on each (BENCHMARKS.md)


def _scenes() -> SampleSet:
    from ..nerf.datasets import SCENES

    return SampleSet("scenes", SCENES)


KIND = Kind(name="nerf", help=NerfOptions.__doc__, options=NerfOptions, load=_load, summary=_summary,
            describe=_describe, quality=_quality, render=render_field, write=write_field, samples=_scenes(),
            preset=_default_preset,
            fit_defaults={"steps": 5000, "eval_every": 500, "checkpoint_every": 2000})
