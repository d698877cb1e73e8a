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
