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

import os
import re
import shutil
import warnings
from pathlib import Path

from .checkpoint import META, load_meta
from .errors import InrkitError

__all__ = ["RUNS", "LATEST", "RUN_FILES", "run_name", "new_run_folder", "latest_run_folder", "claim_folder",
           "link_latest", "same_source"]

RUNS = Path("runs")
LATEST = "latest"

# What a fit (and render, eval and mesh into the run folder) writes: removed before --overwrite refits.
RUN_FILES = (
    "field.safetensors", "field.json", "metrics.json", "history.csv", "train_state.pt", "occupancy.safetensors",
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
