"""The common base of the component configs: one small dataclass per kind, with only its own keys.

Each kind of encoding (:mod:`inrkit.encodings`) and network (:mod:`inrkit.networks`) has
its own config dataclass, as tiny-cuda-nn's JSON has one object per component. The class
attribute ``kind`` names it (``"hashgrid"``, ``"siren"``, ...); a registry per family
maps the name to the class (:data:`inrkit.encodings.ENCODINGS`,
:data:`inrkit.networks.NETWORKS`). ``to_dict()`` writes ``{"kind": ..., own keys}`` and
the family's ``from_dict`` reads it back, refusing keys the kind does not have.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

__all__ = ["ComponentConfig", "EncodingConfig", "NetworkConfig"]


class ComponentConfig:
    """Base of a family of configs (encodings, networks); subclasses are dataclasses with a ``kind``."""

    kind: ClassVar[str]
    """The kind's name, as written in ``to_dict()`` and the registry."""
    family: ClassVar[str] = "component"
    """encoding or network: named in error messages."""
    registry: ClassVar[dict[str, type]] = {}
    """Kind name -> config class; each family base sets its own, and subclasses register there."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            if "build" not in cls.__dict__:
                raise TypeError(f"{cls.family} config {cls.__name__} (kind {cls.kind!r}) defines no build()")
            if cls.kind in cls.registry:
                raise ValueError(f"{cls.family} kind {cls.kind!r} is registered twice")
            cls.registry[cls.kind] = cls

    def __init__(self, *args, **kwargs):  # the dataclass subclasses define their own
        kinds = ", ".join(f"{name} ({c.__name__})" for name, c in self.registry.items())
        raise TypeError(f"{type(self).__name__} is the base of the {self.family} configs, one per kind; "
                        f"build one of those: {kinds}")

    def to_dict(self) -> dict:
        """``{"kind": ..., own keys}`` (JSON-ready once tuples are written as lists)."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "ComponentConfig":
        """The config ``d`` describes (as :meth:`to_dict` writes it); its ``kind`` picks the class."""
        d = dict(d)
        kind = d.pop("kind", cls.__dict__.get("kind"))
        target = cls.registry.get(kind)
        if target is None:
            raise ValueError(f"unknown {cls.family} kind {kind!r}; expected one of {', '.join(cls.registry)}")
        if not issubclass(target, cls):
            raise ValueError(f"{cls.__name__} reads {cls.kind!r} configs, not {kind!r}")
        own = [f.name for f in dataclasses.fields(target)]
        unknown = sorted(set(d) - set(own))
        if unknown:
            raise ValueError(f"{cls.family} {kind!r} has no key {', '.join(map(repr, unknown))}; "
                             f"its keys are {', '.join(own) or 'none'}")
        return target(**d)


class EncodingConfig(ComponentConfig):
    """Base of the encoding configs (:mod:`inrkit.encodings`), one dataclass per kind, each with
    ``build(in_dim) -> Encoding``; ``EncodingConfig.from_dict(d)`` reads any of them.

    Examples:
        >>> from inrkit.encodings import HashGridConfig
        >>> EncodingConfig.from_dict({"kind": "hashgrid", "n_levels": 4, "finest_resolution": 64})
        HashGridConfig(n_levels=4, n_features=2, log2_hashmap_size=19, base_resolution=16, finest_resolution=64, seed=0)
    """

    family = "encoding"
    registry = {}

    def build(self, in_dim: int):
        """The encoding this config describes (every registered kind defines it)."""


class NetworkConfig(ComponentConfig):
    """Base of the network configs (:mod:`inrkit.networks`), one dataclass per kind, each with
    ``build(in_dim, out_dim) -> nn.Module``; ``NetworkConfig.from_dict(d)`` reads any of them.

    Examples:
        >>> from inrkit.networks import MLPConfig
        >>> NetworkConfig.from_dict({"kind": "mlp", "width": 64, "depth": 2}).build(2, 3).out.out_features
        3
    """

    family = "network"
    registry = {}

    def build(self, in_dim: int, out_dim: int):
        """The network this config describes (every registered kind defines it)."""
