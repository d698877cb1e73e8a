"""Run folders: each fit gets its own, and one run never writes over another's files.

Without ``--out``, a fit writes ``runs/<kind>-<name>-<n>`` (``n`` one more than the largest already
there) and points the link ``runs/latest`` at it. A folder that already holds a run (its ``field.json``)
is continued with ``--resume`` or replaced with ``--overwrite`` (the earlier run's files are removed
first, so the two never mix); anything else is refused.

Examples:
    >>> run_name("image", "sample:camera")
    'image-camera'
    >>> run_name("audio", "/data/My Song.wav")
    'audio-My-Song'
    >>> run_name("nerf", "../shared/data/nerf/lego/")
    'nerf-lego'
"""
from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .checkpoint import META, load_meta
from .errors import InrkitError

__all__ = ["RUNS", "LATEST", "RUN_FILES", "RunOptions", "run_name", "new_run_folder", "latest_run_folder",
           "claim_folder", "link_latest", "same_source", "fit_run", "describe_run", "describe_fieldset"]

RUNS = Path("runs")
LATEST = "latest"

# What a fit (and render, eval and mesh into the run folder) writes: removed before --overwrite refits.
RUN_FILES = (
    "field.safetensors", "field.json", "metrics.json", "history.csv", "progress.json", "train_state.pt",
    "occupancy.safetensors",
    "training.png", "comparison.png", "slices.png", "fbp.png", "zero_filled.*", "reconstruction.*", "mesh.ply",
    "mesh_*.*", "render_*", "eval_*", "test_views",
)


def run_name(kind: str, source: str) -> str:
    """``kind-stem``: the source's file or folder name without its suffixes, or the sample's name."""
    text = str(source).rstrip("/\\")
    if ":" in text and not Path(text).exists():  # sample:NAME, builtin:NAME
        stem = text.split(":", 1)[1]
    else:
        stem = Path(text).name.split(".")[0] or "run"
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "run"
    return f"{kind}-{stem}"


def _numbered(root: Path, name: str) -> list[tuple[int, Path]]:
    pattern = re.compile(re.escape(name) + r"-(\d+)$")
    found = []
    if root.is_dir():
        for p in root.iterdir():
            m = pattern.match(p.name)
            if m and p.is_dir() and not p.is_symlink():
                found.append((int(m.group(1)), p))
    return sorted(found)


def new_run_folder(kind: str, source: str, root: Path = RUNS) -> Path:
    """``root/<kind>-<name>-<n>`` with ``n`` one more than the largest there (1 for the first)."""
    name = run_name(kind, source)
    found = _numbered(Path(root), name)
    return Path(root) / f"{name}-{found[-1][0] + 1 if found else 1}"


def latest_run_folder(kind: str, source: str, root: Path = RUNS) -> Path | None:
    """The newest ``root/<kind>-<name>-<n>`` that holds a run of ``source`` (by its field.json; a folder
    with no run yet counts by its name), None when there is none: what ``--resume`` continues."""
    for _, folder in reversed(_numbered(Path(root), run_name(kind, source))):
        if not (folder / META).exists():
            return folder
        try:
            was = load_meta(folder).get("signal", {}).get("source")
        except InrkitError:
            continue
        if same_source(was, source):
            return folder
    return None


def same_source(a, b) -> bool:
    """Whether two recorded sources name the same data: equal names, or paths to the same file or folder."""
    if a == b:
        return True
    try:
        return Path(a).exists() and Path(b).exists() and Path(a).resolve() == Path(b).resolve()
    except (TypeError, OSError):
        return False


def claim_folder(out: Path, kind: str, resume: bool, overwrite: bool) -> None:
    """Make ``out`` ready for a new run (or a resumed one): refuse a folder holding another run unless
    ``overwrite``, in which case its files are removed first; ``resume`` needs the run to be there
    (the fit checks its kind and shape)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InrkitError(f"output folder {str(out)!r} is a file")
    if resume or not (out / META).exists():
        return
    try:
        meta = load_meta(out)
        what = f"a run ({meta.get('signal', {}).get('kind', '?')}, preset {meta.get('preset', '?')})"
    except InrkitError:
        what = "a run"
    if not overwrite:
        raise InrkitError(f"{str(out)!r} already holds {what}; pass --overwrite to replace it, --resume to "
                          "continue it, or choose another --out")
    for pattern in RUN_FILES:
        for p in out.glob(pattern):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()


def link_latest(folder: Path, root: Path = RUNS) -> Path | None:
    """Point ``root/latest`` at ``folder`` (a relative link, replaced atomically); None where links cannot
    be made, or where ``latest`` is a real folder (an earlier inrkit's run, left as it is)."""
    link = Path(root) / LATEST
    if link.exists() and not link.is_symlink():
        warnings.warn(f"{link} is a folder (an earlier inrkit wrote runs there); it is left as it is, "
                      f"this run is in {folder}")
        return None
    tmp = Path(root) / f".{LATEST}.{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(os.path.relpath(Path(folder).resolve(), Path(root).resolve()), tmp, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    return link


# ---------------------------------------------------------------- a fit as `inrkit fit KIND` runs it


@dataclass
class RunOptions:
    """Which recipe, and where its run goes."""

    preset: Optional[str] = None
    """Representation and optimiser, from `inrkit presets` (None or auto: the kind's default, marked there)."""
    out: Optional[Path] = None
    """Output folder (default: a new runs/KIND-NAME-N, linked from runs/latest): field.safetensors,
    field.json, metrics.json, history.csv, training.png and the reconstruction."""
    overwrite: bool = False
    """Replace the run already in --out (its files are removed first); without it, such a folder is refused."""
    resume: bool = False
    """Continue the run in --out (default: the newest run of this kind and source) up to --steps."""
    lr: Optional[float] = None
    """Learning rate (default: the preset's)."""
    schedule: Optional[str] = None
    """Learning-rate schedule: none, cosine or exponential (default: the preset's, or the kind's)."""
    init: Optional[Path] = None
    """Start from a meta-learned initialisation (a folder `inrkit meta-train` wrote), its architecture and,
    unless --lr or --schedule is given, its test-time optimiser; 3 steps already give a usable field."""
    prior: Optional[Path] = None
    """Images: start from a super-resolution prior (a folder `inrkit sr train` wrote, or default: the shipped
    one): the field is the image's training pixels through it, fine-tuned on them (Adam 2e-5 unless --lr)."""
    view: bool = False
    """Images: watch the fit in the browser (`inrkit view` on the run folder at http://127.0.0.1:--view-port/):
    the curves at each evaluation, the picture at each checkpoint; it stays up after the fit until Ctrl-C."""
    view_port: int = 8000
    """Port of --view (on 127.0.0.1)."""


def _source_name(options) -> str:
    return str(getattr(options, "source", None) or "run")


def _out_folder(run: RunOptions, kind: str, source: str) -> Path:
    """--out, or the default: with --resume the newest runs/KIND-NAME-N, else a new one (and runs/latest
    pointed at it); claimed for this run (:func:`claim_folder`)."""
    from .io import output_folder

    out = run.out
    if out is None:
        if run.resume:
            out = latest_run_folder(kind, source)
            if out is None:
                raise InrkitError(f"cannot resume: there is no earlier {kind} run of {source!r} in runs/; "
                                  "name its folder with --out")
        else:
            out = new_run_folder(kind, source)  # a fresh name: nothing there to claim
            output_folder(out)
            link_latest(out)
    claim_folder(out, kind, run.resume, run.overwrite)
    return out


def signal_difference(stored: dict, now: dict) -> str | None:
    """How the signal a run was fitted to (``stored``, from its field.json) differs from ``now``, in words;
    None when they are the same signal with the same options (a source path compares by the file it names).

    Examples:
        >>> signal_difference({"kind": "image", "size": 64}, {"kind": "image", "size": 32})
        'size 64, not 32'
    """
    from .train import absolute_source

    now = json.loads(json.dumps(absolute_source(now), default=float))  # as field.json holds it
    for key in sorted(set(stored) | set(now)):
        a, b = stored.get(key), now.get(key)
        if a != b and not (key == "source" and same_source(a, b)):
            if key in ("cameras", "render") or len(repr(a)) > 80:
                return f"other {key}"
            return f"{key} {a}, not {b}"
    return None


def fit_run(kind, options, config, run: RunOptions):
    """Fit a new field of ``kind`` (a :class:`inrkit.signals.base.Kind`) to the source ``options`` describe,
    with the loop settings ``config`` (:class:`inrkit.FitConfig`), into a run folder; or with
    ``run.resume``, continue the run there. Returns ``(FitResult, signal, folder)``.

    A fit that fails before writing anything leaves no empty run folder, and ``runs/latest`` where it was.
    """
    from .train import pick_device

    source = _source_name(options)
    name = run.preset
    if name in (None, "auto"):
        name = kind.default_preset(pick_device(config.device))
    latest = RUNS / LATEST
    before = latest.resolve() if latest.is_symlink() else None
    new_folder = run.out is None and not run.resume
    out = _out_folder(run, kind.name, source)
    try:
        from .checkpoint import META
        from .presets import get_preset

        previous = load_meta(out) if run.resume and (out / META).exists() else None
        if previous is not None and previous.get("signal", {}).get("kind") == kind.name and not previous.get("prior"):
            name = previous.get("preset", name)  # the run's recipe (a different --preset is refused)
        signal = kind.load(options, config.seed, get_preset(name, kind.name))
        if run.view:
            _start_viewer(kind.name, out, run.view_port)
        return _fit(kind, signal, name, config, run, out, previous), signal, out
    except BaseException:
        if new_folder and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # nothing was written: no empty run folder, and latest back where it was
            if before is not None and before.is_dir():
                link_latest(before)
            elif latest.is_symlink():
                latest.unlink()
        raise


def _start_viewer(kind: str, out: Path, port: int) -> None:
    """``--view``: serve the viewer on the run folder from a background thread, before the fit starts."""
    if kind != "image":
        raise InrkitError(f"--view shows image fits so far, not {kind} fits")
    from .viewer import require, serve_in_background

    require("--view")
    serve_in_background(out, "127.0.0.1", port)
    print(f"watch the fit at http://127.0.0.1:{port}/", flush=True)


def _fit(kind, signal, name: str, config, run: RunOptions, out: Path, previous: dict | None):
    """Build (or with --resume reload) the field and fit it; ``previous``: the run's field.json, if resuming."""
    import torch

    from .checkpoint import TRAIN_STATE, load
    from .fields import FieldConfig
    from .presets import check_preset_kind, get_preset, resolve_preset
    from .train import fit, make_field

    started_from = None  # the meta checkpoint the run starts from (--init), kept through --resume
    prior_from = None  # the super-resolution prior it starts from (--prior), kept through --resume
    explicit = run.preset not in (None, "auto", kind.preset_flag)  # --preset given, and not the default
    if run.resume:
        if not (out / TRAIN_STATE).exists():
            raise InrkitError(f"cannot resume: {str(out)!r} holds no {TRAIN_STATE}")
        meta = previous if previous is not None else load_meta(out)
        if meta.get("signal", {}).get("kind") != signal.kind:
            raise InrkitError(f"cannot resume: {str(out)!r} holds a field of kind "
                              f"{meta.get('signal', {}).get('kind')!r}, not {signal.kind!r}")
        differs = signal_difference(meta.get("signal", {}), signal.metadata())
        if differs:
            raise InrkitError(f"cannot resume: {str(out)!r} was fitted to {differs}; give the run's "
                              "source and options, or fit into another --out")
        was = meta.get("preset", name)
        if meta.get("prior") and explicit:
            raise InrkitError(f"cannot resume: {str(out)!r} holds a fit from a prior; drop --preset to continue it")
        if meta.get("prior"):
            was = name  # "prior" names no preset: the kind's default stands in (its optimiser is replaced below)
        elif explicit and resolve_preset(run.preset, kind.name) != resolve_preset(was, kind.name):  # not the run's
            raise InrkitError(f"cannot resume: {str(out)!r} holds a {was!r} run, not {run.preset!r}; "
                              "drop --preset to continue it, or fit into another --out")
        field = load(out).train()
        preset = get_preset(was, kind.name)
        started_from = meta.get("init")
        if started_from:  # started from a meta-learned initialisation: its optimiser (and metasgd's rates)
            from .fieldsets.meta import resume_from_meta

            preset.optim = resume_from_meta(meta, field)
        if meta.get("prior"):  # fine-tuning a prior: its own optimiser
            from .superres.prior import prior_optim

            preset.optim, prior_from = prior_optim(), meta["prior"]
    elif run.prior is not None:  # the image through a learned prior, fine-tuned
        from .superres.prior import field_from_prior, prior_optim

        if run.init is not None or explicit:
            raise InrkitError("--prior is the field and its recipe; drop --init and --preset")
        field = field_from_prior(run.prior, signal)
        preset = get_preset(name, kind.name)
        preset.optim, prior_from = prior_optim(), field.config.prior
    elif run.init is not None:  # the meta checkpoint's architecture, and θ
        from .fieldsets.meta import field_from_meta

        field, init = field_from_meta(run.init, signal, run.preset if explicit else None)
        preset = get_preset(init.info.get("preset") or name, kind.name)
        preset.field, started_from = init.config, str(Path(run.init).resolve())
        if run.lr is None and run.schedule is None:
            preset.optim = init.optimizer()
    else:
        preset = get_preset(name, kind.name)
        check_preset_kind(preset, kind.name)
        if isinstance(preset.field, FieldConfig):
            field = make_field(preset.field, signal, seed=config.seed)
        else:  # a radiance field: its inputs are fixed
            torch.manual_seed(config.seed)
            field = preset.field.build()
    for key, value in kind.optim_defaults.items() if preset.optim.optimizer == "adam" else ():  # not a meta's SGD
        setattr(preset.optim, key, value)
    if run.lr is not None:
        preset.optim.lr = run.lr  # fit() checks it
    if run.schedule is not None:
        preset.optim.schedule = run.schedule
    run_meta = {"preset": "prior" if prior_from else preset.name, **({"init": started_from} if started_from else {}),
                **({"prior": prior_from} if prior_from else {})}
    return fit(field, signal, config, preset.optim, out_dir=out, resume=run.resume, meta=run_meta)


def describe_run(meta: dict, metrics: dict) -> list[tuple[str, str]]:
    """The rows ``inrkit info`` prints for a checkpoint's ``field.json`` and ``metrics.json``."""
    from .signals import KINDS

    sig, field = meta.get("signal", {}), meta["field"]
    if field.get("type") == "prior":  # an image through a learned prior (--prior)
        c = field["sr"]
        enc = {"kind": f"LIIF encoder of the training pixels ({c['blocks']} residual blocks of {c['channels']})"}
        network = f"local implicit decoder {c['layers']}x{c['hidden']}"
        output = f"values, from the prior in {meta.get('prior', field.get('prior', '?'))}"
    elif field.get("type") == "radiance":
        enc, net = field["encoding"], field["network"]
        network = f"density {net['kind']} {net['depth']}x{net['width']}, colour {field['color_network']['kind']} " \
                  f"{field['color_network']['depth']}x{field['color_network']['width']}"
        output = f"colour (sigmoid) and density ({field.get('density_activation', 'exp')})"
    else:
        enc, net = field["encoding"], field["network"]
        network = f"{net['kind']} {net['depth']}x{net['width']}"
        output = field.get("output")
    kind = KINDS.get(sig.get("kind"))
    what = kind.describe(sig) if kind is not None else f"{sig.get('kind')} {sig.get('source', '')}"
    rows = [
        ("preset", meta.get("preset")),
        ("signal", what),
        ("encoding", enc["kind"]),
        ("network", network),
        ("output", output),
        ("parameters", f"{meta.get('params', 0):,}"),
    ]
    run = meta.get("run", {})
    seconds, device = metrics.get("seconds", run.get("seconds")), metrics.get("device", run.get("device"))
    trained = f"{meta.get('step')} steps"
    if seconds is not None:
        trained += f" in {seconds:.1f} s"
    if device:
        threads = metrics.get("threads", run.get("threads"))
        trained += f" on {device}" + (f" ({threads} thread{'s' * (threads != 1)})" if threads else "")
    rows.append(("training", trained))
    if kind is not None:
        rows += kind.quality(metrics)
    rows.append(("inrkit", meta.get("inrkit_version")))
    return rows


def describe_fieldset(folder: Path) -> list[tuple[str, str]]:
    """The rows ``inrkit info`` prints for a fieldset (``inrkit fit-many``)."""
    from .fieldsets import load_fieldset

    fs = load_fieldset(folder)
    ix, net = fs.index, fs.index["field"]["network"]
    h, w, c = fs.signal["shape"]
    rows = [("fieldset", f"{len(fs)} fields of {fs.signal['kind']} {fs.signal.get('source', '')}, {w}x{h}, "
                         f"{c} channel(s)"),
            ("preset", ix.get("preset")),
            ("encoding", ix["field"]["encoding"]["kind"]),
            ("network", f"{net['kind']} {net.get('depth', '?')}x{net.get('width', '?')}"),
            ("parameters", f"{sum(v[0].numel() for v in fs.tensors.values()):,} per field")]
    if "mean_psnr" in ix:
        rows.append(("quality", f"mean PSNR {ix['mean_psnr']:.2f} dB (worst {ix['min_psnr']:.2f})"))
    if "seconds" in ix:
        rows.append(("training", f"{ix.get('steps')} steps in {ix['seconds']:.1f} s on {ix.get('device')}"
                                 f" ({ix.get('processes', 1)} process(es))"))
    rows.append(("inrkit", ix.get("inrkit_version")))
    return rows
