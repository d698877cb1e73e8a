"""The ``inrkit`` command: fit, render, info, presets, samples.

Subcommands are dataclasses parsed by tyro. User errors (:class:`InrkitError`)
print one sentence to stderr and exit with status 2; nothing is half-written.
"""
from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import tyro

from .errors import InrkitError
from .io import output_folder, output_folder_exists, read_json

@dataclass
class _Fit:
    """Options every `inrkit fit KIND` command shares; a subclass adds its source options, a
    ``load_signal()`` and a ``run()`` that passes the signal to :meth:`fit` (and may override
    ``preset``'s default)."""

    preset: str = "ngp"
    """Representation and optimiser, from `inrkit presets`."""
    out: Optional[Path] = None
    """Output folder (default: a new runs/KIND-NAME-N, linked from runs/latest): field.safetensors,
    field.json, metrics.json, history.csv, training.png and the reconstruction."""
    overwrite: bool = False
    """Replace the run already in --out (its files are removed first); without it, such a folder is refused."""
    steps: int = 500
    """Stop after this many steps."""
    time_budget: float = 0.0
    """Also stop after this many seconds of training (0: no budget)."""
    lr: Optional[float] = None
    """Learning rate (default: the preset's)."""
    schedule: Optional[str] = None
    """Learning-rate schedule: none, cosine or exponential (default: the preset's)."""
    batch_size: int = 0
    """Samples per step (0: all of them when that fits in half the available memory, else 65536 at random;
    with --time-budget on a CPU, 16384 at random)."""
    eval_every: int = 50
    """Evaluate on the full signal every N steps."""
    checkpoint_every: int = 500
    """Write a resumable checkpoint every N steps."""
    resume: bool = False
    """Continue the run in --out (default: the newest run of this kind and source) up to --steps."""
    keep_train_state: bool = True
    """Keep train_state.pt (the optimiser state --resume needs; about twice the weights) after the run."""
    seed: int = 0
    """Seed of every random choice."""
    device: str = "auto"
    """auto, cpu or cuda."""
    threads: int = 0
    """CPU threads (0: the cores other processes leave free, followed as the load changes)."""
    compile: str = "auto"
    """torch.compile the network: auto, on or off."""
    progress: bool = True
    """Show progress (a bar on a terminal; a line every 10 s in a log)."""

    def get_preset(self, name: str):
        """The preset ``name`` (a subclass may look in another table)."""
        from . import get_preset

        return get_preset(name)

    def source_name(self) -> str:
        return str(getattr(self, "source", None) or getattr(self, "data", "run"))

    def out_folder(self, kind: str) -> Path:
        """--out, or the default: with --resume the newest runs/KIND-NAME-N, else a new one (and
        runs/latest pointed at it)."""
        from .runs import claim_folder, latest_run_folder, link_latest, new_run_folder

        if self.out is None:
            if self.resume:
                self.out = latest_run_folder(kind, self.source_name())
                if self.out is None:
                    raise InrkitError(f"cannot resume: there is no earlier {kind} run of {self.source_name()!r} "
                                      "in runs/; name its folder with --out")
            else:
                self.out = new_run_folder(kind, self.source_name())  # a fresh name: nothing there to claim
                output_folder(self.out)
                link_latest(self.out)
        claim_folder(self.out, kind, self.resume, self.overwrite)
        return self.out

    def fit(self, signal, make=None):
        """Build (or, with --resume, reload) the field, fit it to ``signal``; return the FitResult.

        ``make(field_config, signal, seed)`` builds a new field (default :func:`inrkit.make_field`).
        """
        from .runs import LATEST, RUNS, link_latest

        preset = self.get_preset(self.preset)
        latest = RUNS / LATEST
        before = latest.resolve() if latest.is_symlink() else None
        new_folder = self.out is None and not self.resume
        self.out_folder(signal.kind)
        try:
            return self._fit(signal, preset, make)
        except BaseException:
            if new_folder and self.out.is_dir() and not any(self.out.iterdir()):
                self.out.rmdir()  # nothing was written: no empty run folder, and latest back where it was
                if before is not None and before.is_dir():
                    link_latest(before)
                elif latest.is_symlink():
                    latest.unlink()
            raise

    def _fit(self, signal, preset, make):
        from . import FitConfig, fit, make_field
        from .checkpoint import TRAIN_STATE, load, load_meta
        from .presets import check_preset_kind

        if self.resume:
            if not (self.out / TRAIN_STATE).exists():
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds no {TRAIN_STATE}")
            meta = load_meta(self.out)
            if meta.get("signal", {}).get("kind") != signal.kind:
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds a field of kind "
                                  f"{meta.get('signal', {}).get('kind')!r}, not {signal.kind!r}")
            differs = _signal_difference(meta.get("signal", {}), signal.metadata())
            if differs:
                raise InrkitError(f"cannot resume: {str(self.out)!r} was fitted to {differs}; give the run's "
                                  "source and options, or fit into another --out")
            was = meta.get("preset", self.preset)
            if self.preset not in (was, type(self).preset):  # an explicit --preset that is not the run's
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds a {was!r} run, not {self.preset!r}; "
                                  "drop --preset to continue it, or fit into another --out")
            field = load(self.out).train()
            preset = self.get_preset(was)
        else:
            check_preset_kind(preset, signal.kind)
            field = (make or make_field)(preset.field, signal, seed=self.seed)
        if self.lr is not None:
            preset.optim.lr = self.lr  # fit() checks it
        if self.schedule is not None:
            preset.optim.schedule = self.schedule
        cfg = FitConfig(
            steps=self.steps,
            time_budget=self.time_budget,
            batch_size=self.batch_size,
            eval_every=self.eval_every,
            checkpoint_every=self.checkpoint_every,
            seed=self.seed,
            device=self.device,
            compile=self.compile,
            progress=self.progress,
            threads=self.threads,
            keep_train_state=self.keep_train_state,
        )
        return fit(field, signal, cfg, preset.optim, out_dir=self.out, resume=self.resume, meta={"preset": preset.name})


def _signal_difference(stored: dict, now: dict) -> str | None:
    """How the signal a run was fitted to (``stored``, from its field.json) differs from ``now``, in words;
    None when they are the same signal with the same options (a source path compares by the file it names)."""
    from .runs import same_source
    from .train import absolute_source

    now = json.loads(json.dumps(absolute_source(now), default=float))  # as field.json holds it
    for key in sorted(set(stored) | set(now)):
        a, b = stored.get(key), now.get(key)
        if a != b and not (key == "source" and same_source(a, b)):
            if key in ("cameras", "render") or len(repr(a)) > 80:
                return f"other {key}"
            return f"{key} {a}, not {b}"
    return None


@dataclass
class FitImage(_Fit):
    """Fit a field to an image (a file, or sample:NAME from `inrkit samples`)."""

    source: tyro.conf.Positional[str] = "sample:camera"
    """Image file (PNG, JPEG, BMP, TIFF; 8 or 16 bit; grey, RGB or RGBA) or sample:NAME."""
    size: Optional[str] = None
    """Resize the image to WIDTHxHEIGHT first (e.g. 256x256)."""
    train_stride: int = 1
    """Train on every S-th pixel of each row and column; metrics are on the full image."""

    def load_signal(self):
        from . import load_image
        from .signals.image import parse_size

        size = parse_size(self.size) if self.size else None
        return load_image(self.source, size=size, train_stride=self.train_stride)

    def run(self) -> None:
        result = self.fit(self.load_signal())
        m = result.metrics
        extra = f", unseen pixels {m['psnr_unseen']:.2f} dB" if "psnr_unseen" in m else ""
        print(
            f"{m['preset']} on {self.source}: PSNR {m['psnr']:.2f} dB{extra}, SSIM {m['ssim']:.4f}, "
            f"{m['steps']} steps in {m['seconds']:.1f} s, {m['params']:,} parameters -> {self.out}"
        )


@dataclass
class FitVolume(_Fit):
    """Fit a field to a volume (.npy, .npz, NIfTI, or sample:NAME)."""

    source: tyro.conf.Positional[str] = "sample:shepp-logan"
    """Volume file (.npy, .npz, .nii, .nii.gz) or sample:shepp-logan, sample:epi, sample:anatomical, sample:mni152."""
    key: Optional[str] = None
    """Array to read from a .npz holding several."""
    frame: Optional[int] = None
    """Volume to take from a 4D file (0-based, along the last axis, where NIfTI keeps time; also for .npy)."""
    batch_size: int = 1 << 13
    """Voxels per step (random; all of them when the volume has no more). Small batches, many steps: on a CPU
    8192 reaches a higher PSNR in a minute than 65536."""

    def load_signal(self):
        from .signals.volume import load_volume

        return load_volume(self.source, key=self.key, frame=self.frame)

    def run(self) -> None:
        m = self.fit(self.load_signal()).metrics
        ssim = f", SSIM {m['ssim']:.4f}" if "ssim" in m else ""
        print(f"{m['preset']} on {self.source}: PSNR {m['psnr']:.2f} dB{ssim}, {m['steps']} steps in "
              f"{m['seconds']:.1f} s, {m['params']:,} parameters -> {self.out}")


@dataclass
class FitCT(_Fit):
    """Reconstruct a CT image from a sparse-view parallel-beam sinogram (compared with filtered back-projection)."""

    source: tyro.conf.Positional[str] = "sample:shepp-logan"
    """sample:shepp-logan, an image file (its views are simulated), or a .npz with 'sinogram' (N, views) and 'theta'."""
    views: int = 20
    """Projection angles, evenly spaced over [0, 180) degrees (ignored for a .npz sinogram)."""
    size: int = 256
    """Resize the image to SIZE x SIZE first (ignored for a .npz sinogram)."""
    tv_weight: float = 0.0
    """Weight of a total-variation penalty on the field (0: none)."""
    preset: str = "ct"
    """Representation and optimiser, from `inrkit presets`."""
    batch_size: int = 1 << 14
    """Field samples per step (rays x SIZE; 64 rays at 256x256, as benchmarked)."""

    def load_signal(self):
        from .signals.ct import load_ct

        if not self.tv_weight >= 0:
            raise InrkitError(f"tv weight must be non-negative, got {self.tv_weight}")
        signal = load_ct(self.source, views=self.views, size=self.size)
        signal.tv_weight = self.tv_weight
        return signal

    def run(self) -> None:
        m = self.fit(self.load_signal()).metrics
        if "psnr" in m:
            print(f"{m['preset']} on {self.source}, {m['views']} views: PSNR {m['psnr']:.2f} dB (FBP {m['psnr_fbp']:.2f}), "
                  f"SSIM {m['ssim']:.4f} (FBP {m['ssim_fbp']:.4f}), {m['steps']} steps in {m['seconds']:.1f} s -> {self.out}")
        else:
            print(f"{m['preset']} on {self.source}, {m['views']} views: projection PSNR {m['projection_psnr']:.2f} dB "
                  f"(FBP {m['projection_psnr_fbp']:.2f}), {m['steps']} steps in {m['seconds']:.1f} s -> {self.out}")


@dataclass
class FitMRI(_Fit):
    """Reconstruct an image or volume from undersampled k-space (compared with the zero-filled inverse FFT)."""

    source: tyro.conf.Positional[str] = "sample:epi"
    """sample:NAME (the volume samples), an image file, or a 2D/3D .npy, .npz or NIfTI; its k-space is simulated."""
    acceleration: float = 8.0
    """Undersampling factor: 1/ACCELERATION of the phase-encoding locations are sampled."""
    center_fraction: float = 0.3
    """Share of the samples taken as the fully sampled k-space centre."""
    mask_seed: int = 0
    """Seed of the random sampling mask."""
    key: Optional[str] = None
    """Array to read from a .npz holding several."""
    frame: Optional[int] = None
    """Volume to take from a 4D file (0-based, along the last axis, where NIfTI keeps time; also for .npy)."""
    tv_weight: float = 0.03
    """Weight of a total-variation penalty on the field's grid values (0: none)."""
    preset: str = "mri"
    """Representation and optimiser, from `inrkit presets`."""
    batch_size: int = 1 << 14
    """Voxels per step, in whole readout positions (at least one)."""

    def load_signal(self):
        from .signals.mri import load_mri

        if not self.tv_weight >= 0:
            raise InrkitError(f"tv weight must be non-negative, got {self.tv_weight}")
        signal = load_mri(self.source, acceleration=self.acceleration, seed=self.mask_seed, key=self.key,
                          frame=self.frame, center_fraction=self.center_fraction)
        signal.tv_weight = self.tv_weight
        return signal

    def run(self) -> None:
        m = self.fit(self.load_signal()).metrics
        print(f"{m['preset']} on {self.source}, {m['acceleration']:g}x: PSNR {m['psnr']:.2f} dB "
              f"(zero-filled {m['psnr_zero_filled']:.2f}), SSIM {m['ssim']:.4f} (zero-filled {m['ssim_zero_filled']:.4f}), "
              f"{m['steps']} steps in {m['seconds']:.1f} s -> {self.out}")


FIT_KINDS = {"image": FitImage}
FIT_KINDS.update(volume=FitVolume, ct=FitCT, mri=FitMRI)


@dataclass
class _FitShape(_Fit):
    """Options shared by `inrkit fit sdf` and `inrkit fit occupancy`."""

    source: tyro.conf.Positional[str] = "sample:torus"
    """Mesh (OBJ, PLY, STL, OFF, GLB), oriented point cloud (PLY with normals, .xyz) or sample:NAME
    (sphere, torus, box, capsule, cylinder)."""
    mesh_resolution: int = 256
    """Grid points per axis of the mesh written at the end (mesh.ply, in the input's units) and scored."""
    detail: int = 512
    """Finest detail in samples across the field's cube (sizes hash-grid presets' finest level)."""
    extent: float = 0.9
    """The shape's longest side spans [-extent, extent] of the field's cube [-1, 1]³."""
    n_train: int = 500_000
    """Supervised points in the training pool (mesh and occupancy modes; surface samples for a mesh
    fitted in pointcloud mode)."""
    fscore_ratio: float = 0.01
    """F-score threshold τ as a fraction of the bounding-box diagonal."""

    def _signal(self, mode: str, **kw):
        from .signals.shape import ShapeSignal, load_shape

        return ShapeSignal(load_shape(self.source), mode=mode, extent=self.extent, detail=self.detail,
                           mesh_resolution=self.mesh_resolution, n_train=self.n_train,
                           fscore_ratio=self.fscore_ratio, seed=self.seed, **kw)

    def run(self) -> None:
        result = self.fit(self.load_signal())
        m = result.metrics
        parts = []
        if m.get("iou") is not None:
            parts.append(f"IoU {m['iou']:.4f}")
        if m.get("chamfer_l1") is not None:
            parts.append(f"Chamfer-L1 {m['chamfer_l1']:.4g} ({100 * m['chamfer_l1_ratio']:.3f}% of the diagonal), "
                         f"normal consistency {m['normal_consistency']:.4f}, F-score {m['fscore']:.4f}")
        else:
            parts.append("no surface at level 0 (no mesh written)")
        print(f"{m['preset']} on {self.source}: {', '.join(parts)}, {m['steps']} steps in {m['seconds']:.1f} s, "
              f"{m['params']:,} parameters -> {self.out}")


@dataclass
class FitSdf(_FitShape):
    """Fit a signed-distance field to a mesh or an oriented point cloud (or sample:NAME)."""

    preset: str = "ngp-sdf"
    """Representation and optimiser, from `inrkit presets` (siren-sdf is the SIREN paper's)."""
    mode: str = "auto"
    """auto (mesh for a mesh, pointcloud for a point cloud), mesh (true signed distances of a closed mesh)
    or pointcloud (the SIREN paper's losses on oriented points; a mesh is sampled)."""
    batch_size: int = 1 << 14
    """Points per step (pointcloud: half on the surface, half uniform in the cube)."""
    w_surface: float = 3e3
    """pointcloud: weight of |f| on the surface (SIREN: 3e3)."""
    w_normal: float = 1e2
    """pointcloud: weight of 1 - cos(∇f, n) on the surface (SIREN: 1e2)."""
    w_off_surface: float = 1e2
    """pointcloud: weight of exp(-α|f|) off the surface (SIREN: 1e2)."""
    w_eikonal: float = 5e1
    """pointcloud: weight of | ‖∇f‖ - 1 | (SIREN: 5e1)."""
    alpha: float = 1e2
    """pointcloud: α of the off-surface penalty (SIREN: 100)."""

    def load_signal(self):
        from .signals.shape import SdfLossWeights, load_shape

        if self.mode not in ("auto", "mesh", "pointcloud"):
            raise InrkitError(f"unknown sdf mode {self.mode!r}; expected auto, mesh or pointcloud")
        mode = self.mode
        if mode == "auto":
            mode = "mesh" if load_shape(self.source).is_mesh else "pointcloud"
        w = SdfLossWeights(self.w_surface, self.w_normal, self.w_off_surface, self.w_eikonal, self.alpha)
        return self._signal(mode, weights=w)


@dataclass
class FitOccupancy(_FitShape):
    """Fit an occupancy field (inside/outside, binary cross-entropy) to a closed mesh (or sample:NAME)."""

    preset: str = "ngp-occupancy"
    """Representation and optimiser, from `inrkit presets` (ffn-occupancy is the Fourier-features paper's)."""
    batch_size: int = 1 << 14
    """Labelled points per step."""

    def load_signal(self):
        return self._signal("occupancy")


FIT_KINDS["sdf"] = FitSdf
FIT_KINDS["occupancy"] = FitOccupancy


@dataclass
class FitAudio(_Fit):
    """Fit a field to a sound (WAV, FLAC or OGG; any channel count) or sample:NAME (chord, stereo)."""

    source: tyro.conf.Positional[str] = "sample:chord"
    """Audio file (WAV, FLAC, OGG) or sample:chord / sample:stereo (synthesised)."""
    start: float = 0.0
    """Seconds into the source where the part to fit begins; only that part is read."""
    duration: Optional[float] = None
    """Seconds to fit from --start (default: to the end); one running past the end is cut there, with a warning."""

    def load_signal(self):
        from .signals.audio import load_audio

        return load_audio(self.source, start=self.start, duration=self.duration)

    def run(self) -> None:
        sig = self.load_signal()
        result = self.fit(sig)
        m = result.metrics
        part = f" from {sig.start:.2f} s" if sig.start else ""
        print(
            f"{m['preset']} on {self.source} ({sig.duration:.2f} s{part} at {sig.rate} Hz, {sig.channels} channel(s)): "
            f"PSNR {m['psnr']:.2f} dB, SNR {m['snr']:.2f} dB, MSE {m['mse']:.3g}, {m['steps']} steps in "
            f"{m['seconds']:.1f} s -> {self.out}/reconstruction.wav"
        )


@dataclass
class FitVideo(_Fit):
    """Fit an (x, y, t) field to a video (MP4 and other containers, GIF, a folder of frames) or sample:disks."""

    source: tyro.conf.Positional[str] = "sample:disks"
    """Video file (MP4, MOV, AVI, ... with the video extra; GIF), a folder of frame images, or sample:disks."""
    size: Optional[str] = None
    """Resize every frame to WIDTHxHEIGHT while reading."""
    frame_step: int = 1
    """Keep every n-th frame."""
    max_frames: int = 0
    """Keep at most this many frames (0: all)."""
    batch_size: int = 1 << 16
    """Random pixels per step."""

    def load_signal(self):
        from .signals.image import parse_size
        from .signals.video import load_video

        size = parse_size(self.size) if self.size else None
        return load_video(self.source, size=size, max_frames=self.max_frames, frame_step=self.frame_step)

    def run(self) -> None:
        sig = self.load_signal()
        result = self.fit(sig)
        m = result.metrics
        print(
            f"{m['preset']} on {self.source} ({sig.n_frames} frames of {sig.width}x{sig.height} at {sig.fps:g} fps): "
            f"PSNR {m['psnr']:.2f} dB (worst frame {m['psnr_min_frame']:.2f}), SSIM {m.get('ssim', float('nan')):.4f}, "
            f"{m['steps']} steps in {m['seconds']:.1f} s -> {self.out}/{sig.output_name}"
        )


@dataclass
class FitPoisson(_Fit):
    """Fit an image from its gradient field only or its Laplacian only (the SIREN paper's Poisson experiment)."""

    source: tyro.conf.Positional[str] = "sample:camera"
    """Image file or sample:NAME; it is turned to grey and only its derivatives are shown to the field."""
    from_: Annotated[str, tyro.conf.arg(name="from")] = "gradient"
    """Which derivative the field sees: gradient (Sobel) or laplacian (5-point stencil)."""
    size: str = "256x256"
    """Resize the image to WIDTHxHEIGHT first."""
    preset: str = "siren"
    """Representation and optimiser (a smooth field: siren; ReLU networks have no second derivative)."""
    schedule: Optional[str] = "exponential"
    """Learning-rate schedule: none, cosine or exponential (to 1/10 over the run; it settles the noisy
    mini-batch derivative fit: 32.7 dB against 29.2 dB with a constant rate, BENCHMARKS.md)."""
    batch_size: int = 1 << 14
    """Pixels per step (all of them when the image has fewer)."""

    def load_signal(self):
        from .signals.image import parse_size
        from .signals.poisson import load_poisson

        return load_poisson(self.source, self.from_, parse_size(self.size))

    def run(self) -> None:
        result = self.fit(self.load_signal())
        m = result.metrics
        fixed = "its mean" if self.from_ == "gradient" else "its least-squares affine part"
        print(
            f"{m['preset']} on {self.source} from its {self.from_} only: PSNR {m['psnr']:.2f} dB, "
            f"SSIM {m.get('ssim', float('nan')):.4f} "
            f"(the unobservable part set to the image's: {fixed}), {m['steps']} steps in {m['seconds']:.1f} s "
            f"-> {self.out}/reconstruction.png"
        )


FIT_KINDS.update({"audio": FitAudio, "video": FitVideo, "poisson": FitPoisson})


def _fit_config(c, steps: int, time_budget: float):
    from .train import FitConfig

    return FitConfig(steps=steps, time_budget=time_budget, eval_every=max(steps, 1), checkpoint_every=0,
                     seed=c.seed, device=c.device, compile=c.compile, progress=False)


@dataclass
class _FolderFits:
    """Options shared by the commands that fit every image of a folder."""

    folder: tyro.conf.Positional[Path]
    """Folder of images (PNG, JPEG, BMP, TIFF)."""
    train_stride: int = 2
    """Train on every S-th pixel; the others are held out and scored."""
    steps: int = 2000
    """Steps per fit."""
    time_budget: float = 0.0
    """Seconds of training per fit (0: none)."""
    size: Optional[str] = None
    """Resize images to WIDTHxHEIGHT first."""
    limit: int = 0
    """Use only the first N images (0: all)."""
    seed: int = 0
    """Seed of every random choice."""
    device: str = "auto"
    """auto, cpu or cuda."""
    compile: str = "auto"
    """torch.compile the network: auto, on or off."""

    def _setup(self):
        from .bench import list_images
        from .signals.image import parse_size

        if self.limit < 0:
            raise InrkitError(f"limit must be a number of images (0: all), got {self.limit}")
        images = list_images(self.folder, self.limit or None)
        return images, parse_size(self.size) if self.size else None


DEFAULT_BENCH_PRESETS = ("relu", "ffn-basic", "ffn-pe", "ffn-gauss", "siren", "ngp")


@dataclass
class BenchImages(_FolderFits):
    """Fit every image in a folder with every preset; write a table (markdown, JSON) and a bar chart."""

    presets: tuple[str, ...] = ()
    """Presets to compare (default: relu ffn-basic ffn-pe ffn-gauss siren ngp; with --protocol ffn or
    ffn-text, its four, of which this may pick some)."""
    protocol: str = "fast"
    """fast: --steps/--time-budget per image as given; ffn (natural images) or ffn-text: the
    Fourier-features paper's exact setup (relu, ffn-basic, ffn-pe, ffn-gauss; 2000 full-batch steps;
    512x512; every second pixel; its per-kind learning rates, σ and positional scale)."""
    sigma: Optional[float] = None
    """Scale σ of every Gaussian Fourier-feature preset (default: the protocol's, else the preset's 10)."""
    baselines: tuple[str, ...] = ()
    """Also score classical interpolation of the training pixels: bilinear, bicubic (no fitting)."""
    out: Path = Path("runs/bench")
    """Output folder: bench.json, bench.md, bench.png (and bench.partial.json while the run is in progress)."""
    resume: bool = False
    """Keep the rows that an interrupted run with the same settings left in --out; fit only the rest."""

    def run(self) -> None:
        from .bench import (FFN_PROTOCOLS, bench_images, markdown_table, protocol_overrides, resumable_runs,
                            write_progress, write_report)
        from .presets import get_preset

        if self.protocol not in ("fast", *FFN_PROTOCOLS):
            raise InrkitError(f"unknown protocol {self.protocol!r}; expected fast, {', '.join(FFN_PROTOCOLS)}")
        if self.sigma is not None and not 0 < self.sigma < float("inf"):
            raise InrkitError(f"sigma must be a positive finite number, got {self.sigma}")
        images, size = self._setup()
        if self.out.resolve() == self.folder.resolve():
            raise InrkitError("--out must not be the image folder: the next run would read bench.png as an image")
        presets, steps, stride = list(self.presets) or list(DEFAULT_BENCH_PRESETS), self.steps, self.train_stride
        budget = self.time_budget
        overrides = {}
        if self.protocol in FFN_PROTOCOLS:
            proto = FFN_PROTOCOLS[self.protocol]
            if self.time_budget or self.size or (self.steps, self.train_stride) != (proto["steps"], proto["train_stride"]):
                raise InrkitError(f"--protocol {self.protocol} fixes the fit (2000 full-batch steps on every second "
                                  "pixel of 512x512 images); drop --steps, --time-budget, --size and --train-stride")
            presets = [p for p in proto["presets"] if not self.presets or p in self.presets]
            other = [p for p in self.presets if p not in proto["presets"]]
            if other:
                raise InrkitError(f"--protocol {self.protocol} runs {', '.join(proto['presets'])}; "
                                  f"{', '.join(other)} is not one of them")
            steps, stride = proto["steps"], proto["train_stride"]
            size, budget = proto["size"], 0.0
            overrides = protocol_overrides(proto, self.sigma)
        elif self.sigma is not None:
            def set_sigma(preset):
                preset.field.encoding.sigma = self.sigma

            overrides = {p: set_sigma for p in presets if get_preset(p).field.encoding.kind == "gaussian"}
        cfg = _fit_config(self, steps, budget)
        settings = {"protocol": self.protocol, "steps": steps, "time_budget": budget, "train_stride": stride,
                    "size": size, "sigma": self.sigma, "images": [p.name for p in images], "folder": str(self.folder),
                    "baselines": list(self.baselines)}
        output_folder(self.out)  # before hours of fitting
        previous = resumable_runs(self.out, json.loads(json.dumps(settings))) if self.resume else []
        title = f"{self.folder.name}: {len(images)} images"

        def save(runs):  # progress survives an interruption; --resume picks it up
            write_progress(runs, self.out, title, settings)

        result = bench_images(images, presets, cfg, stride, size, overrides=overrides,
                              baselines=tuple(self.baselines), previous=previous, on_row=save)
        written = write_report(result, self.out, title, settings)
        print(markdown_table(result["summary"]), end="")
        print("wrote " + ", ".join(map(str, written)))


BENCH_KINDS = {"images": BenchImages}


@dataclass
class Tune(_FolderFits):
    """Pick the Gaussian Fourier-feature scale σ on a tuning folder by PSNR on held-out pixels."""

    sigmas: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 14.0, 20.0, 40.0)
    """Scales to try."""
    preset: str = "ffn-gauss"
    """Preset whose Gaussian features are tuned."""
    out: Path = Path("runs/tune")
    """Output folder: tune.json."""

    def run(self) -> None:
        from .bench import tune_sigma
        from .io import write_json

        images, size = self._setup()
        cfg = _fit_config(self, self.steps, self.time_budget)
        output_folder(self.out)  # before hours of fitting
        result = tune_sigma(images, list(self.sigmas), cfg, self.train_stride, size, self.preset)
        write_json(self.out / "tune.json", {**result, "images": [p.name for p in images]})
        print(f"best sigma {result['best']:g} (held-out PSNR {result['scores'][result['best']]:.2f} dB) "
              f"-> {self.out / 'tune.json'}")


@dataclass
class Ntk:
    """Figures of the Fourier-features paper's NTK argument on a 1D signal (needs matplotlib)."""

    out: Path = Path("runs/ntk")
    """Output folder for the figures and ntk.json."""
    points: int = 64
    """Training points (the held-out points interleave them)."""
    width: int = 256
    """Width of the 3-layer ReLU network whose NTK is computed."""
    seed: int = 0
    """Seed of the signal, the features and the network."""

    def run(self) -> None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InrkitError("inrkit ntk draws figures with matplotlib: pip install 'inrkit[bench]'") from None
        from .ntk import paper_figures

        if self.points < 4 or self.width < 1:
            raise InrkitError("points must be at least 4 and width positive")
        paper_figures(self.out, self.points, self.width, self.seed)
        print(f"wrote {self.out}/ntk_regression.png, ntk_spectra.png, ntk_kernels.png, ntk_2d.png, ntk.json")


def _parse_region(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """--region as ``((x0, y0), (x1, y1))``, non-empty and within [-1, 1] (:func:`inrkit.outputs.parse_region`)."""
    from .outputs import parse_region

    return parse_region(text)


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
    view: Optional[int] = None
    """NeRF: render only camera N of the camera path, as an image (default: CHECKPOINT/render_view_N.png).
    The path is then dataset unless given, so N is the N-th held-out camera.
    An --out ending in .png renders one camera too, of a path that has only one (--frames 1)."""

    def run(self) -> None:
        from .checkpoint import checkpoint_folder, load
        from .train import pick_device

        self.checkpoint = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        field = load(self.checkpoint, device=pick_device(self.device))
        kind = field.meta.get("signal", {}).get("kind")
        if kind not in RENDERERS:
            raise InrkitError(f"{str(self.checkpoint)!r} holds a field of kind {kind!r}; render handles {', '.join(RENDERERS)}")
        RENDERERS[kind](self, field)

    def render(self, field, **override):
        """:func:`inrkit.render` of ``field`` with these options (``override`` replacing some)."""
        from .outputs import render

        options = dict(size=self.size, scale=self.scale, region=self.region, rate=self.rate, fps=self.fps,
                       azimuth=self.azimuth, elevation=self.elevation, camera_path=self.camera_path,
                       frames=self.frames, depth=self.depth, view=self.view, chunk_size=self.chunk_size)
        return render(field, **{**options, **override})

    def output(self, suffixes: tuple[str, ...], what: str, default_name: Optional[str] = None) -> Optional[Path]:
        """Where to write ``what``: --out, else CHECKPOINT/default_name (None without one: call again once the
        rendering has given the name). Its folder must exist and its name end in one of ``suffixes`` (none of
        which a checkpoint's own files use); checked before the rendering when --out is given."""
        if self.out is None and default_name is None:
            return None
        out = output_folder_exists(self.out or self.checkpoint / default_name)
        if not out.name.lower().endswith(tuple(suffixes)):
            raise InrkitError(f"cannot write {what} as {out.name!r}; expected a name ending in {', '.join(suffixes)}")
        return out


def _render_image(r: Render, field) -> None:
    """Images, CT (zero outside the reconstruction circle), 2D MRI and Poisson fields, as one image file."""
    from .signals.image import WRITABLE, save_image

    r.output(WRITABLE, "an image")
    image = r.render(field)  # (H, W, C)
    h, w = image.shape[:2]
    out = r.output(WRITABLE, "an image", f"render_{w}x{h}.png")
    save_image(out, image)
    note = ", the unobservable part set from the image's" if field.meta["signal"]["kind"] == "poisson" else ""
    print(f"wrote {out} ({w}x{h}{note})")


# How `inrkit render` samples a checkpoint, by the kind of signal it was fitted to.
RENDERERS = {"image": _render_image}


def _render_shape(r: Render, field) -> None:
    """A shaded still (PNG) or, with --camera-path orbit, a turntable video."""
    from .signals.image import WRITABLE, save_image

    az = 30.0 if r.azimuth is None else r.azimuth
    el = 20.0 if r.elevation is None else r.elevation
    if r.camera_path is None:
        r.output(WRITABLE, "an image")
        image = r.render(field)  # (H, W, 3) in [0, 1]
        h, w = image.shape[:2]
        out = r.output(WRITABLE, "an image", f"render_{w}x{h}.png")
        save_image(out, image)
        print(f"wrote {out} ({w}x{h}, azimuth {az:g}°, elevation {el:g}°)")
        return
    if r.fps is not None and not r.fps > 0:
        raise InrkitError(f"fps must be positive, got {r.fps}")
    r.output((".mp4", ".gif"), "a video")
    frames = r.render(field)  # (F, H, W, 3) uint8
    h, w = frames.shape[1:3]
    out = r.output((".mp4", ".gif"), "a video", f"render_orbit_{w}x{h}.mp4")
    write_video(out, list(frames), 30 if r.fps is None else r.fps)
    print(f"wrote {out} ({len(frames)} frames of {w}x{h}, a turn from azimuth {az:g}° at elevation {el:g}°)")


RENDERERS["sdf"] = _render_shape
RENDERERS["occupancy"] = _render_shape


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
        from .checkpoint import checkpoint_folder, load, load_meta
        from .outputs import mesh
        from .progress import status
        from .signals.shape import SAVE_SUFFIXES, save_mesh
        from .train import pick_device

        self.checkpoint = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        if self.resolution < 8 or self.resolution > 4096:
            raise InrkitError(f"mesh resolution must be between 8 and 4096, got {self.resolution}")
        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        out = self.out or self.checkpoint / f"mesh_{self.resolution}.ply"
        if out.suffix.lower() not in SAVE_SUFFIXES:
            raise InrkitError(f"cannot write a mesh as {out.name!r}; expected a name ending in {', '.join(SAVE_SUFFIXES)}")
        kind = load_meta(self.checkpoint).get("signal", {}).get("kind")
        if kind not in ("sdf", "occupancy", "nerf"):
            raise InrkitError(f"{str(self.checkpoint)!r} holds a field of kind {kind!r}; mesh handles sdf, occupancy and nerf fields")
        if kind == "nerf" and self.level is not None and not self.level > 0:
            raise InrkitError(f"a density level must be positive, got {self.level}")
        output_folder_exists(out)
        field = load(self.checkpoint, device=pick_device(self.device))
        v, f = mesh(field, self.resolution, self.level, self.coarse_to_fine, self.chunk_size, progress=True)
        if len(f) == 0:
            level = f"density {25.0 if self.level is None else self.level:g}" if kind == "nerf" else "level 0"
            raise InrkitError(f"the field in {str(self.checkpoint)!r} has no surface at {level}; nothing written")
        with status(f"writing {out}"):
            save_mesh(out, v, f)
        print(f"wrote {out} ({len(v):,} vertices, {len(f):,} faces, {self.resolution}³ grid)")


def _render_audio(r: Render, field) -> None:
    from .signals.audio import WRITABLE as suffixes
    from .signals.audio import save_audio

    sig = field.meta["signal"]
    r.output(suffixes, "sound")
    samples = r.render(field)  # (M, C); a lower rate is low-pass filtered (anti-aliased), a higher one sampled
    rate = sig["sample_rate"] if r.rate is None else r.rate
    out = r.output(suffixes, "sound", f"render_{rate}hz.wav")
    save_audio(out, samples, rate, sig.get("subtype"))
    part = f", from {sig['start']:.2f} s of {sig.get('source')}" if sig.get("start") else ""
    print(f"wrote {out} ({len(samples)} samples at {rate} Hz, {len(samples) / rate:.2f} s{part})")


def _render_video(r: Render, field) -> None:
    from .signals.video import save_video

    sig = field.meta["signal"]
    fps = sig["fps"] if r.fps is None else r.fps
    r.output((".mp4", ".gif"), "a video")
    frames = r.render(field)  # (T, H, W, C) uint8
    h, w = frames.shape[1:3]
    out = r.output((".mp4", ".gif"), "a video", f"render_{w}x{h}_{fps:g}fps.mp4")
    written = save_video(out, frames, fps)
    print(f"wrote {written} ({len(frames)} frames of {w}x{h} at {fps:g} fps)")


RENDERERS.update({"audio": _render_audio, "video": _render_video, "poisson": _render_image})


def _render_volume(r: Render, field) -> None:
    import numpy as np

    from .signals.volume import save_slices, save_volume, scaled_affine

    sig = field.meta["signal"]
    shape, affine = sig["shape"][:3], sig.get("affine")
    suffixes = (".npy", ".nii", ".nii.gz")
    r.output(suffixes, "a volume")
    vol = r.render(field)  # (n0, n1, n2) in the volume's own units
    size = vol.shape
    name = "render_" + "x".join(map(str, size)) + (".nii.gz" if affine is not None else ".npy")
    out = r.output(suffixes, "a volume", name)
    new_affine = None if affine is None else scaled_affine(affine, shape, size)
    save_volume(out, vol, new_affine)
    stem = out.name[: -len(".nii.gz")] if out.name.lower().endswith(".nii.gz") else out.with_suffix("").name
    slices = out.with_name(stem + "_slices.png")
    voxel = None if sig.get("voxel_size") is None else np.asarray(sig["voxel_size"]) * np.asarray(shape) / np.asarray(size)
    lo, hi = sig.get("value_range", [0.0, 1.0])
    unit = (vol - lo) / (hi - lo) if hi > lo else np.zeros_like(vol)  # back to [0, 1] for the preview
    save_slices(slices, [unit], voxel, nifti=affine is not None, value_range=(lo, hi), affine=new_affine)
    print(f"wrote {out} ({'x'.join(map(str, size))}) and {slices}")


def _render_mri(r: Render, field) -> None:
    (_render_image if len(field.meta["signal"]["shape"]) == 3 else _render_volume)(r, field)


RENDERERS.update(volume=_render_volume, ct=_render_image, mri=_render_mri)


def _describe_signal(sig: dict) -> str:
    """What was fitted, in the words of its kind (a mesh's vertex and face counts are not an array shape)."""
    kind, shape = sig.get("kind"), sig.get("shape") or []
    what = f"{kind} {sig.get('source', '')}"
    if kind in ("image", "poisson", "ct") or (kind == "mri" and len(shape) == 3):
        return f"{what}, {shape[1]}x{shape[0]} pixels, {shape[2]} channel(s)"
    if kind in ("volume", "mri"):
        return f"{what}, {'x'.join(map(str, shape[:3]))} voxels"
    if kind == "audio":
        start = f" from {sig['start']:g} s" if sig.get("start") else ""
        return f"{what}{start}, {shape[0]:,} samples at {sig.get('sample_rate')} Hz, {shape[1]} channel(s)"
    if kind == "video":
        return f"{what}, {shape[0]} frames of {shape[2]}x{shape[1]} at {sig.get('fps', 0):g} fps"
    if kind in ("sdf", "occupancy"):
        faces = f", {shape[1]:,} faces" if len(shape) > 1 and shape[1] else " (points)"
        return f"{what} ({sig.get('mode', kind)}), {shape[0]:,} vertices{faces}"
    if kind == "nerf":
        return f"{what}, {shape[0]} training views of {shape[2]}x{shape[1]}"
    return f"{what}, shape {shape}"


def info_rows(meta: dict, m: dict) -> list[tuple[str, str]]:
    """The rows `inrkit info` prints for a checkpoint's ``field.json`` and ``metrics.json``."""
    sig, field = meta.get("signal", {}), meta["field"]
    if field.get("type") == "radiance":
        enc, net = field["encoding"], field["network"]
        network = f"density {net['kind']} {net['depth']}x{net['width']}, colour {field['color_network']['kind']} " \
                  f"{field['color_network']['depth']}x{field['color_network']['width']}"
        output = f"colour (sigmoid) and density ({field.get('density_activation', 'exp')})"
    else:
        enc, net = field["encoding"], field["network"]
        network = f"{net['kind']} {net['depth']}x{net['width']}"
        output = field.get("output")
    rows = [
        ("preset", meta.get("preset")),
        ("signal", _describe_signal(sig)),
        ("encoding", enc["kind"]),
        ("network", network),
        ("output", output),
        ("parameters", f"{meta.get('params', 0):,}"),
    ]
    run = meta.get("run", {})
    seconds, device = m.get("seconds", run.get("seconds")), m.get("device", run.get("device"))
    trained = f"{meta.get('step')} steps"
    if seconds is not None:
        trained += f" in {seconds:.1f} s"
    if device:
        threads = m.get("threads", run.get("threads"))
        trained += f" on {device}" + (f" ({threads} thread{'s' * (threads != 1)})" if threads else "")
    rows.append(("training", trained))
    kind = sig.get("kind")
    if kind == "audio" and "psnr" in m:
        rows.append(("quality", f"PSNR {m['psnr']:.2f} dB, SNR {m['snr']:.2f} dB, MSE {m['mse']:.3g}"))
    elif kind in ("sdf", "occupancy"):
        for key in ("iou", "chamfer_l1", "normal_consistency", "fscore"):
            if m.get(key) is not None:
                rows.append((key, f"{m[key]:.4g}"))
    elif "psnr" in m:
        ssim = f", SSIM {m['ssim']:.4f}" if m.get("ssim") is not None else ""
        where = f" over {m['views']} test views" if kind == "nerf" and "views" in m else ""
        rows.append(("quality", f"PSNR {m['psnr']:.2f} dB{ssim}{where}"))
        if "psnr_fbp" in m:  # CT: against filtered back-projection from the same views
            rows.append(("baseline", f"FBP from {m.get('views')} views: PSNR {m['psnr_fbp']:.2f} dB, "
                                     f"SSIM {m['ssim_fbp']:.4f}"))
        if "psnr_zero_filled" in m:  # MRI: against the zero-filled inverse FFT
            rows.append(("baseline", f"zero-filled at {m.get('acceleration', 0):g}x: PSNR "
                                     f"{m['psnr_zero_filled']:.2f} dB, SSIM {m['ssim_zero_filled']:.4f}"))
    elif "projection_psnr" in m:
        rows.append(("quality", f"projection PSNR {m['projection_psnr']:.2f} dB"))
    rows.append(("inrkit", meta.get("inrkit_version")))
    return rows


@dataclass
class Info:
    """Print what a checkpoint holds."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit`."""
    json: bool = False
    """Print field.json as it is."""

    def run(self) -> None:
        from .checkpoint import checkpoint_folder, load_meta

        self.checkpoint = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        meta = load_meta(self.checkpoint)
        if self.json:
            print(json.dumps(meta, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        t = Table(title=str(self.checkpoint), show_header=False)
        metrics = self.checkpoint / "metrics.json"
        m = json.loads(metrics.read_text()) if metrics.exists() else {}
        rows = info_rows(meta, m if isinstance(m, dict) else {})
        for k, v in rows:
            t.add_row(k, str(v))
        Console().print(t)


@dataclass
class Presets:
    """List the presets, grouped by the kinds of signal they are made for."""

    kind: Optional[str] = None
    """Only the presets for this kind (image, audio, video, volume, ct, mri, poisson, sdf, occupancy, nerf)."""

    def run(self) -> None:
        from .presets import PRESETS, _nerf_presets

        presets = [*PRESETS.values(), *_nerf_presets().values()]
        kinds = sorted({k for p in presets for k in p.kinds})
        if self.kind is not None and self.kind not in kinds:
            raise InrkitError(f"unknown kind {self.kind!r}; expected one of {', '.join(kinds)}")
        groups: dict[tuple[str, ...], list] = {}
        for p in presets:
            if self.kind is None or self.kind in p.kinds:
                groups.setdefault(p.kinds, []).append(p)
        defaults: dict[str, list[str]] = {}
        for kind, cls in FIT_KINDS.items():
            defaults.setdefault(cls.preset, []).append(kind)
        for kinds_, group in groups.items():
            auto = " (the default, auto: ngp on a GPU, tensorf on a CPU)" if "nerf" in kinds_ else ""
            print(f"for {', '.join(kinds_)} (inrkit fit {'|'.join(kinds_)} --preset NAME){auto}:")
            for p in group:
                kinds_default = [k for k in defaults.get(p.name, []) if k in p.kinds]
                note = f" [default of fit {'|'.join(kinds_default)}]" if kinds_default else ""
                print(f"  {p.name:14s} {p.description}{note}")
            print()


@dataclass
class Samples:
    """List the built-in samples (use them as sample:NAME), grouped by the command that fits them."""

    def run(self) -> None:
        from .nerf.datasets import SCENES
        from .signals.audio import AUDIO_SAMPLES
        from .signals.image import SAMPLES
        from .signals.shape import SHAPES
        from .signals.video import VIDEO_SAMPLES
        from .signals.volume import VOLUME_SAMPLES

        groups = [
            ("images (inrkit fit image|ct|mri|poisson)", SAMPLES),
            ("sounds (inrkit fit audio)", AUDIO_SAMPLES),
            ("clips (inrkit fit video)", VIDEO_SAMPLES),
            ("volumes (inrkit fit volume|mri; fit ct takes sample:shepp-logan as a 2D phantom)", VOLUME_SAMPLES),
            ("shapes (inrkit fit sdf|occupancy)", SHAPES),
            ("scenes (inrkit fit nerf)", SCENES),
        ]
        for title, samples in groups:
            print(f"{title}:")
            for name, desc in samples.items():
                print(f"  sample:{name:22s} {desc}")
            print()


COMMANDS = {"render": Render, "info": Info, "tune": Tune, "ntk": Ntk, "presets": Presets, "samples": Samples}
COMMANDS["mesh"] = Mesh
GROUPS = {"fit": FIT_KINDS, "bench": BENCH_KINDS}


# ---------------------------------------------------------------- radiance fields (NeRF)


@dataclass
class FitNerf(_Fit):
    """Fit a radiance field to posed photos (Blender, nerfstudio, instant-ngp or LLFF folder, or sample:spheres)."""

    data: tyro.conf.Positional[str] = "sample:spheres"
    """Scene folder (transforms_train.json, transforms.json or poses_bounds.npy) or sample:spheres."""
    preset: str = "auto"
    """ngp, tensorf or nerf (`inrkit presets`); auto: ngp on a GPU, tensorf on a CPU."""
    steps: int = 5000
    """Stop after this many steps."""
    batch_size: int = 4096
    """Rays per step."""
    eval_every: int = 500
    """Render the first held-out view every N steps (the full evaluation runs at the end)."""
    checkpoint_every: int = 2000
    """Write a resumable checkpoint every N steps."""
    downscale: int = 1
    """Shrink the images by this integer factor (area average); intrinsics follow."""
    background: str = "white"
    """Colour RGBA views are composited onto: white, black or R,G,B in [0, 1]."""
    scene_size: Optional[float] = None
    """Half side of the scene box in world units (default: 1.5 for Blender, else from the cameras)."""

    def get_preset(self, name: str):
        from .presets import get_nerf_preset
        from .train import pick_device

        if name == "auto":
            name = "ngp" if pick_device(self.device).type == "cuda" else "tensorf"
        return get_nerf_preset(name)

    def load_signal(self):
        from .checkpoint import META, load_meta
        from .nerf.datasets import load_scene
        from .signals.nerf import NerfSignal, parse_background

        name = self.preset
        if self.resume and (self.out_folder("nerf") / META).exists():
            name = load_meta(self.out).get("preset", name)
        preset = self.get_preset(name)
        bg = parse_background(self.background)
        train = load_scene(self.data, "train", self.downscale, self.scene_size)
        test = load_scene(self.data, "test", self.downscale, self.scene_size)
        signal = NerfSignal(train, test, preset.render, bg)
        signal.downscale = self.downscale
        return signal

    def run(self) -> None:
        import torch

        def make(cfg, signal, seed):
            torch.manual_seed(seed)
            return cfg.build()

        signal = self.load_signal()
        result = self.fit(signal, make)
        m = result.metrics
        print(
            f"{m['preset']} on {self.data}: test PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.4f} over {m['views']} views, "
            f"{m['steps']} steps in {m['seconds']:.1f} s ({m['rays_per_second']:,.0f} rays/s), "
            f"{m['params']:,} parameters -> {self.out}"
        )


FIT_KINDS["nerf"] = FitNerf


def _nerf_signal_from_meta(meta: dict, data: Optional[str] = None, split: str = "test", downscale: Optional[int] = None):
    """A NerfSignal for a checkpoint (:func:`inrkit.signals.nerf.signal_from_meta`)."""
    from .signals.nerf import signal_from_meta

    return signal_from_meta(meta, data, split, downscale)


def _camera_path(r: Render, field):
    """Cameras ``(F, 4, 4)``, intrinsics ``(F, 4)`` and the size ``W, H`` of --camera-path
    (:func:`inrkit.camera_path`; default orbit, or dataset with --view)."""
    from .signals.nerf import camera_path

    path = r.camera_path or ("dataset" if r.view is not None else "orbit")
    return camera_path(field, path, r.frames, r.size, r.scale)


def _read_camera_path(path: Path, k, w: int, h: int):
    """A nerfstudio camera_path.json or a transforms-style file (:func:`inrkit.nerf.cameras.read_camera_path`)."""
    from .nerf.cameras import read_camera_path

    return read_camera_path(path, k, w, h)


def write_video(path: Path, frames, fps: float) -> None:
    """Write ``frames`` (a list of ``(H, W, 3)`` uint8) as MP4 (H.264 via PyAV) or GIF, atomically."""
    import imageio.v3 as iio

    from .io import atomic_path

    ext = path.suffix.lower()
    if ext not in (".mp4", ".gif"):
        raise InrkitError(f"cannot write {str(path)!r}: expected a .mp4 or .gif file name")
    if not fps > 0:
        raise InrkitError(f"fps must be positive, got {fps}")
    with atomic_path(path) as tmp:
        if ext == ".gif":
            iio.imwrite(tmp, frames, extension=".gif", duration=1000 / fps, loop=0)
            return
        try:
            import av  # noqa: F401
        except ImportError:
            raise InrkitError("writing MP4 needs PyAV: pip install 'inrkit[video]' (or write a .gif)") from None
        even = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in frames]  # H.264 wants even sizes
        iio.imwrite(tmp, even, plugin="pyav", extension=".mp4", codec="libx264", fps=fps,
                    out_pixel_format="yuv420p")


def _render_nerf(r: Render, field) -> None:
    """A camera path as a video, or one camera (--view N, or a .png --out) as an image (and its depth)."""
    import numpy as np

    from .signals.image import WRITABLE, save_image
    from .signals.nerf import depth_image

    path = r.camera_path or ("dataset" if r.view is not None else "orbit")
    if r.view is None and not (r.out is not None and r.out.name.lower().endswith(WRITABLE)):
        if r.fps is not None and not r.fps > 0:
            raise InrkitError(f"fps must be positive, got {r.fps}")
        r.output((".mp4", ".gif"), "a video")
        frames = r.render(field)  # (F, H, W, 3), or (F, H, 2W, 3) with depth
        out = r.output((".mp4", ".gif"), "a video", f"render_{Path(path).stem}.mp4")
        write_video(out, list(frames), 30 if r.fps is None else r.fps)
        h, w = frames.shape[1], frames.shape[2] // (2 if r.depth else 1)
        print(f"wrote {out} ({len(frames)} frames, {w}x{h}{', with depth' if r.depth else ''})")
        return
    r.output(WRITABLE, "an image")
    view = r.view
    if view is None:  # an image --out: the camera path must hold just one camera
        n = _camera_path(r, field)[0].shape[0]
        if n != 1:
            raise InrkitError(f"an image holds one view, and the {path} camera path has {n}; pick one with --view N "
                              "(or --frames 1), or write a .mp4 or .gif")
        view = 0
    v = r.render(field, camera_path=path, view=view)  # rgb (H, W, 3), depth and opacity (H, W)
    h, w = v["rgb"].shape[:2]
    default = f"render_view_{view}.png" if path == "dataset" else f"render_{Path(path).stem}_{view}.png"
    out = r.output(WRITABLE, "an image", default)
    save_image(out, np.clip(v["rgb"], 0, 1))
    also = ""
    if r.depth:
        name = out.name[: -len(out.suffix)] + "_depth" + out.suffix
        save_image(out.with_name(name), depth_image(v["depth"], v["opacity"])[..., None])
        also = f" and {out.with_name(name)} (depth: near bright, far dark, empty black)"
    print(f"wrote {out} ({w}x{h}, camera {view} of the {path} camera path){also}")


RENDERERS["nerf"] = _render_nerf


def lpips_status() -> str | None:
    """None when LPIPS can run offline, else why not (:func:`inrkit.signals.nerf.lpips_status`)."""
    from .signals.nerf import lpips_status as status

    return status()


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
        from .checkpoint import checkpoint_folder, load
        from .io import write_json
        from .signals.nerf import evaluate_views
        from .train import pick_device

        self.checkpoint = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        if self.split not in ("test", "val", "train"):
            raise InrkitError(f"unknown split {self.split!r}; expected test, val or train")
        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        if self.downscale is not None and self.downscale < 1:
            raise InrkitError(f"downscale must be a positive integer, got {self.downscale}")
        field = load(self.checkpoint, device=pick_device(self.device))
        kind = field.meta.get("signal", {}).get("kind")
        if kind != "nerf":
            raise InrkitError(f"{str(self.checkpoint)!r} holds a field of kind {kind!r}; eval scores NeRF fields")
        folder = self.checkpoint / f"eval_{self.split}"
        result = evaluate_views(field, self.split, self.data, self.downscale, self.chunk_size, out_dir=folder)
        write_json(self.checkpoint / f"eval_{self.split}.json", result)
        for row in result["per_view"]:
            print(f"{str(row['view']):>12s}  PSNR {row['psnr']:6.2f} dB  SSIM {row['ssim']:.4f}")
        lpips_note = result["lpips_unavailable"]
        note = f"; LPIPS unavailable: {lpips_note}" if lpips_note else ""
        print(f"mean over {result['views']} {self.split} views: PSNR {result['psnr']:.2f} dB, "
              f"SSIM {result['ssim']:.4f}{note}")
        print(f"wrote {self.checkpoint / f'eval_{self.split}.json'} and renders beside ground truth in {folder}")


COMMANDS["eval"] = Eval


def _usage() -> str:
    lines = ["usage: inrkit COMMAND [ARGS]  (inrkit COMMAND --help for its options; inrkit --version)", "",
             "commands:"]
    for group, kinds in GROUPS.items():
        for kind, cls in kinds.items():
            lines.append(f"  {group + ' ' + kind:14s} {cls.__doc__.splitlines()[0]}")
    for name, cls in COMMANDS.items():
        lines.append(f"  {name:14s} {cls.__doc__.splitlines()[0]}")
    return "\n".join(lines)


def _parse(argv: list[str]):
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        raise SystemExit(0 if argv else 2)
    if argv[0] in ("--version", "-V"):
        from . import __version__

        print(f"inrkit {__version__}")
        raise SystemExit(0)
    name, rest = argv[0], argv[1:]
    if name in GROUPS:
        kinds = GROUPS[name]
        if not rest or rest[0] in ("-h", "--help"):
            print(_usage())
            raise SystemExit(0 if rest else 2)
        if rest[0] not in kinds:
            raise InrkitError(f"unknown signal kind {rest[0]!r} for {name}; expected one of {', '.join(kinds)}")
        return tyro.cli(kinds[rest[0]], args=rest[1:], prog=f"inrkit {name} {rest[0]}")
    if name not in COMMANDS:
        raise InrkitError(f"unknown command {name!r}; expected {', '.join([*GROUPS, *COMMANDS])}")
    return tyro.cli(COMMANDS[name], args=rest, prog=f"inrkit {name}")


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """inrkit's own warnings as one line (``inrkit: warning: ...``); others as Python prints them."""
    if "inrkit" in str(filename):
        return f"inrkit: warning: {message}\n"
    return _python_format_warning(message, category, filename, lineno, line)


_python_format_warning = warnings.formatwarning


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    warnings.formatwarning = _format_warning
    try:
        _parse(argv).run()
    except InrkitError as e:
        print(f"inrkit: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `inrkit presets | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as e:
        saved = f": {e}" if str(e) else "; checkpoints already written are intact"
        print(f"inrkit: interrupted{saved}", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as e:
        if isinstance(e, RuntimeError) and not _out_of_memory(e):
            raise
        print("inrkit: error: out of memory: ask for less at once (a smaller --size, --scale, --resolution, "
              "--batch-size or --chunk-size); files already written are intact", file=sys.stderr)
        return 2
    return 0


def _out_of_memory(e: RuntimeError) -> bool:
    """Whether a RuntimeError is PyTorch failing to allocate (CPU or GPU)."""
    import torch

    return isinstance(e, torch.OutOfMemoryError) or "can't allocate memory" in str(e)


if __name__ == "__main__":
    sys.exit(main())
