"""Train the super-resolution model that ships with inrkit (src/inrkit/superres/default/).

It may only learn from images inrkit may ship: the photographs and textures that come with
scikit-image whose licences put no restriction on them (public domain or CC0, as their docstrings in
``skimage.data`` say). Nothing is downloaded. The images are written to runs/sr-default-data/, the
model is trained there with `inrkit sr train`'s defaults and --steps, and the checkpoint (without its
optimiser state) is copied into the package with the images' names and licences in its sr.json.

    python benchmarks/train_sr_default.py --steps 4000
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import skimage.data

from inrkit.signals.image import save_image
from inrkit.superres import SRConfig, SRTrainConfig, train_sr

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "inrkit" / "superres" / "default"

# name in skimage.data -> licence, as its docstring states it
IMAGES = {
    "astronaut": "public domain (NASA)",
    "camera": "CC0 (Lav Varshney)",
    "coffee": "CC0 (Rachel Michetti)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "rocket": "public domain (SpaceX)",
    "hubble_deep_field": "public domain (NASA)",
    "coins": "no known copyright restrictions",
    "brick": "CC0 (CC0Textures)",
    "grass": "CC0 (CC0Textures)",
    "gravel": "CC0 (CC0Textures)",
    "text": "public domain",
    "immunohistochemistry": "no known copyright restrictions",
    "retina": "CC0 1.0 (Häggström)",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "sr-default")
    a = ap.parse_args()
    data = a.work / "images"
    data.mkdir(parents=True, exist_ok=True)
    for name in IMAGES:
        image = np.asarray(getattr(skimage.data, name)())
        save_image(data / f"{name}.png", image)
    out = a.work / "model"
    t0 = time.perf_counter()
    index = train_sr([data], out, SRConfig(), SRTrainConfig(steps=a.steps, progress=True),
                     resume=(out / "sr_state.pt").exists())
    seconds = time.perf_counter() - t0
    index["images"] = {part: [Path(p).stem for p in names] for part, names in index["images"].items()}
    index["licences"] = {name: f"scikit-image's skimage.data.{name}(): {lic}" for name, lic in IMAGES.items()}
    index["trained_by"] = "benchmarks/train_sr_default.py"
    PACKAGE.mkdir(parents=True, exist_ok=True)
    shutil.copy(out / "sr.safetensors", PACKAGE / "sr.safetensors")
    (PACKAGE / "sr.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"{index['steps']} steps in {seconds:.0f} s -> {PACKAGE}; last validation {index['history'][-1]}")


if __name__ == "__main__":
    main()
