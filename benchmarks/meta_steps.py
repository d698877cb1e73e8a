"""Benchmark 1 (issue 14), steps saved: PSNR on test images after 0..N steps from a meta-learned
initialisation (each method) against the standard initialisation with Adam at the best of a few
learning rates. Meta-trains on the train split, scores on the first --test images of the test split
(Fashion-MNIST: its own; emoji64: the split by first code point). Writes
benchmarks/results/meta_steps[_NAME].json.

    python benchmarks/meta_steps.py --methods fomaml reptile maml metasgd
    python benchmarks/meta_steps.py --data emoji64 --size 32 --name emoji
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from inrkit.fieldsets import load_dataset, stack_fields
from inrkit.fieldsets.batched import batched_forward
from inrkit.fieldsets.meta import MetaConfig, meta_train, preset_field, psnr_after
from inrkit.grids import grid_coordinates

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "data" / "datasets"
RESULTS = Path(__file__).resolve().parent / "results"


def adam_curve(params, template, buffers, images, lr, counts):
    """Mean PSNR (clipped) after each of ``counts`` Adam steps, every field its own fit (stacked params)."""
    y = torch.from_numpy(images).reshape(len(images), -1, images.shape[-1])  # (N, P, C)
    x = grid_coordinates(images.shape[1:3]).reshape(-1, 2)  # (P, 2)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    opt = torch.optim.Adam(params.values(), lr=lr)
    out, step = {}, 0

    def score():
        with torch.no_grad():
            mse = ((batched_forward(template, params, buffers, x).clamp(0, 1) - y) ** 2).mean((1, 2))
            return float((-10 * torch.log10(mse.clamp_min(1e-10))).mean())
    for n in sorted(counts):
        while step < n:
            loss = ((batched_forward(template, params, buffers, x) - y) ** 2).mean((1, 2)).sum()  # each field's MSE
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        out[n] = score()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", nargs="+", default=["fomaml", "reptile", "maml", "metasgd"])
    ap.add_argument("--outer-steps", type=int, nargs="+", default=[500, 500, 100, 100],
                    help="outer steps per method, in --methods' order")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--inner-steps", type=int, default=3)
    ap.add_argument("--inner-lr", type=float, default=0.1)
    ap.add_argument("--outer-lr", type=float, default=1e-3)
    ap.add_argument("--train", type=int, default=10000, help="training images (train split)")
    ap.add_argument("--test", type=int, default=100, help="test images scored (test split)")
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3], help="Adam lrs for the standard init")
    ap.add_argument("--steps", type=int, nargs="+", default=[0, 1, 2, 3, 5, 10, 100, 300])
    ap.add_argument("--meta-adam", type=int, default=100, help="Adam 1e-4 from the meta init up to this many steps")
    ap.add_argument("--long", type=int, default=1000, help="also run the best standard lr to this many steps (0: no)")
    ap.add_argument("--data", default="fashion-mnist", help="a folder of ../shared/data/datasets")
    ap.add_argument("--size", type=int, default=0, help="resize the images to SIZExSIZE (0: as they are)")
    ap.add_argument("--name", default="", help="results/meta_steps_NAME.json (default: results/meta_steps.json)")
    a = ap.parse_args()
    t_all = time.perf_counter()
    data, size = DATASETS / a.data, ((a.size, a.size) if a.size else None)
    out = RESULTS / (f"meta_steps_{a.name}.json" if a.name else "meta_steps.json")
    train = load_dataset(data, size, split="train", limit=a.train + 50).images
    train, val = train[:a.train], train[a.train:]  # validation held out of the train split
    test = load_dataset(data, size, split="test", limit=a.test).images
    cfg = preset_field("siren", a.width, a.depth)
    template, params, buffers = stack_fields(cfg, 2, test.shape[-1], seeds=list(range(len(test))))
    template = template.to("meta")
    result = {"setup": {**vars(a), "shape": list(test.shape[1:]), "field": cfg.to_dict(), "torch_threads": torch.get_num_threads()},
              "standard": {}, "meta": {}}
    for method, outer in zip(a.methods, a.outer_steps):
        t = time.perf_counter()
        init = meta_train(train, cfg, Path(tempfile.mkdtemp()) / method,
                          MetaConfig(method=method, inner_steps=a.inner_steps, inner_lr=a.inner_lr, outer_lr=a.outer_lr,
                                     steps=outer, batch_size=16, val_every=max(outer // 5, 1), progress=False,
                                     device="cpu"), val)
        seconds = time.perf_counter() - t
        sgd = psnr_after(init, test, [s for s in a.steps if s <= 100])
        meta_params = {k: v[None].expand(len(test), *v.shape).clone() for k, v in init.params.items()}
        adam = adam_curve(meta_params, template, buffers, test, 1e-4, [s for s in a.steps if 10 <= s <= a.meta_adam])
        result["meta"][method] = {"outer_steps": outer, "meta_train_seconds": round(seconds, 1),
                                  "inner_sgd": sgd, "adam_1e-4": adam,
                                  "validation": init.info["history"]}
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"{method}: {outer} outer steps in {seconds:.0f} s; inner SGD {sgd}; then Adam 1e-4 {adam}", flush=True)
    for lr in a.lrs:
        t = time.perf_counter()
        result["standard"][str(lr)] = adam_curve(params, template, buffers, test, lr, a.steps)
        print(f"standard Adam {lr:g}: {result['standard'][str(lr)]} ({time.perf_counter() - t:.0f} s)", flush=True)
        out.write_text(json.dumps(result, indent=2) + "\n")  # what is done so far
    best = max(a.lrs, key=lambda lr: result["standard"][str(lr)][max(a.steps)])
    result["standard_best_lr"] = best
    if a.long:
        result["standard_long"] = {"lr": best, **adam_curve(params, template, buffers, test, best, [a.long])}
        print(f"standard Adam {best:g} at {a.long}: {result['standard_long']}", flush=True)
    ref = max(c.get(300, -1) for c in result["standard"].values())
    for method, r in result["meta"].items():
        r["three_steps_reach_300_standard"] = bool(ref is not None and r["inner_sgd"].get(3, -1) >= ref)
    result["seconds"] = round(time.perf_counter() - t_all, 1)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out} ({result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
