"""Fields: encoding + network + output activation. Coordinates in, values out.

A field never knows about pixels, rays or files; signals convert to and from
coordinates in ``[-1, 1]``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .configs import EncodingConfig, NetworkConfig
from .encodings import Encoding, HashGridConfig, IdentityConfig, SHConfig
from .grids import evaluate_grid
from .networks import MLP, MLPConfig, Siren

__all__ = ["Field", "FieldCache", "FieldConfig", "OUTPUTS"]

OUTPUTS = {
    "identity": lambda y: y,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softplus": nn.functional.softplus,
}


class Field(nn.Module):
    """``x: (..., in_dim) -> output(network(encoding(x))): (..., out_dim)``."""

    def __init__(self, encoding: Encoding, network: nn.Module, output: str = "identity", config=None):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"unknown output activation {output!r}; expected one of {', '.join(OUTPUTS)}")
        self.encoding, self.network, self.output = encoding, network, output
        self.in_dim, self.out_dim = encoding.in_dim, network.out_dim
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        h = self.encoding(x.reshape(-1, self.in_dim))  # (N, enc.out_dim)
        return self.from_features(h).reshape(*lead, self.out_dim)

    def from_features(self, h: torch.Tensor) -> torch.Tensor:
        """Network and output activation on encoded features ``h: (N, encoding.out_dim)``."""
        return OUTPUTS[self.output](self.network(h))

    # ---------------------------------------------------------------- fitting fixed coordinates
    # A fit evaluates the same coordinates at every step: what depends on them alone is computed once
    # (cache), each step starts from it (forward_cached, training_outputs), and the network may be
    # compiled (compiled). The fit loop calls these and reads nothing inside a field.

    def cache(self, x: torch.Tensor, batches: bool = False, max_bytes: float = math.inf) -> "FieldCache":
        """What can be computed once for the fixed coordinates ``x: (N, in_dim)``.

        ``batches=False`` (every use covers all of ``x``, a full batch): the encoding's own preparation
        (:meth:`~inrkit.encodings.Encoding.prepare`: a hash grid's interpolation matrix, a fixed
        encoding's features), where it can be reused across steps. ``batches=True`` (random batches of
        ``x``): a fixed encoding's features, when they fit in ``max_bytes``. Otherwise nothing, and
        each use encodes its coordinates again. The cache holds no weights: after an optimiser step,
        :meth:`forward_cached` sees the new ones.
        """
        x = x.reshape(-1, self.in_dim)  # (N, in_dim)
        enc = self.encoding
        fixed = not any(p.requires_grad for p in enc.parameters())
        if not batches and (fixed or type(enc).prepare is not Encoding.prepare):
            return FieldCache(prepared=enc.prepare(x))  # a trainable encoding must say what it caches
        if batches and fixed and x.shape[0] * enc.out_dim * 4 <= max_bytes:
            with torch.no_grad():
                return FieldCache(features=torch.cat([enc(c) for c in x.split(1 << 16)]))  # (N, enc.out_dim)
        return FieldCache(coords=x)

    def _cached_features(self, cache: "FieldCache", index: torch.Tensor | None = None) -> torch.Tensor:
        """Encoded features of the cached coordinates (``index: (B,)``: of those rows): ``(N or B, enc.out_dim)``."""
        if cache.features is not None:
            return cache.features if index is None else cache.features[index]
        if cache.prepared is not None:
            if index is not None:
                raise ValueError("a field's full-batch cache serves all its coordinates at once; "
                                 "cache(x, batches=True) serves batches of them")
            return self.encoding.encode_prepared(cache.prepared)
        return self.encoding(cache.coords if index is None else cache.coords[index])

    def forward_cached(self, cache: "FieldCache", index: torch.Tensor | None = None) -> torch.Tensor:
        """Same as ``forward`` on the coordinates given to :meth:`cache` (with ``index: (B,)``, on
        those rows of them): ``(N or B, out_dim)``."""
        return self.from_features(self._cached_features(cache, index))

    def training_outputs(self, cache: "FieldCache", index: torch.Tensor | None = None) -> list[torch.Tensor]:
        """What a fit compares with the observed values at the cached coordinates (``index``: those
        rows): ``[output (N or B, out_dim)]``, or for a network trained at every scale (BACON's
        ``multiscale_loss``) each scale's output, coarsest first."""
        h = self._cached_features(cache, index)  # (N or B, enc.out_dim)
        if getattr(self.network, "multiscale_loss", False):
            return [OUTPUTS[self.output](o) for o in self.network.outputs(h)]
        return [OUTPUTS[self.output](self.network(h))]

    def compiled(self, when: str = "on") -> "Field":
        """This field with its network compiled by ``torch.compile``, for training steps: the same
        modules and parameters (an optimiser of either trains both). ``when="auto"``: only for the
        network families whose compiled training is tested (:class:`~inrkit.networks.MLP`,
        :class:`~inrkit.networks.Siren`) at a width of 128 or more; ``"off"``: this field itself."""
        if when not in ("auto", "on", "off"):
            raise ValueError(f"compile must be auto, on or off, got {when!r}")
        widths = [m.out_features for m in self.network.modules() if isinstance(m, nn.Linear)]
        worth = isinstance(self.network, (MLP, Siren)) and max(widths, default=0) >= 128
        if when == "off" or (when == "auto" and not worth):
            return self
        return Field(self.encoding, torch.compile(self.network), self.output, config=self.config)

    def training_bytes_per_point(self) -> int:
        """Memory one coordinate costs in a full-batch training step: the encoding's cache for fixed
        coordinates plus the activations kept for the backward pass (float32), with a margin of 2 for
        temporaries."""
        enc = self.encoding
        cache = enc.prepared_bytes_per_point() if hasattr(enc, "prepared_bytes_per_point") else 0
        widths = [m.out_features for m in self.network.modules() if isinstance(m, nn.Linear)]
        return 2 * (cache + 4 * (enc.out_dim + 3 * sum(widths)))

    def sample_grid(self, shape, region=None, chunk_size: int = 1 << 16):
        """Values on a grid of pixel/voxel centres: ``(*shape, out_dim)`` numpy array.

        ``shape`` is in array order (``(H, W)``, ``(D, H, W)``); ``region = (lo, hi)``
        in coordinate order ``(x, y, ...)``, default ``[-1, 1]`` per axis. Chunked:
        memory is the output plus ``chunk_size`` points' activations.
        """
        device = next(self.parameters()).device
        return evaluate_grid(self, shape, self.out_dim, region=region, chunk_size=chunk_size, device=device)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


@dataclass
class FieldCache:
    """What :meth:`Field.cache` computed once for fixed coordinates: one of the encoding's ``prepared``
    state for all of them, their ``features (N, enc.out_dim)`` (served by rows), or just the ``coords
    (N, in_dim)`` (encoded at each use)."""

    prepared: object = None
    features: torch.Tensor | None = None
    coords: torch.Tensor | None = None

    @property
    def nbytes(self) -> int:
        """Memory held, in bytes (sparse matrices counted by their index and value arrays)."""
        parts = [self.features, self.coords, self.prepared]
        tensors = [t for t in parts if isinstance(t, torch.Tensor)]
        if self.prepared is not None and not isinstance(self.prepared, torch.Tensor):
            tensors += [v for v in vars(self.prepared).values() if isinstance(v, torch.Tensor)]
        total = 0
        for t in tensors:
            if t.layout == torch.sparse_csr:
                total += sum(a.numel() * a.element_size() for a in (t.crow_indices(), t.col_indices(), t.values()))
            else:
                total += t.numel() * t.element_size()
        return total


@dataclass
class FieldConfig:
    """A field: encoding, network and output activation.

    Examples:
        >>> from inrkit.encodings import PositionalConfig
        >>> cfg = FieldConfig(PositionalConfig(n_frequencies=4), MLPConfig(width=16, depth=1), output="sigmoid")
        >>> cfg.build(2, 3).n_params()  # (2 * (2 * 4 + 1) + 1) * 16 + (16 + 1) * 3
        355
        >>> FieldConfig.from_dict(cfg.to_dict()) == cfg
        True
    """

    encoding: EncodingConfig = field(default_factory=IdentityConfig)
    """The coordinate encoding: one of the configs in :data:`inrkit.encodings.ENCODINGS`."""
    network: NetworkConfig = field(default_factory=MLPConfig)
    """The network after the encoding: one of the configs in :data:`inrkit.networks.NETWORKS`."""
    output: str = "identity"
    """Output activation: identity, sigmoid, tanh or softplus."""

    def build(self, in_dim: int, out_dim: int) -> Field:
        enc = self.encoding.build(in_dim)
        net = self.network.build(enc.out_dim, out_dim)
        return Field(enc, net, self.output, config=self)

    def to_dict(self) -> dict:
        """``{"encoding": {"kind": ..., its keys}, "network": {...}, "output": ...}``."""
        return {"encoding": self.encoding.to_dict(), "network": self.network.to_dict(), "output": self.output}

    @classmethod
    def from_dict(cls, d: dict) -> "FieldConfig":
        """The config :meth:`to_dict` wrote; a missing part takes its default."""
        default = cls()
        return cls(
            encoding=EncodingConfig.from_dict(d["encoding"]) if "encoding" in d else default.encoding,
            network=NetworkConfig.from_dict(d["network"]) if "network" in d else default.network,
            output=d.get("output", default.output),
        )


class _TruncExp(torch.autograd.Function):
    """``exp(x)`` whose gradient uses ``exp(min(x, 15))`` (Instant-NGP's density activation)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.exp(x.clamp(max=15))


DENSITY_ACTIVATIONS = {
    "exp": _TruncExp.apply,
    "relu": torch.relu,
    "softplus": nn.functional.softplus,
}


class RadianceField(nn.Module):
    """A radiance field: ``(x, d) -> (rgb, sigma)`` (Mildenhall et al. 2020).

    ``x: (..., 3)`` positions in the scene box mapped to ``[-1, 1]³`` (the signal
    maps world units; the scene box is in the checkpoint's metadata);
    ``d: (..., 3)`` unit viewing directions in world axes. The position encoding
    feeds ``density_network``, whose first output is the raw density and the
    rest ``geo_features`` features; these and the encoded direction feed
    ``color_network``. ``rgb: (..., 3)`` in ``[0, 1]`` (sigmoid),
    ``sigma: (...)`` non-negative. :meth:`density` alone serves occupancy grids
    and meshing. ``coarse``: an optional second radiance field that the hierarchical
    sampler's coarse pass queries instead of this one (NeRF trains two networks: the
    coarse one only places the fine samples); occupancy-grid sampling ignores it.

    ``grid``: the field's :class:`~inrkit.nerf.occupancy.OccupancyGrid`, training state that is not a
    weight (buffers, in :meth:`state_dict` and so in ``field.safetensors``). It starts empty; the
    occupancy sampler's training (:meth:`inrkit.signals.nerf.NerfSignal.loss`) sizes, carves and
    refreshes it, and rendering a fitted field skips the empty space it marks.
    """

    def __init__(
        self,
        encoding: nn.Module,
        density_network: nn.Module,
        direction_encoding: nn.Module,
        color_network: nn.Module,
        density_activation: str = "exp",
        config=None,
        coarse: "RadianceField | None" = None,
    ):
        super().__init__()
        if density_activation not in DENSITY_ACTIVATIONS:
            raise ValueError(f"unknown density activation {density_activation!r}")
        self.encoding, self.network = encoding, density_network  # `network`: the density network
        self.direction_encoding, self.color_network = direction_encoding, color_network
        self.density_activation = density_activation
        self.in_dim, self.out_dim = 3, 4
        self.config = config
        self.coarse = coarse
        from .nerf.occupancy import OccupancyGrid  # here: inrkit.nerf imports the signals, which import fields

        self.grid = OccupancyGrid(0)

    def _geometry(self, x: torch.Tensor):
        h = self.network(self.encoding(x))  # (N, 1 + geo_features)
        return DENSITY_ACTIVATIONS[self.density_activation](h[:, 0]), h[:, 1:]

    def forward(self, x: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lead = x.shape[:-1]
        sigma, geo = self._geometry(x.reshape(-1, 3))  # (N,), (N, G)
        hd = self.direction_encoding(d.reshape(-1, 3))  # (N, D)
        rgb = torch.sigmoid(self.color_network(torch.cat([hd, geo], -1)))  # (N, 3)
        return rgb.reshape(*lead, 3), sigma.reshape(lead)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """``sigma: (...)`` at ``x: (..., 3)`` in ``[-1, 1]³``."""
        return self._geometry(x.reshape(-1, 3))[0].reshape(x.shape[:-1])

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


@dataclass
class RadianceFieldConfig:
    """A radiance field: position encoding + density network, direction encoding + colour network.

    Examples:
        >>> from inrkit.encodings import HashGridConfig, SHConfig
        >>> cfg = RadianceFieldConfig(HashGridConfig(n_levels=2, log2_hashmap_size=8, finest_resolution=16),
        ...                           MLPConfig(width=16, depth=1), 3, SHConfig(degree=2), MLPConfig(width=16, depth=1))
        >>> cfg.build().n_params()  # table 2 * 2^8 * 2, density 5 * 16 + 17 * 4, colour 8 * 16 + 17 * 3
        1351
    """

    encoding: EncodingConfig = field(default_factory=lambda: HashGridConfig(finest_resolution=1024))
    """Encoding of positions in [-1, 1]³."""
    network: NetworkConfig = field(default_factory=lambda: MLPConfig(width=64, depth=1))
    """Density network: encoded position -> raw density and geo_features features."""
    geo_features: int = 15
    """Features passed from the density network to the colour network."""
    direction: EncodingConfig = field(default_factory=lambda: SHConfig(degree=4))
    """Encoding of unit viewing directions."""
    color_network: NetworkConfig = field(default_factory=lambda: MLPConfig(width=64, depth=2))
    """Colour network: encoded direction and features -> RGB (sigmoid)."""
    density_activation: str = "exp"
    """exp (truncated gradient, Instant-NGP), relu (NeRF) or softplus."""
    coarse_network: bool = False
    """Hierarchical sampling: a second field of the same shape for the coarse pass (NeRF); else one field
    serves both passes."""

    def build(self, in_dim: int = 3, out_dim: int = 4) -> RadianceField:
        def one(coarse=None):
            enc = self.encoding.build(3)
            dens = self.network.build(enc.out_dim, 1 + self.geo_features)
            dirs = self.direction.build(3)
            color = self.color_network.build(dirs.out_dim + self.geo_features, 3)
            return RadianceField(enc, dens, dirs, color, self.density_activation, config=self, coarse=coarse)

        return one(one() if self.coarse_network else None)

    def to_dict(self) -> dict:
        """``{"type": "radiance", "encoding": {"kind": ..., its keys}, "network": {...}, ...}``."""
        return {"type": "radiance", **{f.name: self._part_to_dict(getattr(self, f.name))
                                       for f in dataclasses.fields(self)}}

    @staticmethod
    def _part_to_dict(value):
        if isinstance(value, (EncodingConfig, NetworkConfig)):
            return value.to_dict()
        return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value

    @classmethod
    def from_dict(cls, d: dict) -> "RadianceFieldConfig":
        """The config :meth:`to_dict` wrote; a missing key takes its default."""
        readers = {"encoding": EncodingConfig.from_dict, "direction": EncodingConfig.from_dict,
                   "network": NetworkConfig.from_dict, "color_network": NetworkConfig.from_dict}
        default, kwargs = cls(), {}
        for f in dataclasses.fields(cls):
            if f.name in d:
                value, was = d[f.name], getattr(default, f.name)
                if f.name in readers:
                    value = readers[f.name](value)
                elif dataclasses.is_dataclass(was) and isinstance(value, dict):  # a nested config
                    value = type(was)(**value)
                kwargs[f.name] = value
        unknown = sorted(set(d) - set(kwargs) - {"type"})
        if unknown:
            raise ValueError(f"a radiance field has no key {', '.join(map(repr, unknown))}")
        return cls(**kwargs)


__all__ += ["RadianceField", "RadianceFieldConfig"]
