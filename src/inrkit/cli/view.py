"""``inrkit view``: serve the viewer for a folder of fields."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

__all__ = ["View"]


@dataclass
class View:
    """Explore the image fields in a folder in the browser, zooming far past their training resolution."""

    folder: tyro.conf.Positional[Path]
    """A checkpoint folder, a folder of runs, or a folder holding .inrz files; nothing outside it is served."""
    host: str = "127.0.0.1"
    """Address to listen on (the default serves this machine only; 0.0.0.0 serves the network)."""
    port: int = 8000
    """Port to listen on."""
    max_zoom: float = 16.0
    """How far past the training resolution the view zooms."""

    def run(self) -> None:
        import math

        from ..errors import InrkitError
        from ..viewer import allowed_hosts, check_free, find_fields, make_app, require

        require("inrkit view")
        import uvicorn

        if not self.folder.is_dir():
            raise InrkitError(f"{str(self.folder)!r} is not a folder")
        if not (math.isfinite(self.max_zoom) and 1 <= self.max_zoom <= 1024):
            raise InrkitError(f"max-zoom must be from 1 to 1024, got {self.max_zoom}")
        check_free(self.host, self.port)
        found = find_fields(self.folder)
        print(f"{len(found)} image field(s) under {self.folder}; open http://{self.host}:{self.port}/ "
              "(Ctrl-C stops the server)", flush=True)
        uvicorn.run(make_app(self.folder, self.max_zoom, hosts=allowed_hosts(self.host)), host=self.host,
                    port=self.port, log_level="warning")
