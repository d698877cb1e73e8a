"""``inrkit render``, ``inrkit mesh`` and ``inrkit eval``: a fitted field back into data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

from ..errors import InrkitError

__all__ = ["Eval", "Mesh", "Render"]


@dataclass
class Render:
    """Sample a fitted field at any resolution: an image, sound, video, volume, shape preview or turntable, NeRF views."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit`."""
    size: Optional[str] = None
    """Output WIDTHxHEIGHT (default: the training size times --scale; shapes 512x512).
    A volume's is N or N0xN1xN2, in array order as numpy and nibabel print shapes.
    A size of another aspect than the area rendered (the image, or its --region) stretches it.
    It is rendered as asked, with a warning giving the factor."""
    scale: float = 1.0
    """Multiply the training size by this (ignored with --size)."""
    region: Optional[str] = None
    """Images: render only x0,y0,x1,y1 of the image's own [-1, 1] coordinates (x right, y down), within [-1, 1]."""
    out: Optional[Path] = None
    """Output file (default: CHECKPOINT/render_...), by the kind of field and option:
    an image (.png, .jpg, ...), a sound (.wav, .flac, .ogg), a video (.mp4, .gif) or a volume (.nii.gz, .nii, .npy)."""
    chunk_size: int = 1 << 16
    """Points (NeRF: rays) evaluated at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""
    azimuth: Optional[float] = None
    """Shapes: camera azimuth in degrees around the y (up) axis, 0 looking down -z (default 30; where a turntable starts)."""
    elevation: Optional[float] = None
    """Shapes: camera elevation in degrees above the xz plane (default 20)."""
    rate: Optional[int] = None
    """Audio: sample rate of the output in Hz (default: the clip's own); the field is resampled there."""
    fps: Optional[float] = None
    """Video: frame rate of the output (default: the clip's own), more frames over the same duration.
    NeRF camera paths and shape turntables: frames per second of the video (default 30)."""
    camera_path: Optional[str] = None
    """NeRF: orbit (default), spiral, dataset (the held-out cameras) or a camera_path.json / transforms file.
    Shapes: orbit, a turntable (default: one still image). Written as a video (.mp4, .gif)."""
    frames: Optional[int] = None
    """Frames of an orbit or spiral (default 120)."""
    depth: bool = False
    """NeRF: put the depth map beside each video frame; for one view, write it beside the image as NAME_depth.png."""
    index: Optional[int] = None
    """Fieldsets (`inrkit fit-many`): the field to render, 0-based (default file: FIELDSET/render_item_I.png)."""
    view: Optional[int] = None
    """NeRF: render only camera N of the camera path, as an image (default: CHECKPOINT/render_view_N.png).
    The path is then dataset unless given, so N is the N-th held-out camera.
    An --out ending in .png renders one camera too, of a path that has only one (--frames 1)."""

    def run(self) -> None:
        from ..checkpoint import checkpoint_folder, load
        from ..fieldsets import is_fieldset, load_fieldset
        from ..outputs import write_render
        from ..train import pick_device

        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        out = self.out
        if is_fieldset(self.checkpoint):
            folder = Path(self.checkpoint)
            fieldset = load_fieldset(folder, device=pick_device(self.device))
            if self.index is None:
                raise InrkitError(f"{str(folder)!r} is a fieldset of {len(fieldset)} fields; pick one with --index I "
                                  f"(0 to {len(fieldset) - 1})")
            field = fieldset.field(self.index)
            out = out or folder / f"render_item_{self.index}.png"
        else:
            if self.index is not None:
                raise InrkitError(f"--index picks a field of a fieldset; {str(self.checkpoint)!r} holds one field")
            folder = checkpoint_folder(self.checkpoint)  # also when given as a file in it
            field = load(folder, device=pick_device(self.device))
        print(write_render(field, out, folder, chunk_size=self.chunk_size, size=self.size, scale=self.scale,
                           region=self.region, rate=self.rate, fps=self.fps, azimuth=self.azimuth,
                           elevation=self.elevation, camera_path=self.camera_path, frames=self.frames,
                           depth=self.depth, view=self.view))


@dataclass
class Mesh:
    """Extract a triangle mesh from a fitted shape or radiance field (marching cubes, in the input's units)."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit sdf`, `inrkit fit occupancy` or `inrkit fit nerf`."""
    resolution: int = 256
    """Grid points per axis over the field's cube."""
    out: Optional[Path] = None
    """Output mesh, .ply, .obj, .glb, .stl or .off (default: CHECKPOINT/mesh_N.ply)."""
    coarse_to_fine: Optional[bool] = None
    """Sample densely only near the surface found on a grid 8x coarser (default: on from 256 up)."""
    level: Optional[float] = None
    """NeRF: the density (per world unit) whose level set is the surface (default 25). Shapes are meshed at
    their zero level set."""
    chunk_size: int = 1 << 17
    """Points evaluated at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""

    def run(self) -> None:
        from ..checkpoint import checkpoint_folder
        from ..outputs import write_mesh

        folder = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        print(write_mesh(folder, self.out, self.resolution, self.level, self.coarse_to_fine, self.chunk_size,
                         self.device))


@dataclass
class Eval:
    """Score a fitted radiance field on a split of its scene: PSNR and SSIM per view and mean."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit nerf`."""
    split: str = "test"
    """test, val (Blender scenes with a transforms_val.json) or train."""
    data: Optional[str] = None
    """Scene folder (default: the one the field was fitted to)."""
    downscale: Optional[int] = None
    """Image downscale factor (default: the one used for fitting)."""
    chunk_size: int = 8192
    """Rays rendered at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""

    def run(self) -> None:
        from ..checkpoint import checkpoint_folder
        from ..outputs import write_evaluation

        folder = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        result, written, views = write_evaluation(folder, self.split, self.data, self.downscale, self.chunk_size,
                                                  self.device)
        for row in result["per_view"]:
            print(f"{str(row['view']):>12s}  PSNR {row['psnr']:6.2f} dB  SSIM {row['ssim']:.4f}")
        lpips_note = result["lpips_unavailable"]
        note = f"; LPIPS unavailable: {lpips_note}" if lpips_note else ""
        print(f"mean over {result['views']} {self.split} views: PSNR {result['psnr']:.2f} dB, "
              f"SSIM {result['ssim']:.4f}{note}")
        print(f"wrote {written} and renders beside ground truth in {views}")
