"""A local implicit image function: an encoder turns an image into a feature map, and a small network
decodes any coordinate from the features nearest to it (Chen et al., "Learning Continuous Image
Representation with Local Implicit Image Function", CVPR 2021).

The pieces, as the paper has them (Sec. 3):

- **Encoder**: EDSR-baseline's body without its upsampler (Lim et al. 2017): a 3x3 convolution, residual
  blocks (conv, ReLU, conv, plus the input) and a 3x3 convolution, with a skip over the body; one feature
  vector per input pixel.
- **Feature unfolding**: the decoder sees the 3x3 neighbourhood of the nearest feature vector (zero
  outside the image). Its first layer is linear, and a linear map of the nine concatenated vectors is a
  3x3 convolution, so that layer's feature term is computed once per input pixel (``unfold``, a
  convolution with zero padding) and a query gathers one ``hidden``-vector instead of ``9 x channels``:
  the same function as the paper's, with the first layer's cost paid per input pixel, not per query.
- **Local ensemble**: each query is decoded from its four surrounding feature vectors, each with the
  query's offset from that feature's pixel centre, and the four predictions are mixed by the areas of
  the rectangles opposite them (bilinear weights).
- **Cell decoding**: the size of the output pixel (in input pixels) is an input too, so the decoder
  knows how large an area it predicts the mean of.

One deviation: the decoder predicts the residual over bilinear interpolation of the input image (as many
LIIF descendants do), which shortens training on a CPU; the network still learns everything above it.

Coordinates are inrkit's: pixel centres in [-1, 1], ``(x, y)`` with x along a row.

Examples:
    >>> model = LIIF(SRConfig(channels=8, blocks=1, hidden=16, layers=2))
    >>> image = torch.rand(1, 3, 6, 5)                     # (B, 3, h, w)
    >>> coords = torch.rand(1, 7, 2) * 2 - 1               # (B, Q, 2)
    >>> model(image, coords, torch.full((1, 2), 0.1)).shape
    torch.Size([1, 7, 3])
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SRConfig", "LIIF", "ImageField", "Encoder"]


@dataclass
class SRConfig:
    """The encoder and decoder of a learned super-resolution prior."""

    channels: int = 32
    """Feature channels of the encoder (EDSR-baseline: 64)."""
    blocks: int = 4
    """Residual blocks of the encoder (EDSR-baseline: 16)."""
    hidden: int = 128
    """Width of the decoder's hidden layers (LIIF: 256)."""
    layers: int = 3
    """Hidden layers of the decoder (LIIF: 4)."""

    def __post_init__(self):
        from ..errors import InrkitError

        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise InrkitError(f"{name} must be a positive whole number, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class _ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class Encoder(nn.Module):
    """``(B, 3, h, w)`` in [0, 1] -> ``(B, channels, h, w)``: EDSR-baseline without its upsampler."""

    def __init__(self, channels: int, blocks: int):
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[_ResBlock(channels) for _ in range(blocks)], nn.Conv2d(channels, channels, 3,
                                                                                           padding=1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h = self.head((image - 0.5) / 0.5)  # inputs centred, as LIIF's data normalisation
        return h + self.body(h)


class LIIF(nn.Module):
    """Encoder and local implicit decoder. ``forward(image (B, 3, h, w), coords (B, Q, 2), cell (B, 2))`` ->
    ``(B, Q, 3)``: the image's values at ``coords`` for output pixels of size ``cell`` (both in [-1, 1]
    units, ``(x, y)``). :meth:`features` once, then :meth:`query` per chunk of coordinates, is the same."""

    def __init__(self, config: SRConfig = SRConfig()):
        super().__init__()
        self.config = config
        c, hid = config.channels, config.hidden
        self.encoder = Encoder(c, config.blocks)
        self.unfold = nn.Conv2d(c, hid, 3, padding=1)  # the first layer's term of the 3x3 unfolded features
        self.position = nn.Linear(4, hid, bias=False)  # ... and of the offset and cell (in input pixels)
        layers = []
        for _ in range(config.layers - 1):
            layers += [nn.ReLU(inplace=True), nn.Linear(hid, hid)]
        self.mlp = nn.Sequential(*layers, nn.ReLU(inplace=True), nn.Linear(hid, 3))

    def features(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, 3, h, w)`` -> ``(B, hidden, h, w)``: the decoder's first layer, up to the position terms."""
        return self.unfold(self.encoder(image))

    def query(self, feats: torch.Tensor, image: torch.Tensor, coords: torch.Tensor, cell: torch.Tensor):
        """Values ``(B, Q, 3)`` at ``coords (B, Q, 2)`` from ``feats = features(image)``; ``cell (B, 2)``."""
        b, hid, h, w = feats.shape
        size = torch.tensor([w, h], dtype=coords.dtype, device=coords.device)  # (2,) pixels along (x, y)
        u = (coords + 1) / 2 * size  # (B, Q, 2): continuous pixel position, pixel j spans [j, j + 1)
        flat = feats.flatten(2).transpose(1, 2)  # (B, h*w, hidden)
        cell_px = (cell * size / 2)[:, None].expand(-1, coords.shape[1], -1)  # (B, Q, 2) in input pixels
        preds, areas = [], []
        for vy in (-0.5, 0.5):
            for vx in (-0.5, 0.5):
                shift = torch.tensor([vx, vy], dtype=coords.dtype, device=coords.device)
                j = torch.floor(u + shift)  # (B, Q, 2): one of the four pixels around the query
                j = torch.minimum(torch.maximum(j, torch.zeros_like(j)), size - 1)
                rel = u - (j + 0.5)  # (B, Q, 2): offset from that pixel's centre, in pixels
                index = (j[..., 1] * w + j[..., 0]).long()  # (B, Q)
                f = torch.gather(flat, 1, index[..., None].expand(-1, -1, hid))  # (B, Q, hidden)
                hidden = f + self.position(torch.cat([rel, cell_px], dim=-1))
                preds.append(self.mlp(hidden))  # (B, Q, 3)
                areas.append((rel[..., 0] * rel[..., 1]).abs() + 1e-9)  # (B, Q)
        total = sum(areas)
        # each prediction weighted by the area of the rectangle opposite it: bilinear weights
        out = sum(p * (a / total)[..., None] for p, a in zip(preds, reversed(areas)))
        base = F.grid_sample(image, coords[:, None], mode="bilinear", padding_mode="border",
                             align_corners=False)  # (B, 3, 1, Q)
        return out + base[:, :, 0].transpose(1, 2)

    def forward(self, image: torch.Tensor, coords: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        return self.query(self.features(image), image, coords, cell)


class ImageField(nn.Module):
    """An image as a field through a learned prior: ``forward(x (..., 2)) -> (..., C)`` in [0, 1], queried at
    any coordinate like any other field (:func:`inrkit.render`, the chunked evaluator). ``cell`` is the
    output pixel's size in [-1, 1] units ``(x, y)``; :meth:`for_size` sets it for a ``(W, H)`` render.
    Grey images go through the RGB model as three equal channels and come back as their mean; an alpha
    channel is interpolated bilinearly.

    ``grid = (scale, shift)`` maps the field's coordinates to the image's own grid (``q = x * scale + shift``,
    per axis; default the identity): an image of every ``s``-th pixel of a larger one is the larger one's
    field with the map that puts each kept pixel where it lies (:func:`inrkit.superres.prior.stride_grid`).

    In training mode with gradients on (``inrkit fit image --prior``), every call runs the encoder, so the
    whole model trains; otherwise the features are computed once and kept."""

    def __init__(self, model: LIIF, image: torch.Tensor, cell=None, grid=None):
        super().__init__()
        if image.dim() != 3 or image.shape[-1] not in (1, 2, 3, 4):
            raise ValueError(f"expected an image (H, W, C) with C from 1 to 4, got {tuple(image.shape)}")
        self.model = model.eval()
        self.channels = image.shape[-1]
        self.in_dim, self.out_dim = 2, self.channels
        colour = image[..., :3] if self.channels >= 3 else image[..., :1].expand(-1, -1, 3)
        self.register_buffer("image", colour.permute(2, 0, 1)[None].contiguous())  # (1, 3, h, w)
        alpha = image[..., -1:] if self.channels in (2, 4) else None
        self.register_buffer("alpha", None if alpha is None else alpha.permute(2, 0, 1)[None].contiguous())
        scale, shift = grid if grid is not None else ((1.0, 1.0), (0.0, 0.0))
        as_buffer = dict(dtype=torch.float32, device=image.device)
        self.register_buffer("grid_scale", torch.as_tensor(scale, **as_buffer).reshape(2))
        self.register_buffer("grid_shift", torch.as_tensor(shift, **as_buffer).reshape(2))
        h, w = image.shape[:2]
        default = (2 / (w * self.grid_scale[0].item()), 2 / (h * self.grid_scale[1].item()))  # one image pixel
        self.register_buffer("cell", torch.as_tensor(cell if cell is not None else default,
                                                     **as_buffer).reshape(1, 2))
        self._feats = None
        self.config = None  # set by PriorFieldConfig.build: how a checkpoint rebuilds it

    @property
    def meta_shape(self) -> list[int]:
        h, w = self.image.shape[2:]
        return [round(h * self.grid_scale[1].item()), round(w * self.grid_scale[0].item()), self.channels]

    @property
    def meta(self) -> dict:
        """What :func:`inrkit.render` reads (a checkpoint's own, once loaded): an image field of the size
        the input covers and its channels."""
        if "_meta" in self.__dict__:
            return self.__dict__["_meta"]
        return {"signal": {"kind": "image", "shape": self.meta_shape, "source": "image through a prior"},
                "field": {"type": "prior", **self.model.config.to_dict()}}

    @meta.setter
    def meta(self, value: dict) -> None:
        self.__dict__["_meta"] = value

    def for_size(self, size, region=None) -> "ImageField":
        """This field with the cell of a ``(W, H)`` render over ``region = ((x0, y0), (x1, y1))`` (default
        [-1, 1]²): the output pixel's size, which the decoder takes as an input. :func:`inrkit.render` calls it."""
        w, h = size
        (x0, y0), (x1, y1) = region if region is not None else ((-1.0, -1.0), (1.0, 1.0))
        self.cell = torch.tensor([[(x1 - x0) / w, (y1 - y0) / h]], dtype=torch.float32, device=self.image.device)
        return self

    def _features(self):
        if self.training and torch.is_grad_enabled():
            self._feats = None
            return self.model.features(self.image)
        if self._feats is None or self._feats.device != self.image.device:
            with torch.no_grad():
                self._feats = self.model.features(self.image)
        return self._feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        q = (x.reshape(1, -1, 2).to(self.image.dtype) * self.grid_scale + self.grid_shift)  # (1, Q, 2)
        training = self.training and torch.is_grad_enabled()
        with torch.enable_grad() if training else torch.no_grad():
            rgb = self.model.query(self._features(), self.image, q, self.cell * self.grid_scale)[0]  # (Q, 3)
            if self.channels < 3:
                rgb = rgb.mean(-1, keepdim=True)
            if self.alpha is not None:
                a = F.grid_sample(self.alpha, q[:, None], mode="bilinear", padding_mode="border", align_corners=False)
                rgb = torch.cat([rgb, a[0, :, 0].T], dim=-1)
        out = rgb if training else rgb.clamp(0, 1)
        return out.reshape(*lead, self.channels)

    # what the fit loop asks of a field (inrkit.fields.Field has the same methods)
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def cache(self, x: torch.Tensor, batches: bool = False, max_bytes: float = float("inf")):
        """Nothing to precompute for fixed coordinates but the coordinates themselves: ``x (N, 2)``."""
        return x

    def forward_cached(self, cache: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        return self(cache if index is None else cache[index])

    def training_outputs(self, cache: torch.Tensor, index: torch.Tensor | None = None) -> list[torch.Tensor]:
        return [self.forward_cached(cache, index)]

    def compiled(self, when: str = "on") -> "ImageField":
        return self

    def training_bytes_per_point(self) -> int:
        """Activations one query keeps for the backward pass: four corners of the decoder, float32, margin 2."""
        c = self.model.config
        return 2 * 4 * 4 * (c.hidden * (c.layers + 1) + 8)
