"""``inrkit view``: a web page to explore image fields at any resolution (deep zoom, tiles from the field).

The server is an ASGI app (:func:`make_app`, Starlette) on uvicorn, bound to localhost unless told
otherwise; the page (OpenSeadragon, shipped with the package: no CDN) asks for tiles that the server
renders from the field with :func:`inrkit.render`. Install with ``pip install 'inrkit[view]'``.
"""
from .app import (MAX_EXPORT_PIXELS, TILE, allowed_hosts, check_free, find_fields, make_app, require,
                  serve_in_background, tile_region)

__all__ = ["MAX_EXPORT_PIXELS", "TILE", "allowed_hosts", "check_free", "find_fields", "make_app", "require",
           "serve_in_background", "tile_region"]
