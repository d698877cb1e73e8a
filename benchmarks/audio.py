"""Audio: the SIREN paper's Bach clip (7 s, 44.1 kHz) with the SIREN audio preset and the hash grid.

Writes benchmarks/results/audio.json: per preset, the seconds of training to reach 30 dB PSNR
(first evaluation at or above it; evaluations are every few steps, so this is an upper bound by
at most one interval), and PSNR, SNR and MSE after the time budget (5 minutes by default). The
SIREN paper reports MSE 1.1e-5 on this clip. Run:

    python benchmarks/audio.py                                  # ~17 minutes on a 2-core CPU
    python benchmarks/audio.py --budget 60 --runs ngp:full      # quick look

A run is PRESET:BATCH, BATCH a number of samples per step or ``full`` (the SIREN paper trains full batch).
``--merge`` keeps the other runs already in the output file.

PSNR is ``10 log10(2² / MSE)`` on [-1, 1] samples (the peak-to-peak range). Training seconds
only (evaluation excluded), one run per preset, on whatever else the machine is doing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

import inrkit
from inrkit.signals.audio import load_audio

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "audio" / "bach.wav"
# Evaluate about every 5-10 s of training: full-batch SIREN steps take seconds here, hash-grid steps less.
EVAL_EVERY = {("siren-audio", True): 5, ("siren-audio", False): 50, ("ngp", True): 10, ("ngp", False): 50}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(DATA))
    ap.add_argument("--runs", nargs="+", default=["siren-audio:full", "siren-audio:16384", "ngp:full"])
    ap.add_argument("--budget", type=float, default=300.0, help="seconds of training per run")
    ap.add_argument("--merge", action="store_true", help="keep the other runs already in --out")
    ap.add_argument("--out", default=str(HERE / "results" / "audio.json"))
    args = ap.parse_args()

    signal = load_audio(args.source)
    runs = json.loads(Path(args.out).read_text())["runs"] if args.merge and Path(args.out).exists() else {}
    for run in args.runs:
        name, b = run.split(":")
        full = b == "full"
        batch = signal.length if full else int(b)
        preset = inrkit.get_preset(name)
        field = inrkit.make_field(preset.field, signal, seed=0)
        cfg = inrkit.FitConfig(steps=10**7, time_budget=args.budget, batch_size=batch,
                               eval_every=EVAL_EVERY.get((name, full), 20), checkpoint_every=0, progress=False,
                               device="cpu")
        t = time.perf_counter()
        result = inrkit.fit(field, signal, cfg, preset.optim, meta={"preset": name})
        wall = time.perf_counter() - t
        hit = next((h for h in result.history if h["psnr"] >= 30), None)
        m = result.metrics
        runs[run] = {
            "seconds_to_30db": hit["seconds"] if hit else None,
            "steps_to_30db": hit["step"] if hit else None,
            "psnr": m["psnr"], "snr": m["snr"], "mse": m["mse"],
            "steps": m["steps"], "seconds": m["seconds"], "wall_seconds": round(wall, 1),
            "params": m["params"], "batch_size": batch,
            "history": [{k: h[k] for k in ("step", "seconds", "psnr")} for h in result.history],
        }
        print(f"{run}: 30 dB after {runs[run]['seconds_to_30db']} s; after {m['seconds']:.0f} s: PSNR {m['psnr']:.2f} dB, "
              f"SNR {m['snr']:.2f} dB, MSE {m['mse']:.3g} ({m['steps']} steps)", flush=True)
    out = {
        "source": Path(args.source).name, "samples": signal.length, "rate": signal.rate,
        "budget_seconds": args.budget, "paper_mse_siren": 1.1e-5,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "note": "shared with other jobs while measured"},
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
