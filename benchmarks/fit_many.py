"""fit-many against a Python loop of single fits, and 2 processes (torchrun) against 1.

Fashion-MNIST training images (28x28 grey), a small SIREN (3 sine layers of 32, Adam 1e-3), 500
full-batch steps per field. The loop fits the first ``--loop`` images one by one with ``inrkit.fit``
(as a user's script would; its time per field is extrapolated to all of them: it grows linearly);
fit-many fits all ``--count`` in one batched model, and its fields on those first images are the
loop's, bit for bit (tests/test_fieldsets.py), so the mean PSNRs compare directly. Then the same
fit-many under ``torchrun --nproc-per-node 2`` (gloo, one thread each) against one process.
Writes benchmarks/results/fit_many.json. Quoted in BENCHMARKS.md. Run alone:

    python benchmarks/fit_many.py --count 1024 --loop 32
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import inrkit
from inrkit.fieldsets import fit_many, load_dataset, load_fieldset
from inrkit.fieldsets.fit_many import fieldset_config
from inrkit.signals.image import ImageSignal

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "datasets" / "fashion-mnist"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--count", type=int, default=1024)
    ap.add_argument("--loop", type=int, default=32, help="images fitted one by one (extrapolated)")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "fit_many.json")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the loop, fit-many and torchrun all on it; "
                    "torchrun with NCCL needs a GPU per process)")
    ap.add_argument("--procs", type=int, nargs="*", default=[1, 2],
                    help="process counts of the torchrun comparison (none: skip it; on CUDA each needs a GPU)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    d = load_dataset(a.data, split="train", limit=a.count)
    result = {"count": a.count, "steps": a.steps, "network": f"siren {a.depth}x{a.width}", "lr": a.lr,
              "device": a.device,
              "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count()}

    t = time.perf_counter()
    index = fit_many(d, "siren", a.steps, None, a.width, a.depth, a.lr, progress=False, device=a.device)
    result["fit_many_seconds"] = time.perf_counter() - t
    result["fit_many_mean_psnr"] = index["mean_psnr"]
    print(f"fit-many: {a.count} fields in {result['fit_many_seconds']:.1f} s, mean PSNR {index['mean_psnr']:.2f} dB",
          flush=True)

    p = inrkit.get_preset("siren", "image")
    p.optim.lr = a.lr
    cfg = fieldset_config(p, d, a.width, a.depth)
    psnrs, t = [], time.perf_counter()
    for i in range(a.loop):
        torch.manual_seed(i)
        r = inrkit.fit(cfg.build(2, 1), ImageSignal(d.images[i]),
                       inrkit.FitConfig(steps=a.steps, progress=False, compile="off", eval_every=a.steps,
                                        checkpoint_every=0, device=a.device, threads=2), p.optim)
        psnrs.append(r.metrics["psnr"])
    per_field = (time.perf_counter() - t) / a.loop
    result.update(loop_seconds_per_field=per_field, loop_seconds_extrapolated=per_field * a.count,
                  loop_mean_psnr_first=float(np.mean(psnrs)),
                  fit_many_mean_psnr_first=float(np.mean([it["psnr"] for it in index["items"][:a.loop]])))
    result["speedup"] = result["loop_seconds_extrapolated"] / result["fit_many_seconds"]
    print(f"loop: {per_field:.2f} s per field, {result['loop_seconds_extrapolated']:.0f} s for {a.count} "
          f"(mean PSNR of the first {a.loop}: {result['loop_mean_psnr_first']:.2f} dB, fit-many's "
          f"{result['fit_many_mean_psnr_first']:.2f}): fit-many {result['speedup']:.1f}x faster", flush=True)

    args = ["fit-many", str(a.data), "--limit", str(a.count), "--steps", str(a.steps), "--width", str(a.width),
            "--depth", str(a.depth), "--lr", str(a.lr), "--device", a.device, "--no-progress"]
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for procs in a.procs:
            out = Path(tmp) / f"p{procs}"
            launch = [sys.executable, "-m", "inrkit.cli"] if procs == 1 else \
                [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs),
                 "-m", "inrkit.cli"]
            env = {**os.environ, "OMP_NUM_THREADS": str(2 // procs)}
            t = time.perf_counter()
            subprocess.run([*launch, *args, "--out", str(out)], env=env, check=True)
            seconds[procs] = {"wall": time.perf_counter() - t, "fit": load_fieldset(out).index["seconds"]}
    result["processes"] = seconds
    if 1 in seconds and 2 in seconds:
        result["torchrun_2_over_1"] = seconds[1]["fit"] / seconds[2]["fit"]
        print(f"1 process: {seconds[1]['fit']:.1f} s fitting ({seconds[1]['wall']:.1f} s wall); 2 processes: "
              f"{seconds[2]['fit']:.1f} s ({seconds[2]['wall']:.1f} s wall): {result['torchrun_2_over_1']:.2f}x")
    result["load_after"] = os.getloadavg()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
