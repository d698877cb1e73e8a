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

from .errors import InrkitError, output_folder, output_folder_exists, read_json

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
    """Samples per step (0: all of them when that fits in half the available memory, else 65536 at random)."""
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
                self.out = new_run_folder(kind, self.source_name())
                claim_folder(self.out, kind, False, False)
                output_folder(self.out)
                link_latest(self.out)
        claim_folder(self.out, kind, self.resume, self.overwrite)
        return self.out

    def fit(self, signal, make=None):
        """Build (or, with --resume, reload) the field, fit it to ``signal``; return the FitResult.

        ``make(field_config, signal, seed)`` builds a new field (default :func:`inrkit.make_field`).
        """
        from . import FitConfig, fit, make_field
        from .checkpoint import TRAIN_STATE, load, load_meta
        from .presets import check_preset_kind

        preset = self.get_preset(self.preset)
        self.out_folder(signal.kind)
        if self.resume:
            if not (self.out / TRAIN_STATE).exists():
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds no {TRAIN_STATE}")
            meta = load_meta(self.out)
            if meta.get("signal", {}).get("kind") != signal.kind:
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds a {meta.get('signal', {}).get('kind')!r} "
                                  f"field, not a {signal.kind!r} field")
            if meta.get("signal", {}).get("shape") != signal.metadata().get("shape"):
                raise InrkitError(f"cannot resume: {str(self.out)!r} was fitted to a {signal.kind} of another shape")
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
        from .checkpoint import write_json

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
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise InrkitError(f"region {text!r} is malformed; expected x0,y0,x1,y1 such as -1,-1,0,0") from None
    if not (x0 < x1 and y0 < y1):
        raise InrkitError(f"region {text!r} is empty; expected x0 < x1 and y0 < y1")
    return (x0, y0), (x1, y1)


@dataclass
class Render:
    """Sample a fitted field at any resolution: an image, sound, video, volume, shape preview or NeRF camera path."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit`."""
    size: Optional[str] = None
    """Output WIDTHxHEIGHT (default: the training image's size times --scale); for a volume N or N0xN1xN2
    (array order, as numpy and nibabel print shapes)."""
    scale: float = 1.0
    """Multiply the training image's size by this (ignored with --size)."""
    region: Optional[str] = None
    """Render only x0,y0,x1,y1 of the image's own [-1, 1] coordinates (x right, y down)."""
    out: Optional[Path] = None
    """Output image (default: CHECKPOINT/render_WxH.png)."""
    chunk_size: int = 1 << 16
    """Points evaluated at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""
    azimuth: float = 30.0
    """Shapes: camera azimuth in degrees around the y (up) axis, 0 looking down -z."""
    elevation: float = 20.0
    """Shapes: camera elevation in degrees above the xz plane."""
    rate: Optional[int] = None
    """Audio: sample rate of the output in Hz (default: the clip's own); the field is resampled there."""
    fps: Optional[float] = None
    """Video: frame rate of the output (default: the clip's own), more frames over the same duration;
    NeRF: frames per second of the camera-path video (default 30)."""
    camera_path: str = "orbit"
    """NeRF: orbit, spiral, dataset (the held-out cameras) or a camera_path.json (nerfstudio) / transforms file."""
    frames: int = 120
    """NeRF: frames of an orbit or spiral."""
    depth: bool = False
    """NeRF: put the depth map beside each frame."""

    def run(self) -> None:
        from .checkpoint import checkpoint_folder, load
        from .train import pick_device

        self.checkpoint = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        field = load(self.checkpoint, device=pick_device(self.device))
        kind = field.meta.get("signal", {}).get("kind")
        if kind not in RENDERERS:
            raise InrkitError(f"{str(self.checkpoint)!r} holds a {kind!r} field; render handles {', '.join(RENDERERS)}")
        RENDERERS[kind](self, field)

    def checked_scale(self) -> float:
        """--scale, once it is a positive finite number (checked only where it is used: without --size)."""
        if not 0 < self.scale < float("inf"):
            raise InrkitError(f"scale must be a positive finite number, got {self.scale}")
        return self.scale

    def output(self, default_name: str, suffixes: tuple[str, ...], what: str) -> Path:
        """Where to write ``what``: --out, else CHECKPOINT/default_name. Its folder must exist and its name
        end in one of ``suffixes`` (none of which a checkpoint's own files use)."""
        out = output_folder_exists(self.out or self.checkpoint / default_name)
        if not out.name.lower().endswith(tuple(suffixes)):
            raise InrkitError(f"cannot write {what} as {out.name!r}; expected a name ending in {', '.join(suffixes)}")
        return out


def _render_image(r: Render, field) -> None:
    from .signals.image import WRITABLE, parse_size, render_image, save_image

    h, w, c = field.meta["signal"]["shape"]
    region = _parse_region(r.region) if r.region else None
    if r.size:
        size = parse_size(r.size)
    else:
        frac = (1.0, 1.0) if region is None else ((region[1][0] - region[0][0]) / 2, (region[1][1] - region[0][1]) / 2)
        size = (max(1, round(w * r.checked_scale() * frac[0])), max(1, round(h * r.checked_scale() * frac[1])))
    out = r.output(f"render_{size[0]}x{size[1]}.png", WRITABLE, "an image")
    device = next(field.parameters()).device
    image = render_image(field, size, c, region=region, chunk_size=r.chunk_size, device=device)
    save_image(out, image)
    print(f"wrote {out} ({size[0]}x{size[1]})")


# How `inrkit render` samples a checkpoint, by the kind of signal it was fitted to.
RENDERERS = {"image": _render_image}


def _render_shape(r: Render, field) -> None:
    import math

    from .signals.image import WRITABLE, parse_size, save_image
    from .signals.shape import render_shape

    if not (math.isfinite(r.azimuth) and math.isfinite(r.elevation)):
        raise InrkitError(f"azimuth and elevation must be finite angles, got {r.azimuth} and {r.elevation}")
    size = parse_size(r.size) if r.size else (512, 512)
    out = r.output(f"render_{size[0]}x{size[1]}.png", WRITABLE, "an image")
    device = next(field.parameters()).device
    image = render_shape(field, field.meta["signal"]["kind"], size, r.azimuth, r.elevation,
                         chunk_size=r.chunk_size, device=device)
    save_image(out, image)
    print(f"wrote {out} ({size[0]}x{size[1]}, azimuth {r.azimuth:g}°, elevation {r.elevation:g}°)")


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
    level: float = 25.0
    """NeRF: the density (per world unit) whose level set is the surface."""
    chunk_size: int = 1 << 17
    """Points evaluated at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""

    def run(self) -> None:
        from .checkpoint import checkpoint_folder, load, load_meta
        from .signals.shape import mesh_field, save_mesh
        from .train import pick_device

        self.checkpoint = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        if self.resolution < 8 or self.resolution > 4096:
            raise InrkitError(f"mesh resolution must be between 8 and 4096, got {self.resolution}")
        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        out = self.out or self.checkpoint / f"mesh_{self.resolution}.ply"
        from .signals.shape import SAVE_SUFFIXES

        if out.suffix.lower() not in SAVE_SUFFIXES:
            raise InrkitError(f"cannot write a mesh as {out.name!r}; expected a name ending in {', '.join(SAVE_SUFFIXES)}")
        meta = load_meta(self.checkpoint)
        kind = meta.get("signal", {}).get("kind")
        if kind not in ("sdf", "occupancy", "nerf"):
            raise InrkitError(f"{str(self.checkpoint)!r} holds a {kind!r} field; mesh handles sdf, occupancy and nerf fields")
        output_folder_exists(out)
        device = pick_device(self.device)
        field = load(self.checkpoint, device=device)
        if kind == "nerf":
            import torch

            from .signals.nerf import mesh_radiance_field

            if not self.level > 0:
                raise InrkitError(f"a density level must be positive, got {self.level}")
            with torch.no_grad():
                v, f = mesh_radiance_field(field, meta["signal"], self.resolution, self.level, self.checkpoint,
                                           self.coarse_to_fine, self.chunk_size, device)
            level = f"density {self.level:g}"
        else:
            v, f = mesh_field(field, meta["signal"], self.resolution, self.coarse_to_fine, self.chunk_size, device)
            level = "level 0"
        if len(f) == 0:
            raise InrkitError(f"the field in {str(self.checkpoint)!r} has no surface at {level}; nothing written")
        save_mesh(out, v, f)
        print(f"wrote {out} ({len(v):,} vertices, {len(f):,} faces, {self.resolution}³ grid)")


def _render_audio(r: Render, field) -> None:
    from .signals.audio import resample_field, save_audio

    sig = field.meta["signal"]
    n, channels = sig["shape"]
    image_options = (("--size", r.size), ("--scale", r.scale != 1.0), ("--region", r.region))
    if ignored := [flag for flag, given in image_options if given]:
        warnings.warn(f"{' and '.join(ignored)} ignored for audio: a sound has no image size (--rate sets its rate)")
    rate = sig["sample_rate"] if r.rate is None else r.rate
    if not rate > 0:
        raise InrkitError(f"sample rate must be a positive number of Hz, got {r.rate}")
    out = r.output(f"render_{rate}hz.wav", (".wav", ".flac", ".ogg"), "sound")
    # A lower rate is low-pass filtered (anti-aliased) from the field's own samples; a higher one samples the field.
    samples = resample_field(field, n, channels, sig["sample_rate"], rate, chunk_size=r.chunk_size,
                             device=next(field.parameters()).device)
    save_audio(out, samples, rate, sig.get("subtype"))
    part = f", from {sig['start']:.2f} s of {sig.get('source')}" if sig.get("start") else ""
    print(f"wrote {out} ({len(samples)} samples at {rate} Hz, {len(samples) / rate:.2f} s{part})")


def _render_video(r: Render, field) -> None:
    from .signals.image import parse_size
    from .signals.video import render_video

    sig = field.meta["signal"]
    t, h, w, c = sig["shape"]
    if r.size:
        size = parse_size(r.size)
    else:
        size = (max(1, round(w * r.checked_scale())), max(1, round(h * r.checked_scale())))
    fps = sig["fps"] if r.fps is None else r.fps
    if not fps > 0:
        raise InrkitError(f"frame rate must be positive, got {r.fps}")
    frames = max(1, round(t * fps / sig["fps"]))  # same duration at the new frame rate
    out = r.output(f"render_{size[0]}x{size[1]}_{fps:g}fps.mp4", (".mp4", ".gif"), "a video")
    written = render_video(field, out, size, frames, fps, c, chunk_size=r.chunk_size,
                           device=next(field.parameters()).device)
    print(f"wrote {written} ({frames} frames of {size[0]}x{size[1]} at {fps:g} fps)")


def _render_poisson(r: Render, field) -> None:
    from .signals.image import WRITABLE, parse_size, save_image
    from .signals.poisson import align

    sig = field.meta["signal"]
    h, w, _ = sig["shape"]
    if r.size:
        size = parse_size(r.size)
    else:
        size = (max(1, round(w * r.checked_scale())), max(1, round(h * r.checked_scale())))
    out = r.output(f"render_{size[0]}x{size[1]}.png", WRITABLE, "an image")
    raw = field.sample_grid((size[1], size[0]), chunk_size=r.chunk_size)[..., 0]  # (H, W)
    save_image(out, align(raw, sig["mode"], sig["anchor"])[..., None])
    print(f"wrote {out} ({size[0]}x{size[1]}, the unobservable part set from the image's)")


RENDERERS.update({"audio": _render_audio, "video": _render_video, "poisson": _render_poisson})


def _volume_size(r: Render, shape) -> tuple[int, int, int]:
    """--size as N (a cube) or N0xN1xN2 (array order, as numpy and nibabel print shapes), else shape x --scale."""
    if r.size:
        try:
            parts = [int(p) for p in r.size.lower().split("x")]
        except ValueError:
            parts = []
        if len(parts) == 1:
            parts *= 3
        if len(parts) != 3 or min(parts) < 1:
            raise InrkitError(f"size {r.size!r} is malformed for a volume; expected N or N0xN1xN2 such as 128x128x64")
        return tuple(parts)
    return tuple(max(1, round(n * r.checked_scale())) for n in shape)


def _render_volume(r: Render, field) -> None:
    import numpy as np

    from .grids import evaluate_grid
    from .signals.volume import save_slices, save_volume, scaled_affine

    sig = field.meta["signal"]
    shape = sig["shape"][:3]
    size = _volume_size(r, shape)
    affine = sig.get("affine")
    name = "render_" + "x".join(map(str, size)) + (".nii.gz" if affine is not None else ".npy")
    out = r.output(name, (".npy", ".nii", ".nii.gz"), "a volume")
    device = next(field.parameters()).device
    vol = np.clip(evaluate_grid(field, size, 1, chunk_size=r.chunk_size, device=device)[..., 0], 0, 1)  # (n0, n1, n2)
    lo, hi = sig.get("value_range", [0.0, 1.0])
    save_volume(out, vol * (hi - lo) + lo, None if affine is None else scaled_affine(affine, shape, size))
    stem = out.name[: -len(".nii.gz")] if out.name.lower().endswith(".nii.gz") else out.with_suffix("").name
    slices = out.with_name(stem + "_slices.png")
    voxel = None if sig.get("voxel_size") is None else np.asarray(sig["voxel_size"]) * np.asarray(shape) / np.asarray(size)
    save_slices(slices, [vol], voxel, nifti=affine is not None)
    print(f"wrote {out} ({'x'.join(map(str, size))}) and {slices}")


def _render_mri(r: Render, field) -> None:
    (_render_image if len(field.meta["signal"]["shape"]) == 3 else _render_volume)(r, field)


def _render_ct(r: Render, field) -> None:
    """As an image, zero outside the reconstruction circle (no ray constrains the field there)."""
    import torch

    class Disc(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.meta = inner, inner.meta

        def forward(self, x):  # (N, 2) -> (N, 1)
            return self.inner(x) * (x.square().sum(-1, keepdim=True) <= 1)

    _render_image(r, Disc(field))


RENDERERS.update(volume=_render_volume, ct=_render_ct, mri=_render_mri)


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
            print(f"for {', '.join(kinds_)} (inrkit fit {'|'.join(kinds_)} --preset NAME):")
            for p in group:
                note = "" if p.name not in defaults else f" [default of fit {'|'.join(defaults[p.name])}]"
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
    """A NerfSignal for a checkpoint: cameras from its metadata, or views loaded from ``data``."""
    import torch

    from .nerf.datasets import NerfDataset, load_scene
    from .signals.nerf import NerfRenderConfig, NerfSignal

    sig = meta["signal"]
    known = {f.name for f in __import__("dataclasses").fields(NerfRenderConfig)}
    render = NerfRenderConfig(**{k: v for k, v in sig["render"].items() if k in known})
    cams = sig["cameras"]
    h, w = cams["height"], cams["width"]

    def empty(c2w, k):
        n = len(c2w)
        return NerfDataset(torch.zeros(1, 1, 1, 3, dtype=torch.uint8).expand(n, h, w, 3), torch.tensor(c2w),
                           torch.tensor(k), sig["center"], sig["half_size"], ndc=sig.get("ndc"), source=sig["source"])

    train = empty(cams["train_c2w"], cams["train_intrinsics"])
    test = empty(cams["test_c2w"], cams["test_intrinsics"])
    if data is not None:
        test = load_scene(data, split, downscale or sig.get("downscale", 1), sig["half_size"])
        test.center, test.half_size, train.ndc = sig["center"], sig["half_size"], sig.get("ndc")
    return NerfSignal(train, test, render, sig.get("background", (1.0, 1.0, 1.0)))


def _camera_path(r: Render, sig_meta: dict):
    """Cameras ``(F, 4, 4)`` and intrinsics ``(F, 4)`` for --camera-path, at the output size."""
    import torch

    from .nerf.cameras import orbit_path, spiral_path
    from .signals.image import parse_size

    cams = sig_meta["cameras"]
    w0, h0 = cams["width"], cams["height"]
    if r.size:
        w, h = parse_size(r.size)
    else:
        w, h = max(1, round(w0 * r.checked_scale())), max(1, round(h0 * r.checked_scale()))
    k0 = torch.tensor(cams["train_intrinsics"][0])
    k = torch.tensor([k0[0] * w / w0, k0[1] * h / h0, k0[2] * w / w0, k0[3] * h / h0])
    train = torch.tensor(cams["train_c2w"])
    if r.frames < 1:
        raise InrkitError(f"frames must be positive, got {r.frames}")
    p = r.camera_path
    if p == "orbit":
        c2w = orbit_path(train, r.frames)
    elif p == "spiral":
        c2w = spiral_path(train, r.frames)
    elif p == "dataset":
        c2w = torch.tensor(cams["test_c2w"])
        k = torch.tensor(cams["test_intrinsics"])[0] * torch.tensor([w / w0, h / h0, w / w0, h / h0])
    else:
        c2w, k, w, h = _read_camera_path(Path(p), k, w, h)
    return c2w.float(), k.float().expand(c2w.shape[0], 4), w, h


def _read_camera_path(path: Path, k, w: int, h: int):
    """A nerfstudio camera_path.json (camera_to_world as 16 numbers, vertical fov in degrees,
    render_width/height) or a transforms-style file (frames with a 4x4 transform_matrix)."""
    import math

    import torch

    if not path.exists():
        raise InrkitError(f"camera path {str(path)!r} is not orbit, spiral, dataset or an existing JSON file")
    d = read_json(path, "camera path")
    mats, fovs = [], []
    try:
        if isinstance(d, dict) and "camera_path" in d:
            w, h = int(d.get("render_width", w)), int(d.get("render_height", h))
            for c in d["camera_path"]:
                mats.append(torch.tensor(c["camera_to_world"], dtype=torch.float64).reshape(4, 4))
                fovs.append(c.get("fov"))
        elif isinstance(d, dict) and "frames" in d:
            for f in d["frames"]:
                mats.append(torch.tensor(f["transform_matrix"], dtype=torch.float64).reshape(4, 4))
        else:
            raise KeyError("camera_path or frames")
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InrkitError(f"camera path {str(path)!r} is malformed (expected nerfstudio's camera_path list of "
                          f"camera_to_world 4x4 matrices, or frames with transform_matrix): {e}") from None
    if not mats:
        raise InrkitError(f"camera path {str(path)!r} holds no cameras")
    if w < 1 or h < 1:
        raise InrkitError(f"camera path {str(path)!r} asks for an empty image ({w}x{h})")
    if fovs and fovs[0]:
        f = 0.5 * h / math.tan(math.radians(float(fovs[0])) / 2)
        k = torch.tensor([f, f, w / 2, h / 2])
    return torch.stack(mats), k, w, h


def write_video(path: Path, frames, fps: float) -> None:
    """Write ``frames`` (a list of ``(H, W, 3)`` uint8) as MP4 (H.264 via PyAV) or GIF, atomically."""
    import imageio.v3 as iio

    from .errors import atomic_path

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
    import numpy as np
    import torch

    from .signals.nerf import depth_image, grid_for_field

    sig_meta = field.meta["signal"]
    signal = _nerf_signal_from_meta(field.meta)
    signal.render.chunk_size = r.chunk_size
    c2w, k, w, h = _camera_path(r, sig_meta)
    out = r.output(f"render_{Path(r.camera_path).stem}.mp4", (".mp4", ".gif"), "a video")
    device = next(field.parameters()).device
    grid = (grid_for_field(field, signal.render, device, checkpoint=r.checkpoint)
            if signal.render.sampler == "occupancy" else None)
    frames = []
    from rich.progress import track

    for i in track(range(c2w.shape[0]), description="rendering", transient=True):
        v = signal.render_view(field, c2w[i], k[i], w, h, grid=grid)
        rgb = (np.clip(v["rgb"], 0, 1) * 255 + 0.5).astype(np.uint8)
        if r.depth:
            dep = (depth_image(v["depth"], v["opacity"]) * 255 + 0.5).astype(np.uint8)
            rgb = np.concatenate([rgb, np.repeat(dep[..., None], 3, -1)], 1)
        frames.append(rgb)
    write_video(out, frames, 30 if r.fps is None else r.fps)
    print(f"wrote {out} ({len(frames)} frames, {w}x{h}{', with depth' if r.depth else ''})")
    del torch


RENDERERS["nerf"] = _render_nerf


def lpips_status() -> str | None:
    """None when LPIPS can run offline (the lpips package and its AlexNet weights are installed), else why not."""
    try:
        import lpips  # noqa: F401
    except ImportError:
        return "the lpips package is not installed"
    import torch

    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if not any(hub.glob("alexnet-*.pth")):
        return f"the AlexNet weights LPIPS needs are not in {hub} (no downloads are made)"
    return None


@dataclass
class Eval:
    """Score a fitted radiance field on a split of its scene: PSNR and SSIM per view and mean."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit nerf`."""
    split: str = "test"
    """test, val or train."""
    data: Optional[str] = None
    """Scene folder (default: the one the field was fitted to)."""
    downscale: Optional[int] = None
    """Image downscale factor (default: the one used for fitting)."""
    chunk_size: int = 8192
    """Rays rendered at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""

    def run(self) -> None:
        import numpy as np

        from . import metrics
        from .checkpoint import checkpoint_folder, load, write_json
        from .signals.nerf import save_view
        from .train import pick_device

        self.checkpoint = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        if self.split not in ("test", "val", "train"):
            raise InrkitError(f"unknown split {self.split!r}; expected test, val or train")
        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        field = load(self.checkpoint, device=pick_device(self.device))
        kind = field.meta.get("signal", {}).get("kind")
        if kind != "nerf":
            raise InrkitError(f"{str(self.checkpoint)!r} holds a {kind!r} field; eval scores NeRF fields")
        source = self.data or field.meta["signal"]["source"]
        if self.data is None and not source.startswith(("sample:", "builtin:")) and not Path(source).exists():
            raise InrkitError(f"the scene this field was fitted to, {source!r}, is not there any more; "
                              "give its folder with --data")
        if self.downscale is not None and self.downscale < 1:
            raise InrkitError(f"downscale must be a positive integer, got {self.downscale}")
        signal = _nerf_signal_from_meta(field.meta, source, self.split, self.downscale)
        signal.render.chunk_size = self.chunk_size
        if signal.render.sampler == "occupancy":
            from .signals.nerf import grid_for_field

            signal.grid = grid_for_field(field, signal.render, next(field.parameters()).device,
                                         checkpoint=self.checkpoint)
        folder = output_folder(self.checkpoint / f"eval_{self.split}")
        lpips_note = lpips_status()
        rows = []
        from rich.progress import track

        pred = signal.predict(field)
        for i in track(range(len(signal.test)), description=f"rendering {self.split}", transient=True):
            v = pred.view(i)
            gt = signal.ground_truth(signal.test, i)
            rgb = np.clip(v["rgb"], 0, 1)
            rows.append({"view": signal.test.names[i] if signal.test.names else i,
                         "psnr": metrics.psnr(rgb, gt), "ssim": metrics.ssim(rgb, gt)})
            save_view(folder, f"{i:03d}", v, gt)
            pred._views.pop(i)
        result = {
            "split": self.split,
            "source": source,
            "views": len(rows),
            "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "lpips": None,
            "lpips_unavailable": lpips_note,
            "per_view": rows,
        }
        write_json(self.checkpoint / f"eval_{self.split}.json", result)
        for r in rows:
            print(f"{str(r['view']):>12s}  PSNR {r['psnr']:6.2f} dB  SSIM {r['ssim']:.4f}")
        note = f"; LPIPS unavailable: {lpips_note}" if lpips_note else ""
        print(f"mean over {len(rows)} {self.split} views: PSNR {result['psnr']:.2f} dB, SSIM {result['ssim']:.4f}{note}")
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
    except KeyboardInterrupt:
        print("inrkit: interrupted; checkpoints already written are intact", file=sys.stderr)
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
