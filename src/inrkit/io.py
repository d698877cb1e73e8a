"""Files: atomic writing, and reading user-named files with one clear error each.

Every file inrkit writes goes through :func:`atomic_path` (write a temporary
name beside the target, rename it on success), so a failure never leaves a
half-written file and an earlier file survives. The readers turn a missing,
unreadable or malformed input into one :class:`~inrkit.errors.InrkitError`
sentence naming the file and what was expected.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import InrkitError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")
"""The image file suffixes (lower case) that :func:`inrkit.load_image` reads: the one list of image
suffixes. Every lister of image files (bench folders, video frame folders, MRI sources, NeRF scenes) uses it."""

__all__ = ["IMAGE_SUFFIXES", "atomic_path", "write_json", "read_json", "input_file", "output_folder", "output_folder_exists"]


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers never see a half-written file and an earlier file survives a failure. The file gets the
    permissions a plain ``open(path, "w")`` would give (0666 less the umask), not mkstemp's 0600.

    Examples:
        >>> folder = Path(tempfile.mkdtemp())
        >>> with atomic_path(folder / "a.txt") as tmp:
        ...     _ = tmp.write_text("kept")
        >>> try:
        ...     with atomic_path(folder / "a.txt") as tmp:
        ...         _ = tmp.write_text("half")
        ...         raise RuntimeError("the writer failed")
        ... except RuntimeError:
        ...     pass
        >>> (folder / "a.txt").read_text(), [p.name for p in folder.iterdir()]
        ('kept', ['a.txt'])
    """
    path = Path(path)
    suffix = "".join(path.suffixes)  # keep the extension: writers pick formats by it
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON (numpy and other number types as floats) at ``path``, atomically.

    Examples:
        >>> import numpy as np
        >>> path = Path(tempfile.mkdtemp()) / "metrics.json"
        >>> write_json(path, {"psnr": np.float32(30.5), "steps": 10})
        >>> read_json(path, "metrics file")
        {'psnr': 30.5, 'steps': 10}
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=float) + "\n")


def read_json(path: str | os.PathLike, what: str):
    """The parsed JSON file ``path``; a missing, unreadable or malformed file is one :class:`InrkitError`
    naming it as ``what`` (e.g. "camera path").

    Examples:
        >>> read_json("no/such/path.json", "camera path")
        Traceback (most recent call last):
        inrkit.errors.InrkitError: camera path 'no/such/path.json' does not exist
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InrkitError(f"{what} {str(path)!r} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InrkitError(f"{what} {str(path)!r} is not valid JSON ({e})") from None
    except OSError as e:  # a folder, no permission, an I/O error
        raise InrkitError(f"cannot read {what} {str(path)!r}: {e.strerror or e}") from None


def input_file(path: str | os.PathLike, what: str, expected: str) -> Path:
    """``path`` as a :class:`Path` once it names an existing file, else one :class:`InrkitError`:
    "{what} 'path' does not exist" or "'path' is a folder; expected {expected}".

    Examples:
        >>> input_file(tempfile.gettempdir(), "image file", "an image file")
        Traceback (most recent call last):
        inrkit.errors.InrkitError: '...' is a folder; expected an image file
    """
    path = Path(path)
    if not path.exists():
        raise InrkitError(f"{what} {str(path)!r} does not exist")
    if path.is_dir():
        raise InrkitError(f"{str(path)!r} is a folder; expected {expected}")
    return path


def output_folder_exists(path: str | os.PathLike) -> Path:
    """``path`` as a :class:`Path` once the folder it is to be written in exists, else one :class:`InrkitError`.

    Examples:
        >>> output_folder_exists("no/such/folder/out.png")
        Traceback (most recent call last):
        inrkit.errors.InrkitError: cannot write 'no/such/folder/out.png': folder 'no/such/folder' does not exist
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InrkitError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist")
    return path


def output_folder(path: str | os.PathLike) -> Path:
    """The folder ``path``, created if missing, once a file can be written in it; else one
    :class:`InrkitError` (it is a file, or cannot be created or written). Check before long work.

    Examples:
        >>> folder = output_folder(Path(tempfile.mkdtemp()) / "run" / "views")  # created
        >>> folder.is_dir(), list(folder.iterdir())
        (True, [])
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InrkitError(f"output folder {str(path)!r} is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()  # writable? (leaves nothing behind)
    except OSError as e:
        raise InrkitError(f"cannot write to output folder {str(path)!r}: {e.strerror or e}") from None
    return path
