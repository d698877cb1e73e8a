"""Super-resolution that beats interpolation: a prior learned across images (local implicit image functions).

A field fitted to one image knows nothing about how images continue between its pixels; sampled at a
finer grid it is as good as bicubic interpolation. :class:`LIIF` (Chen et al., CVPR 2021) learns that
across many images: an encoder turns the image into features and a small network decodes any
coordinate from the features around it, so one model upscales any image at any scale, including
scales it never trained on. The image through the model is a field (:class:`ImageField`), sampled by
the same chunked evaluator as every other field.

- :func:`train_sr` (``inrkit sr train FOLDER...``): train on random crops at random scales;
- :func:`upscale` (``inrkit upscale IMAGE --scale S``): any scale, any size, bounded memory;
- :func:`load_sr`, :data:`DEFAULT_MODEL`: the checkpoint format, and the model inrkit ships.
"""
from .model import LIIF, Encoder, ImageField, SRConfig
from .train import SRTrainConfig, downscale, load_sr, read_images, save_sr, train_sr, upscale_bicubic
from .upscale import DEFAULT_MODEL, MAX_PIXELS, default_model, image_field, target_size, upscale, upscale_tensor

__all__ = ["DEFAULT_MODEL", "LIIF", "MAX_PIXELS", "Encoder", "ImageField", "SRConfig", "SRTrainConfig",
           "default_model", "downscale", "image_field", "load_sr", "read_images", "save_sr", "target_size",
           "train_sr", "upscale", "upscale_bicubic", "upscale_tensor"]
