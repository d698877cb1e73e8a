"""inrkit view: how long a 256x256 tile takes, through the server, for an `ngp` image field.

Fits `sample:astronaut` (512x512) with the `ngp` preset for 300 steps, serves its folder with the viewer's
app (Starlette's test client: the app's own routing, rendering and PNG encoding, no network), and times
tile requests at three depths of the pyramid: the whole image at 256x256, a tile at the training
resolution, and one at 16x it. Reports the median of ``--repeats`` requests of distinct tiles (a cache
would not help a user panning). Writes benchmarks/results/viewer_tiles.json. Run alone:

    python benchmarks/viewer_tiles.py
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "viewer_tiles.json")
    a = ap.parse_args()
    import torch
    from starlette.testclient import TestClient

    from inrkit.cli import main as cli
    from inrkit.viewer import make_app

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        assert cli(["fit", "image", "sample:astronaut", "--preset", "ngp", "--steps", "300", "--out",
                    f"{tmp}/astronaut", "--no-progress"]) == 0
        client = TestClient(make_app(tmp, max_zoom=16), base_url="http://127.0.0.1")
        info = client.get("/api/info/astronaut").json()
        top = info["max_level"]  # 8192 px across: 16x the 512 training pixels
        rows = {}
        for name, level in (("whole image", top - 5), ("1x", top - 4), ("16x", top)):
            times = []
            for k in range(a.repeats + 1):
                x = k % max(1, int(info["virtual_width"] * 0.5 ** (top - level)) // 256)
                t = time.perf_counter()
                r = client.get(f"/api/tile/{level}/{x}/0/astronaut")
                dt = time.perf_counter() - t
                assert r.status_code == 200, r.text
                if k:  # the first request loads the field
                    times.append(dt)
            rows[name] = {"level": level, "median_ms": 1000 * statistics.median(times),
                          "max_ms": 1000 * max(times)}
            print(f"{name:12s} level {level:2d}: median {rows[name]['median_ms']:.1f} ms, "
                  f"max {rows[name]['max_ms']:.1f} ms", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"field": "ngp, sample:astronaut 512x512, 300 steps", "tile": 256, "rows": rows,
                                 "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
                                 "load_after": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
