"""User-facing errors and safe file writing."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["InrkitError", "atomic_path"]


class InrkitError(Exception):
    """Bad input from the user: the CLI prints the message as one sentence and exits non-zero."""


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers never see a half-written file and an earlier file survives a failure. The file gets the
    permissions a plain ``open(path, "w")`` would give (0666 less the umask), not mkstemp's 0600.
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
