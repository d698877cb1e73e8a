"""The ``inrkit`` command: fit, render, info, presets, samples.

Subcommands are dataclasses parsed by tyro. User errors (:class:`InrkitError`)
print one sentence to stderr and exit with status 2; nothing is half-written.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

from .errors import InrkitError

DEFAULT_OUT = Path("runs/latest")


@dataclass
class _Fit:
    """Options every `inrkit fit KIND` command shares; a subclass adds its source options and
    implements ``load_signal()`` (and may override ``preset``'s default)."""

    preset: str = "ngp"
    """Representation and optimiser, from `inrkit presets`."""
    out: Path = DEFAULT_OUT
    """Output folder: field.safetensors, field.json, metrics.json, history.csv and the reconstruction."""
    steps: int = 500
    """Stop after this many steps."""
    time_budget: float = 0.0
    """Also stop after this many seconds of training (0: no budget)."""
    lr: Optional[float] = None
    """Learning rate (default: the preset's)."""
    schedule: Optional[str] = None
    """Learning-rate schedule: none, cosine or exponential (default: the preset's)."""
    batch_size: int = 1 << 18
    """Samples per step; full batch when the signal has no more."""
    eval_every: int = 50
    """Evaluate on the full signal every N steps."""
    checkpoint_every: int = 500
    """Write a resumable checkpoint every N steps."""
    resume: bool = False
    """Continue the run in --out up to --steps."""
    seed: int = 0
    """Seed of every random choice."""
    device: str = "auto"
    """auto, cpu or cuda."""
    compile: str = "auto"
    """torch.compile the network: auto, on or off."""
    progress: bool = True
    """Show a progress bar."""

    def load_signal(self):
        raise NotImplementedError

    def fit(self, signal, make=None):
        """Build (or, with --resume, reload) the field, fit it to ``signal``; return the FitResult.

        ``make(field_config, signal, seed)`` builds a new field (default :func:`inrkit.make_field`).
        """
        from . import FitConfig, fit, get_preset, make_field
        from .checkpoint import TRAIN_STATE, load, load_meta

        preset = get_preset(self.preset)
        if self.resume:
            if not (self.out / TRAIN_STATE).exists():
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds no {TRAIN_STATE}")
            meta = load_meta(self.out)
            if meta.get("signal", {}).get("kind") != signal.kind:
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds a {meta.get('signal', {}).get('kind')!r} "
                                  f"field, not a {signal.kind!r} field")
            if meta.get("signal", {}).get("shape") != signal.metadata().get("shape"):
                raise InrkitError(f"cannot resume: {str(self.out)!r} was fitted to a {signal.kind} of another shape")
            field = load(self.out).train()
            preset = get_preset(meta.get("preset", self.preset))
        else:
            field = (make or make_field)(preset.field, signal, seed=self.seed)
        if self.lr is not None:
            if not self.lr > 0:
                raise InrkitError(f"learning rate must be positive, got {self.lr}")
            preset.optim.lr = self.lr
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


FIT_KINDS = {"image": FitImage}


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

        images = list_images(self.folder, self.limit or None)
        return images, parse_size(self.size) if self.size else None


@dataclass
class BenchImages(_FolderFits):
    """Fit every image in a folder with every preset; write a table (markdown, JSON) and a bar chart."""

    presets: tuple[str, ...] = ("relu", "ffn-basic", "ffn-pe", "ffn-gauss", "siren", "ngp")
    """Presets to compare (ignored with --protocol ffn)."""
    protocol: str = "fast"
    """fast: --steps/--time-budget per image as given; ffn: the Fourier-features paper's exact setup
    (relu, ffn-basic, ffn-pe, ffn-gauss; 2000 full-batch steps; 512x512; every second pixel)."""
    out: Path = Path("runs/bench")
    """Output folder: bench.json, bench.md, bench.png."""

    def run(self) -> None:
        from .bench import FFN_PROTOCOL, bench_images, markdown_table, write_report

        if self.protocol not in ("fast", "ffn"):
            raise InrkitError(f"unknown protocol {self.protocol!r}; expected fast or ffn")
        images, size = self._setup()
        presets, steps, stride = list(self.presets), self.steps, self.train_stride
        budget = self.time_budget
        if self.protocol == "ffn":
            presets, steps, stride = FFN_PROTOCOL["presets"], FFN_PROTOCOL["steps"], FFN_PROTOCOL["train_stride"]
            size, budget = FFN_PROTOCOL["size"], 0.0
        cfg = _fit_config(self, steps, budget)
        settings = {"protocol": self.protocol, "steps": steps, "time_budget": budget, "train_stride": stride,
                    "size": size, "images": [p.name for p in images], "folder": str(self.folder)}
        result = bench_images(images, presets, cfg, stride, size)
        written = write_report(result, self.out, f"{self.folder.name}: {len(images)} images", settings)
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
        result = tune_sigma(images, list(self.sigmas), cfg, self.train_stride, size, self.preset)
        self.out.mkdir(parents=True, exist_ok=True)
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
    """Sample a fitted field at any resolution and write it (an image, for an image field)."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit`."""
    size: Optional[str] = None
    """Output WIDTHxHEIGHT (default: the training image's size times --scale)."""
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

    def run(self) -> None:
        from .checkpoint import load
        from .train import pick_device

        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        field = load(self.checkpoint, device=pick_device(self.device))
        kind = field.meta.get("signal", {}).get("kind")
        if kind not in RENDERERS:
            raise InrkitError(f"{str(self.checkpoint)!r} holds a {kind!r} field; render handles {', '.join(RENDERERS)}")
        RENDERERS[kind](self, field)

    def output(self, default_name: str) -> Path:
        """Where to write: --out, else CHECKPOINT/default_name; its folder must exist."""
        out = self.out or self.checkpoint / default_name
        if not out.parent.is_dir():
            raise InrkitError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
        return out


def _render_image(r: Render, field) -> None:
    from .signals.image import parse_size, render_image, save_image

    h, w, c = field.meta["signal"]["shape"]
    region = _parse_region(r.region) if r.region else None
    if r.size:
        size = parse_size(r.size)
    else:
        if not r.scale > 0:
            raise InrkitError(f"scale must be positive, got {r.scale}")
        frac = (1.0, 1.0) if region is None else ((region[1][0] - region[0][0]) / 2, (region[1][1] - region[0][1]) / 2)
        size = (max(1, round(w * r.scale * frac[0])), max(1, round(h * r.scale * frac[1])))
    out = r.output(f"render_{size[0]}x{size[1]}.png")
    device = next(field.parameters()).device
    image = render_image(field, size, c, region=region, chunk_size=r.chunk_size, device=device)
    save_image(out, image)
    print(f"wrote {out} ({size[0]}x{size[1]})")


# How `inrkit render` samples a checkpoint, by the kind of signal it was fitted to.
RENDERERS = {"image": _render_image}


def _render_shape(r: Render, field) -> None:
    from .signals.image import parse_size, save_image
    from .signals.shape import render_shape

    size = parse_size(r.size) if r.size else (512, 512)
    out = r.output(f"render_{size[0]}x{size[1]}.png")
    device = next(field.parameters()).device
    image = render_shape(field, field.meta["signal"]["kind"], size, r.azimuth, r.elevation,
                         chunk_size=r.chunk_size, device=device)
    save_image(out, image)
    print(f"wrote {out} ({size[0]}x{size[1]}, azimuth {r.azimuth:g}°, elevation {r.elevation:g}°)")


RENDERERS["sdf"] = _render_shape
RENDERERS["occupancy"] = _render_shape


@dataclass
class Mesh:
    """Extract a triangle mesh from a fitted shape field (marching cubes, in the input's units)."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit sdf` or `inrkit fit occupancy`."""
    resolution: int = 256
    """Grid points per axis over the field's cube."""
    out: Optional[Path] = None
    """Output mesh, .ply, .obj, .glb, .stl or .off (default: CHECKPOINT/mesh_N.ply)."""
    coarse_to_fine: Optional[bool] = None
    """Sample densely only near the surface found on a grid 8x coarser (default: on from 256 up)."""
    chunk_size: int = 1 << 17
    """Points evaluated at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""

    def run(self) -> None:
        from .checkpoint import load, load_meta
        from .signals.shape import mesh_field, save_mesh
        from .train import pick_device

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
        if kind not in ("sdf", "occupancy"):
            raise InrkitError(f"{str(self.checkpoint)!r} holds a {kind!r} field; mesh handles sdf and occupancy fields")
        if not out.parent.is_dir():
            raise InrkitError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
        device = pick_device(self.device)
        field = load(self.checkpoint, device=device)
        v, f = mesh_field(field, meta["signal"], self.resolution, self.coarse_to_fine, self.chunk_size, device)
        if len(f) == 0:
            raise InrkitError(f"the field in {str(self.checkpoint)!r} has no surface at level 0; nothing written")
        save_mesh(out, v, f)
        print(f"wrote {out} ({len(v):,} vertices, {len(f):,} faces, {self.resolution}³ grid)")


@dataclass
class Info:
    """Print what a checkpoint holds."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit`."""
    json: bool = False
    """Print field.json as it is."""

    def run(self) -> None:
        from .checkpoint import load_meta

        meta = load_meta(self.checkpoint)
        if self.json:
            print(json.dumps(meta, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        t = Table(title=str(self.checkpoint), show_header=False)
        sig = meta.get("signal", {})
        enc, net = meta["field"]["encoding"], meta["field"]["network"]
        rows = [
            ("preset", meta.get("preset")),
            ("signal", f"{sig.get('kind')} {sig.get('source', '')}, shape {sig.get('shape')}"),
            ("encoding", enc["kind"]),
            ("network", f"{net['kind']} {net['depth']}x{net['width']}"),
            ("output", meta["field"].get("output")),
            ("parameters", f"{meta.get('params', 0):,}"),
            ("steps", meta.get("step")),
            ("inrkit", meta.get("inrkit_version")),
        ]
        metrics = self.checkpoint / "metrics.json"
        if metrics.exists():
            m = json.loads(metrics.read_text())
            if "psnr" in m or not any(k in m for k in ("iou", "chamfer_l1")):
                rows.append(("PSNR", f"{m.get('psnr', float('nan')):.2f} dB, SSIM {m.get('ssim', float('nan')):.4f}"))
            for key in ("iou", "chamfer_l1", "normal_consistency", "fscore"):  # shapes
                if m.get(key) is not None:
                    rows.append((key, f"{m[key]:.4g}"))
        for k, v in rows:
            t.add_row(k, str(v))
        Console().print(t)


@dataclass
class Presets:
    """List the presets with their one-line descriptions."""

    def run(self) -> None:
        from .presets import PRESETS

        for p in PRESETS.values():
            print(f"{p.name:10s} {p.description}")


@dataclass
class Samples:
    """List the built-in images and shapes (use them as sample:NAME)."""

    def run(self) -> None:
        from .signals.image import SAMPLES

        for name, desc in SAMPLES.items():
            print(f"sample:{name:22s} {desc}")
        from .signals.shape import SHAPES

        for name, desc in SHAPES.items():  # shapes, for `inrkit fit sdf|occupancy`
            print(f"sample:{name:22s} {desc} (shape)")


COMMANDS = {"render": Render, "info": Info, "tune": Tune, "ntk": Ntk, "presets": Presets, "samples": Samples}
COMMANDS["mesh"] = Mesh
GROUPS = {"fit": FIT_KINDS, "bench": BENCH_KINDS}


def _usage() -> str:
    lines = ["usage: inrkit COMMAND [ARGS]  (inrkit COMMAND --help for its options)", "", "commands:"]
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        _parse(argv).run()
    except InrkitError as e:
        print(f"inrkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inrkit: interrupted; checkpoints already written are intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
