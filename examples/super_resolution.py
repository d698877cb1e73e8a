"""Fit a photo on every second pixel, then render it at 4x the resolution.

    python examples/super_resolution.py [IMAGE] [--preset ffn-gauss]

Prints PSNR on the full image and on the pixels never trained on, and writes
runs/superres/{reconstruction,zoom_4x}.png.
"""
import argparse

import inrkit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("image", nargs="?", default="sample:astronaut")
    ap.add_argument("--preset", default="ngp")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    signal = inrkit.load_image(args.image, size=(256, 256), train_stride=2)
    preset = inrkit.get_preset(args.preset)
    field = inrkit.make_field(preset.field, signal)
    result = inrkit.fit(field, signal, inrkit.FitConfig(steps=args.steps), preset.optim, out_dir="runs/superres")
    m = result.metrics
    print(f"PSNR {m['psnr']:.2f} dB on the full image, {m['psnr_unseen']:.2f} dB on unseen pixels")

    field = inrkit.load("runs/superres")  # the checkpoint alone is enough from here on
    zoom = inrkit.render_image(field, (1024, 1024), signal.channels)
    inrkit.save_image("runs/superres/zoom_4x.png", zoom)
    print("wrote runs/superres/zoom_4x.png")


if __name__ == "__main__":
    main()
