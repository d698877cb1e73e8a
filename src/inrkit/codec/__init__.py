"""Fields as a codec: an image compressed into a small fitted field, entropy coded in a ``.inrz`` file.

A field's size follows the signal's complexity, not its pixel count; quantised and entropy coded, the
field is a compressed file that decodes at any resolution. The representation (:class:`CodecField`)
is a stack of latent grids at halving resolutions read through a small synthesis network, with an
entropy model of the latents that decodes in parallel passes; :func:`compress` fits it to one image
under a rate-distortion loss, quantises and range codes it (``constriction``); :func:`read_stream`
and :func:`decode` need nothing of the training and unpickle nothing.

- :func:`compress` (``inrkit compress IMAGE --bpp B | --quality Q``);
- :func:`read_stream`, :func:`decode` (``inrkit decompress FILE [--scale K | --size WxH]``);
- :mod:`inrkit.codec.bench` (``inrkit bench codec FOLDER``): rate against distortion beside JPEG, WebP
  and AVIF.
"""
from .bitstream import FORMAT, MAGIC, describe_inrz, read_stream, write_stream
from .encode import CompressConfig, Compressed, compress, decode, lambda_for_quality
from .model import CodecConfig, CodecField

__all__ = ["FORMAT", "MAGIC", "CodecConfig", "CodecField", "CompressConfig", "Compressed", "compress", "decode",
           "describe_inrz", "lambda_for_quality", "read_stream", "write_stream"]
