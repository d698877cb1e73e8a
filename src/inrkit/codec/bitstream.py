"""The ``.inrz`` file: a compressed image as a versioned header and one range-coded stream.

Layout (little-endian)::

    "INRZ"  u8 format version
    u32 height, u32 width, u8 channels
    u8 levels, u8 synthesis width, u8 synthesis layers, u8 entropy-model width, u8 upsampling (0 bilinear, 1 bicubic)
    per network tensor (the synthesis's, then the entropy model's, weights then bias of each layer):
        u8 quantisation exponent e (the tensor is integers times 2^-e), u8 index of its Laplace scale
    u32 number of 32-bit words, the words (constriction's range coder)
    u32 CRC-32 of everything before it

The stream holds the network tensors' integers (each under a zero-mean Laplace of its recorded scale),
then the latents, coarsest level first, each level in two checkerboard passes under the entropy
model's Laplace for each latent. The decoder reads this with no training code and nothing pickled:
the header, the integers, and the same forward passes of the entropy model as the encoder ran.

The means and scales that the range coder sees are snapped to fixed grids (means to 1/16, scales to a
64-entry table) so that the encoder and decoder agree exactly even where their floating-point sums
could differ in the last bit.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np
import torch

from ..errors import InrkitError
from .model import LATENT_MAX, SCALE_MAX, SCALE_MIN, UPSAMPLING, CodecConfig, CodecField

__all__ = ["MAGIC", "FORMAT", "write_stream", "read_stream", "network_tensors", "quantise_network",
           "MAX_EXPONENT", "describe_inrz"]

MAGIC = b"INRZ"
FORMAT = 1
MAX_EXPONENT = 24
_PARAM_LIMIT = 1 << 15  # network integers lie in [-2^15, 2^15]
_MEAN_GRID = 16
_TABLE = 64
_HEAD = "<BIIB5B"


def _table(lo: float, hi: float) -> np.ndarray:
    """``_TABLE`` log-spaced values from ``lo`` to ``hi``, rounded to 6 significant digits (decimal literals,
    so every machine builds the same floats)."""
    return np.array([float(f"{lo * (hi / lo) ** (i / (_TABLE - 1)):.6g}") for i in range(_TABLE)])


LATENT_SCALES = _table(SCALE_MIN, SCALE_MAX)
PARAM_SCALES = _table(0.25, 2.0**14)


def _nearest(table: np.ndarray, values) -> np.ndarray:
    """Index of the table entry nearest to each value, in log scale."""
    logs = np.log(np.asarray(values, dtype=np.float64).clip(table[0], table[-1]))
    return np.abs(logs[..., None] - np.log(table)).argmin(-1)


def network_tensors(field: CodecField) -> list[torch.Tensor]:
    """The network's tensors in file order: the synthesis's layers, then the entropy model's (weight, bias)."""
    return [t for layers in (field.synthesis, field.entropy) for layer in layers for t in (layer.weight, layer.bias)]


def quantise_network(field: CodecField, exponents: list[int]) -> list[np.ndarray]:
    """Round each network tensor to a multiple of ``2^-e`` in place; return the integers."""
    ints = []
    with torch.no_grad():
        for t, e in zip(network_tensors(field), exponents):
            q = torch.round(t.double() * 2.0**e).clamp(-_PARAM_LIMIT, _PARAM_LIMIT)
            t.copy_((q * 2.0**-e).to(t.dtype))
            ints.append(q.long().numpy().reshape(-1))
    return ints


def _model(lo: int, hi: int):
    import constriction

    return constriction.stream.model.QuantizedLaplace(lo, hi)


def _latent_passes(field: CodecField, latents: list[torch.Tensor], code) -> None:
    """Walk the latents in stream order (coarsest level first; per level the checkerboard's first pass, then
    the second), calling ``code(level, index, means, scales)``; the latents read by the entropy model are
    those of ``latents`` that earlier passes have filled (the decoder fills them as it goes)."""
    with torch.no_grad():
        for i in reversed(range(len(latents))):
            _, _, h, w = latents[i].shape
            parent = latents[i + 1] if i + 1 < len(latents) else None
            ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            even = ((ys + xs) % 2 == 0).reshape(-1)
            for first in (True, False):
                index = torch.nonzero(even == first).reshape(-1)
                if len(index) == 0:
                    continue
                mean, scale = field.distribution(latents[i], parent, index)
                means = np.round(mean.double().numpy() * _MEAN_GRID) / _MEAN_GRID
                scales = LATENT_SCALES[_nearest(LATENT_SCALES, scale.double().numpy())]
                code(i, index, means.clip(-LATENT_MAX, LATENT_MAX), scales)


def write_stream(field: CodecField, exponents: list[int]) -> bytes:
    """The file for ``field``, whose network is already quantised with ``exponents`` and whose latents are
    integers (see :func:`quantise_network`)."""
    import constriction

    c = field.config
    tensors = network_tensors(field)
    if len(exponents) != len(tensors) or not all(0 <= e <= MAX_EXPONENT for e in exponents):
        raise ValueError("one exponent in [0, 24] per network tensor")
    encoder = constriction.stream.queue.RangeEncoder()
    header = [MAGIC, struct.pack(_HEAD, FORMAT, field.height, field.width, field.channels, c.levels, c.width,
                                 c.layers, c.context, UPSAMPLING.index(c.upsampling))]
    for t, e in zip(tensors, exponents):
        ints = np.round(t.detach().double().numpy().reshape(-1) * 2.0**e).astype(np.int32)
        s = int(_nearest(PARAM_SCALES, max(float(np.abs(ints).mean()), 1e-9)))
        header.append(struct.pack("<BB", e, s))
        encoder.encode(ints, _model(-_PARAM_LIMIT, _PARAM_LIMIT), np.zeros(len(ints)),
                       np.full(len(ints), PARAM_SCALES[s]))
    latents = [g.detach() for g in field.latents]
    if any(float(g.abs().max()) > LATENT_MAX or not torch.equal(g, g.round()) for g in latents):
        raise ValueError(f"the latents must be integers in [-{LATENT_MAX}, {LATENT_MAX}]")
    model = _model(-LATENT_MAX, LATENT_MAX)

    def code(level, index, means, scales):
        encoder.encode(latents[level].reshape(-1)[index].numpy().astype(np.int32), model, means, scales)

    _latent_passes(field, latents, code)
    words = encoder.get_compressed()
    body = b"".join(header) + struct.pack("<I", len(words)) + words.astype("<u4").tobytes()
    return body + struct.pack("<I", zlib.crc32(body))


def read_stream(data: bytes, name: str = "the file") -> CodecField:
    """The field a file holds: network and latents as the encoder left them (integers times their steps)."""
    import constriction

    if len(data) < 4 or data[:4] != MAGIC:
        raise InrkitError(f"{name} is not an inrkit compressed image (no INRZ signature)")
    if len(data) < 4 + struct.calcsize(_HEAD) + 8:
        raise InrkitError(f"{name} is truncated (a complete .inrz file is longer)")
    body, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    if zlib.crc32(body) != crc:
        raise InrkitError(f"{name} is truncated or corrupted (its checksum does not match)")
    version, height, width, channels, *arch, upsampling = struct.unpack_from(_HEAD, data, 4)
    if version != FORMAT:
        raise InrkitError(f"{name} is in .inrz format {version}; this inrkit reads format {FORMAT} (upgrade inrkit)")
    try:
        if upsampling >= len(UPSAMPLING):
            raise InrkitError(f"upsampling {upsampling} is not one of 0 to {len(UPSAMPLING) - 1}")
        field = CodecField(CodecConfig(*arch, UPSAMPLING[upsampling]), height, width, channels)
    except InrkitError as e:
        raise InrkitError(f"{name} describes an impossible image: {e}") from None
    tensors = network_tensors(field)
    at = 4 + struct.calcsize(_HEAD)
    if len(body) < at + 2 * len(tensors) + 4:
        raise InrkitError(f"{name} is truncated or corrupted (its header is cut short)")
    params = [struct.unpack_from("<BB", data, at + 2 * k) for k in range(len(tensors))]
    at += 2 * len(tensors)
    (count,) = struct.unpack_from("<I", data, at)
    if at + 4 + 4 * count != len(body) or any(e > MAX_EXPONENT or s >= _TABLE for e, s in params):
        raise InrkitError(f"{name} is truncated or corrupted (its sizes do not add up)")
    words = np.frombuffer(body, dtype="<u4", count=count, offset=at + 4).astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    with torch.no_grad():
        for t, (e, s) in zip(tensors, params):
            n = t.numel()
            ints = decoder.decode(_model(-_PARAM_LIMIT, _PARAM_LIMIT), np.zeros(n), np.full(n, PARAM_SCALES[s]))
            t.copy_(torch.from_numpy((ints.astype(np.float64) * 2.0**-e).reshape(t.shape)).to(t.dtype))
        latents = [g.detach() for g in field.latents]
        model = _model(-LATENT_MAX, LATENT_MAX)

        def code(level, index, means, scales):
            values = decoder.decode(model, means, scales)
            latents[level].view(-1)[index] = torch.from_numpy(values.astype(np.float32))

        _latent_passes(field, latents, code)
    return field


def describe_inrz(path) -> list[tuple[str, str]]:
    """``(label, value)`` rows that describe a ``.inrz`` file (for ``inrkit info``); a bad file is one sentence."""
    from pathlib import Path

    data = Path(path).read_bytes()
    f = read_stream(data, repr(str(path)))
    c = f.config
    latents = sum(g.numel() for g in f.latents)
    params = sum(t.numel() for t in network_tensors(f))
    return [("format", f"inrkit compressed image (.inrz format {FORMAT})"),
            ("image", f"{f.width}x{f.height}, {'grey' if f.channels == 1 else 'RGB'}"),
            ("size", f"{len(data):,} bytes, {len(data) * 8 / (f.width * f.height):.4f} bits per pixel"),
            ("latents", f"{c.levels} grids, {latents:,} integers, {c.upsampling} between cells"),
            ("networks", f"synthesis {c.layers}x{c.width}, entropy model 2x{c.context}: {params:,} parameters")]
