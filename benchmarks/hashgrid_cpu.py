"""Hash-grid encoding cost on the CPU: index arithmetic, and the fused gather against plain autograd.

One 3D ``HashGrid`` as the ``ngp`` NeRF preset builds it (16 levels x 2 features, 2^19 rows,
resolutions 16..1024), queried at ``--points`` random points. Times (median of ``--repeats``):
the corner indices and weights alone; the forward without gradients; forward and backward to the
table through the fused path (one ``embedding_bag``, a ``bincount`` backward), and through plain
autograd indexing (``(table[idx] * w).sum()``, whose backward is a sorted ``index_put_``) on the
same indices. Writes benchmarks/results/hashgrid_cpu.json. Run:

    python benchmarks/hashgrid_cpu.py
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from inrkit.checkpoint import write_json
from inrkit.encodings import HashGrid

HERE = Path(__file__).resolve().parent


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    torch.manual_seed(0)
    enc = HashGrid(3, 16, 2, 19, 16, 1024)
    x = torch.rand(a.points, 3) * 2 - 1
    g = torch.randn(a.points, enc.out_dim)

    def indices():
        with torch.no_grad():
            enc.corner_indices(x)

    def forward():
        with torch.no_grad():
            enc(x)

    def fused():
        enc.table.grad = None
        (enc(x) * g).sum().backward()

    idx, w = enc.corner_indices(x)

    def plain():
        enc.table.grad = None
        ((enc.table[idx] * w[..., None]).sum(-2).reshape(a.points, -1) * g).sum().backward()

    result = {"points": a.points, "levels": enc.n_levels, "table_rows": enc.table.shape[0],
              "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
              "seconds": {}}
    for name, fn in [("corner_indices", indices), ("forward_no_grad", forward),
                     ("forward_backward_fused", fused), ("forward_backward_plain_autograd", plain)]:
        result["seconds"][name] = round(median_seconds(fn, a.repeats), 4)
        print(f"{name:34s} {result['seconds'][name] * 1000:8.1f} ms", flush=True)
    s = result["seconds"]
    gather_fused = s["forward_backward_fused"] - s["corner_indices"]
    gather_plain = s["forward_backward_plain_autograd"]
    result["gather_and_backward_speedup"] = round(gather_plain / gather_fused, 2)
    print(f"gather + backward: fused {gather_fused * 1000:.0f} ms, plain {gather_plain * 1000:.0f} ms "
          f"({result['gather_and_backward_speedup']}x)")
    write_json(HERE / "results" / "hashgrid_cpu.json", result)


if __name__ == "__main__":
    main()
