"""Every preset on sample:camera at 256x256 (all pixels), against a plain SIREN reference loop.

Writes benchmarks/results/image_presets.json and image_presets.png (PSNR against
training seconds). Quoted in BENCHMARKS.md. Run:

    python benchmarks/image_presets.py                      # ~20 minutes on a 2-core CPU
    python benchmarks/image_presets.py --budget 20 --reference-budget 60   # quick look

The reference loop runs in a fresh process with PyTorch's defaults (as a user
runs the notebook); its per-step time is also measured in this process, with
the allocator setting inrkit's fit loop makes (FitConfig.reuse_cpu_memory), so
the per-step ratio can be read both ways.

Timing: training seconds only (inrkit's history excludes evaluation; the reference
loop's PSNR comes from its own full-batch output, so it costs nothing). The
per-step time is the median over evaluation intervals, so torch.compile's first
step does not count in it; the time to a PSNR does include it.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import inrkit

HERE = Path(__file__).resolve().parent
EVAL_EVERY = {"ngp": 5, "siren": 10}


def matmul_gflops(m: int, k: int, n: int, repeats: int = 7) -> float:
    """Median GFLOP/s of an (m x k) @ (k x n) float32 matmul on this machine (output preallocated,
    so the figure is the arithmetic rate, not the allocator's)."""
    a, b, c = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
    torch.mm(a, b, out=c)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t)
    return 2 * m * k * n / statistics.median(times) / 1e9


def siren_step_flops(n: int, width: int = 256, depth: int = 4, in_dim: int = 2, out_dim: int = 1) -> float:
    """Matmul FLOPs of one forward + backward step of a SIREN (weight and input gradients)."""
    fwd = 2 * n * (in_dim * width + (depth - 1) * width * width + width * out_dim)
    # backward: weight gradients (same as forward) + input gradients of all but the first layer
    bwd = fwd + 2 * n * ((depth - 1) * width * width + width * out_dim)
    return fwd + bwd


class RefSine(nn.Module):
    """The SIREN notebook's layer, written plainly: sin(ω0 * linear(x))."""

    def __init__(self, n_in, n_out, omega=30.0, first=False):
        super().__init__()
        self.omega, self.linear = omega, nn.Linear(n_in, n_out)
        bound = 1 / n_in if first else math.sqrt(6 / n_in) / omega
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)

    def forward(self, x):
        return torch.sin(self.omega * self.linear(x))


class RefSiren(nn.Module):
    def __init__(self, width=256, hidden_layers=3):
        super().__init__()
        layers = [RefSine(2, width, first=True)] + [RefSine(width, width) for _ in range(hidden_layers)]
        last = nn.Linear(width, 1)
        with torch.no_grad():
            last.weight.uniform_(-math.sqrt(6 / width) / 30, math.sqrt(6 / width) / 30)
        self.net = nn.Sequential(*layers, last)

    def forward(self, coords):
        coords = coords.clone().detach().requires_grad_(True)  # as the notebook does, every step
        return self.net(coords), coords


def reference_loop(signal, budget: float, seed: int = 0) -> list[dict]:
    """Full batch, Adam 1e-4; PSNR of the step's own output (clipped to [0, 1])."""
    torch.manual_seed(seed)
    coords, values = signal.train_data()
    model = RefSiren()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    history, seconds, step = [], 0.0, 0
    while seconds < budget:
        t = time.perf_counter()
        out, _ = model(coords)
        loss = ((out - values) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        seconds += time.perf_counter() - t
        step += 1
        with torch.no_grad():
            p = 10 * math.log10(1 / float(((out.clamp(0, 1) - values) ** 2).mean()))
        history.append({"step": step, "seconds": seconds, "psnr": p})
    return history


def time_to(history: list[dict], target: float) -> float | None:
    for h in history:
        if h["psnr"] >= target:
            return round(h["seconds"], 2)
    return None


def median_step(history: list[dict]) -> float:
    steps = [0] + [h["step"] for h in history]
    secs = [0.0] + [h["seconds"] for h in history]
    per = [(secs[i + 1] - secs[i]) / (steps[i + 1] - steps[i]) for i in range(1, len(steps) - 1)]
    return statistics.median(per) if per else secs[-1] / steps[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=60.0, help="training seconds per preset")
    ap.add_argument("--siren-budget", type=float, default=300.0, help="training seconds for the siren preset")
    ap.add_argument("--reference-budget", type=float, default=420.0, help="seconds for the reference loop (0: skip)")
    ap.add_argument("--presets", nargs="*", default=list(inrkit.PRESETS))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    signal = inrkit.load_image("sample:camera", size=(256, 256))
    n = signal.height * signal.width

    machine = {
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "matmul_gflops_4096": round(matmul_gflops(4096, 4096, 4096), 1),
        "matmul_gflops_siren_layer": round(matmul_gflops(n, 256, 256), 1),
    }
    print("machine:", machine, flush=True)
    results = {}
    for name in args.presets:
        p = inrkit.get_preset(name)
        field = inrkit.make_field(p.field, signal)
        budget = args.siren_budget if name == "siren" else args.budget
        cfg = inrkit.FitConfig(steps=10**7, time_budget=budget, eval_every=EVAL_EVERY.get(name, 20), progress=False)
        r = inrkit.fit(field, signal, cfg, p.optim)
        step_s = median_step(r.history)
        results[name] = {
            "psnr": round(r.metrics["psnr"], 2),
            "ssim": round(r.metrics["ssim"], 4),
            "steps": r.metrics["steps"],
            "seconds": r.metrics["seconds"],
            "params": r.metrics["params"],
            "step_ms": round(1000 * step_s, 2),
            "t30": time_to(r.history, 30),
            "t40": time_to(r.history, 40),
            "history": [(h["step"], round(h["seconds"], 3), round(h["psnr"], 3)) for h in r.history],
        }
        print(name, {k: v for k, v in results[name].items() if k != "history"}, flush=True)

    if args.reference_budget <= 0:
        out = {"machine": machine, "image": "sample:camera 256x256", "results": results}
        (args.out / "image_presets_only.json").write_text(json.dumps(out, indent=1))
        return
    # The reference runs in a fresh process, as a user runs the notebook: PyTorch's default
    # allocator settings, untouched by inrkit's reuse_freed_memory() in this process.
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(1) as pool:
        ref = pool.apply(reference_loop, (signal, args.reference_budget))
    # ...and a few steps of it here, with the allocator setting inrkit uses, for the per-step ratio.
    ref_tuned = reference_loop(signal, 15.0)
    ref_step = median_step(ref[::10])
    results["reference-siren"] = {
        "psnr": round(ref[-1]["psnr"], 2),
        "steps": ref[-1]["step"],
        "seconds": round(ref[-1]["seconds"], 2),
        "step_ms": round(1000 * ref_step, 2),
        "step_ms_reused_memory": round(1000 * median_step(ref_tuned[1:]), 2),
        "t30": time_to(ref, 30),
        "t40": time_to(ref, 40),
        "history": [(h["step"], round(h["seconds"], 3), round(h["psnr"], 3)) for h in ref[::10]],
    }
    print("reference-siren", {k: v for k, v in results["reference-siren"].items() if k != "history"}, flush=True)

    summary = {}
    if "siren" in results:
        s = results["siren"]
        flops = siren_step_flops(n)
        gflops = flops / (s["step_ms"] / 1000) / 1e9
        summary = {
            "siren_step_speedup_vs_reference": round(ref_step * 1000 / s["step_ms"], 3),
            "siren_step_speedup_vs_reference_same_allocator": round(
                results["reference-siren"]["step_ms_reused_memory"] / s["step_ms"], 3
            ),
            "siren_t30_speedup_vs_reference": (
                round(results["reference-siren"]["t30"] / s["t30"], 2)
                if s["t30"] and results["reference-siren"]["t30"]
                else None
            ),
            "siren_gflops": round(gflops, 1),
            "siren_fraction_of_matmul_4096": round(gflops / machine["matmul_gflops_4096"], 3),
            "siren_fraction_of_matmul_same_shape": round(gflops / machine["matmul_gflops_siren_layer"], 3),
            "reference_gflops": round(flops / ref_step / 1e9, 1),
        }
        print("summary:", summary, flush=True)
    fastest = min((k for k in results if results[k].get("t30")), key=lambda k: results[k]["t30"], default=None)
    summary["fastest_to_30"] = fastest
    out = {"machine": machine, "image": "sample:camera 256x256", "results": results, "summary": summary}
    (args.out / "image_presets.json").write_text(json.dumps(out, indent=1))
    plot(results, args.out / "image_presets.png")


def plot(results: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install inrkit[bench]); skipping the plot")
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, r in results.items():
        h = np.array(r["history"])
        ax.plot(h[:, 1], h[:, 2], label=name, ls="--" if name.startswith("reference") else "-")
    ax.set_xscale("log")
    ax.set_xlabel("training seconds (2-core CPU)")
    ax.set_ylabel("PSNR (dB)")
    ax.axhline(30, color="grey", lw=0.5)
    ax.axhline(40, color="grey", lw=0.5)
    ax.set_title("sample:camera 256x256, all pixels")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
