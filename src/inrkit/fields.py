"""Fields: encoding + network + output activation. Coordinates in, values out.

A field never knows about pixels, rays or files; signals convert to and from
coordinates in ``[-1, 1]``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from .encodings import Encoding, EncodingConfig
from .grids import evaluate_grid
from .networks import NetworkConfig

__all__ = ["Field", "FieldConfig", "OUTPUTS"]

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

    def training_outputs(self, h: torch.Tensor, network: nn.Module | None = None) -> list[torch.Tensor]:
        """What a fit compares with the observed values, from encoded features ``h: (N, encoding.out_dim)``:
        ``[output (N, out_dim)]``, or for a network trained at every scale (BACON's ``multiscale_loss``)
        each scale's output. ``network`` stands in for :attr:`network` (e.g. its compiled form)."""
        if getattr(self.network, "multiscale_loss", False):
            return [OUTPUTS[self.output](o) for o in self.network.outputs(h)]
        return [OUTPUTS[self.output]((network or self.network)(h))]

    def prepare(self, x: torch.Tensor):
        """Cacheable encoding work for fixed coordinates ``x: (N, in_dim)``."""
        return self.encoding.prepare(x)

    def forward_prepared(self, state) -> torch.Tensor:
        """Same as ``forward`` on the coordinates given to :meth:`prepare`: ``(N, out_dim)``."""
        return self.from_features(self.encoding.encode_prepared(state))

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
class FieldConfig:
    """A field: encoding, network and output activation."""

    encoding: EncodingConfig = field(default_factory=EncodingConfig)
    """The coordinate encoding."""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    """The network after the encoding."""
    output: str = "identity"
    """Output activation: identity, sigmoid, tanh or softplus."""

    def build(self, in_dim: int, out_dim: int) -> Field:
        enc = self.encoding.build(in_dim)
        net = self.network.build(enc.out_dim, out_dim)
        return Field(enc, net, self.output, config=self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FieldConfig":
        net = dict(d.get("network", {}))
        if "skips" in net:
            net["skips"] = tuple(net["skips"])
        return cls(
            encoding=EncodingConfig(**d.get("encoding", {})),
            network=NetworkConfig(**net),
            output=d.get("output", "identity"),
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
    """A radiance field: position encoding + density network, direction encoding + colour network."""

    encoding: EncodingConfig = field(default_factory=lambda: EncodingConfig("hashgrid", finest_resolution=1024))
    """Encoding of positions in [-1, 1]³."""
    network: NetworkConfig = field(default_factory=lambda: NetworkConfig("mlp", width=64, depth=1))
    """Density network: encoded position -> raw density and geo_features features."""
    geo_features: int = 15
    """Features passed from the density network to the colour network."""
    direction: EncodingConfig = field(default_factory=lambda: EncodingConfig("sh", degree=4))
    """Encoding of unit viewing directions."""
    color_network: NetworkConfig = field(default_factory=lambda: NetworkConfig("mlp", width=64, depth=2))
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
        return {"type": "radiance", **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "RadianceFieldConfig":
        def net(n):
            n = dict(n)
            if "skips" in n:
                n["skips"] = tuple(n["skips"])
            return NetworkConfig(**n)

        return cls(
            encoding=EncodingConfig(**d["encoding"]),
            network=net(d["network"]),
            geo_features=int(d["geo_features"]),
            direction=EncodingConfig(**d["direction"]),
            color_network=net(d["color_network"]),
            density_activation=d.get("density_activation", "exp"),
            coarse_network=bool(d.get("coarse_network", False)),
        )


__all__ += ["RadianceField", "RadianceFieldConfig"]
