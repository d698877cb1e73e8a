"""The ``.inrz`` file: a compressed image as a versioned header and one range-coded stream.

Layout (little-endian)::

    "INRZ"  u8 format version
    u32 height, u32 width, u8 channels
    u8 levels, u8 synthesis width, u8 synthesis layers, u8 entropy-model width, u8 upsampling (0 bilinear, 1 bicubic)
    per network tensor (the synthesis's, then the entropy model's, weights then bias of each layer):
        u8 quantisation exponent e (the tensor is integers times 2^-e), u8 index of its Laplace scale
    u32 CRC-32 of the integers coded (network, then latents, as int32): the decoder checks what it decoded
    u32 number of 32-bit words, the words (constriction's range coder)
    u32 CRC-32 of everything before it

The stream holds the network tensors' integers (each under a zero-mean Laplace of its recorded scale),
then the latents, coarsest level first, each level in two checkerboard passes under the entropy
model's Laplace for each latent. The decoder reads this with no training code and nothing pickled:
the header, the integers, and the same forward passes of the entropy model as the encoder ran.

The means and scales that the range coder sees are snapped to fixed grids (means to 1/16, scales to a
64-entry table), so that a last-bit difference in the entropy model's floating-point sums (another CPU,
another PyTorch) changes what is coded only when it falls on a grid boundary. Where it does, the
decoded integers differ from the encoder's and the content checksum says so in one sentence, rather
than giving a wrong picture; the same machine and software decode bit for bit.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np
import torch

from ..errors import InrkitError
from .model import LATENT_MAX, SCALE_MAX, SCALE_MIN, UPSAMPLING, CodecConfig, CodecField

__all__ = ["MAGIC", "FORMAT", "write_stream", "read_stream", "network_tensors", "quantise_network",
           "MAX_EXPONENT", "describe_inrz", "param_scale", "param_bits", "image_size"]

MAGIC = b"INRZ"
FORMAT = 1
MAX_EXPONENT = 24
MAX_PIXELS = 1 << 26
"""The largest image a file may hold (67 million pixels; checked before the decoder allocates anything)."""
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
    """Index of the table entry nearest to each value, in log scale.

    >>> _nearest(np.array([1.0, 10.0, 100.0]), [0.5, 3.0, 3.2, 99.0, 1e9]).tolist()
    [0, 0, 1, 2, 2]
    """
    logs = np.log(np.asarray(values, dtype=np.float64).clip(table[0], table[-1]))
    table_logs = np.log(table)
    return np.searchsorted((table_logs[:-1] + table_logs[1:]) / 2, logs)


def param_scale(ints) -> int:
    """Index in :data:`PARAM_SCALES` of the zero-mean Laplace that codes one network tensor's integers: the
    entry nearest to their mean magnitude (the Laplace's maximum-likelihood scale)."""
    return int(_nearest(PARAM_SCALES, max(float(np.abs(np.asarray(ints, dtype=np.float64)).mean()), 1e-9)))


def param_bits(ints) -> float:
    """Bits one network tensor's integers take in the file (their code lengths under :func:`param_scale`'s
    Laplace): what the encoder's quantisation search counts."""
    from .model import laplace_bits

    ints = torch.as_tensor(np.asarray(ints, dtype=np.float64))
    scale = torch.tensor(PARAM_SCALES[param_scale(ints)], dtype=torch.float64)
    return float(laplace_bits(ints, torch.zeros((), dtype=torch.float64), scale).sum())


def image_size(head: bytes) -> tuple[int, int] | None:
    """``(height, width)`` from the first 13 bytes of a ``.inrz`` file, None when it is not one."""
    if len(head) < 13 or head[:4] != MAGIC:
        return None
    _, height, width = struct.unpack_from("<BII", head, 4)
    return height, width


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


def _pass_indices(h: int, w: int, first: bool, chunk: int = 1 << 18):
    """Flat indices of a ``h x w`` level's first (``(row + column)`` even) or second checkerboard pass, in
    blocks of rows of about ``chunk`` cells (the decoder's memory stays bounded whatever the image)."""
    rows = max(1, chunk // max(w, 1))
    for y0 in range(0, h, rows):
        ys, xs = torch.meshgrid(torch.arange(y0, min(y0 + rows, h)), torch.arange(w), indexing="ij")
        keep = ((ys + xs) % 2 == 0) == first
        index = (ys * w + xs)[keep]
        if len(index):
            yield index


def _latent_passes(field: CodecField, latents: list[torch.Tensor], code) -> None:
    """Walk the latents in stream order (coarsest level first; per level the checkerboard's first pass, then
    the second, each in blocks of rows), calling ``code(level, index, means, scales)``; the latents read by
    the entropy model are those of ``latents`` that earlier passes have filled (the decoder fills them as it
    goes; a first-pass cell reads only the coarser level, a second-pass cell also its first-pass neighbours)."""
    with torch.no_grad():
        for i in reversed(range(len(latents))):
            _, _, h, w = latents[i].shape
            parent = latents[i + 1] if i + 1 < len(latents) else None
            for index in (ix for first in (True, False) for ix in _pass_indices(h, w, first)):
                mean, scale = field.distribution(latents[i], parent, index)
                means = np.round(mean.double().numpy() * _MEAN_GRID) / _MEAN_GRID
                scales = LATENT_SCALES[_nearest(LATENT_SCALES, scale.double().numpy())]
                code(i, index, means.clip(-LATENT_MAX, LATENT_MAX), scales)


def _content_crc(network_ints, latents) -> int:
    crc = 0
    for a in [*network_ints, *(g.numpy() for g in latents)]:
        crc = zlib.crc32(np.ascontiguousarray(a, dtype="<i4").tobytes(), crc)
    return crc


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
    network_ints = []
    for t, e in zip(tensors, exponents):
        exact = t.detach().double().numpy().reshape(-1) * 2.0**e
        ints = np.round(exact).astype(np.int32)
        if not np.array_equal(ints, exact) or np.abs(ints).max(initial=0) > _PARAM_LIMIT:
            raise ValueError("quantise the network first (quantise_network): the decoder gets the rounded weights")
        network_ints.append(ints)
        s = param_scale(ints)
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
    content = _content_crc(network_ints, latents)
    body = b"".join(header) + struct.pack("<II", content, len(words)) + words.astype("<u4").tobytes()
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
    if height * width > MAX_PIXELS or height < 1 or width < 1:
        raise InrkitError(f"{name} describes an image of {width}x{height} pixels, which is not one inrkit wrote "
                          f"(at most {MAX_PIXELS:,} pixels)")
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
    if len(body) < at + 8:
        raise InrkitError(f"{name} is truncated or corrupted (its header is cut short)")
    content, count = struct.unpack_from("<II", data, at)
    if at + 8 + 4 * count != len(body) or any(e > MAX_EXPONENT or s >= _TABLE for e, s in params):
        raise InrkitError(f"{name} is truncated or corrupted (its sizes do not add up)")
    words = np.frombuffer(body, dtype="<u4", count=count, offset=at + 8).astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    network_ints = []
    with torch.no_grad():
        for t, (e, s) in zip(tensors, params):
            n = t.numel()
            ints = decoder.decode(_model(-_PARAM_LIMIT, _PARAM_LIMIT), np.zeros(n), np.full(n, PARAM_SCALES[s]))
            network_ints.append(ints)
            t.copy_(torch.from_numpy((ints.astype(np.float64) * 2.0**-e).reshape(t.shape)).to(t.dtype))
        latents = [g.detach() for g in field.latents]
        model = _model(-LATENT_MAX, LATENT_MAX)

        def code(level, index, means, scales):
            values = decoder.decode(model, means, scales)
            latents[level].view(-1)[index] = torch.from_numpy(values.astype(np.float32))

        _latent_passes(field, latents, code)
    if _content_crc(network_ints, latents) != content:
        raise InrkitError(f"{name} decoded to other numbers than were coded: its entropy model computed "
                          "differently here than on the machine that wrote it (another CPU or PyTorch); decode it "
                          "where it was written")
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
