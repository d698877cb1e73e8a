"""inrkit: implicit neural representations (neural fields) on PyTorch.

>>> import inrkit
>>> signal = inrkit.load_image("sample:camera", size=(256, 256))
>>> preset = inrkit.get_preset("ngp")
>>> field = inrkit.make_field(preset.field, signal)
>>> result = inrkit.fit(field, signal, inrkit.FitConfig(steps=300), preset.optim)   # doctest: +SKIP
"""
__version__ = "0.5.0"

from .checkpoint import load, load_meta, save_checkpoint
from .encodings import (
    ENCODINGS,
    BasicConfig,
    BasicFourier,
    Encoding,
    EncodingConfig,
    FFNPositional,
    FFNPositionalConfig,
    GaussianFourier,
    GaussianFourierConfig,
    HashGrid,
    HashGridConfig,
    Identity,
    IdentityConfig,
    NeRFPositional,
    PositionalConfig,
    SHConfig,
    SphericalHarmonics,
)
from .errors import InrkitError
from .fields import Field, FieldConfig
from .grids import evaluate_grid, evaluate_points, grid_coordinates
from .metrics import psnr, ssim
from .networks import MLP, Bacon, Finer, FourierNet, GaborNet, Gauss, NetworkConfig, SineLayer, Siren, Wire
from .networks import (NETWORKS, BaconConfig, FinerConfig, FourierNetConfig, GaborNetConfig, GaussConfig, MLPConfig,
                       SirenConfig, WireConfig)
from .presets import ALIASES, PRESETS, Preset, aliases, get_preset, resolve_preset
from .signals.image import SAMPLES, ImageSignal, load_image, render_image, save_image
from .train import FitConfig, FitResult, OptimConfig, fit, make_field

# Radiance fields (NeRF)
from . import nerf
from .encodings import TensorVM, VMConfig
from .fields import RadianceField, RadianceFieldConfig
from .presets import NerfPreset, get_nerf_preset
from .signals.nerf import NerfRenderConfig, NerfSignal

__all__ = [
    "__version__",
    "ALIASES",
    "ENCODINGS",
    "NETWORKS",
    "Bacon",
    "BaconConfig",
    "BasicConfig",
    "BasicFourier",
    "Encoding",
    "EncodingConfig",
    "FFNPositional",
    "FFNPositionalConfig",
    "Field",
    "FieldConfig",
    "Finer",
    "FinerConfig",
    "FitConfig",
    "FitResult",
    "FourierNet",
    "FourierNetConfig",
    "GaborNet",
    "GaborNetConfig",
    "Gauss",
    "GaussConfig",
    "GaussianFourier",
    "GaussianFourierConfig",
    "HashGrid",
    "HashGridConfig",
    "Identity",
    "IdentityConfig",
    "ImageSignal",
    "InrkitError",
    "MLP",
    "MLPConfig",
    "NeRFPositional",
    "NetworkConfig",
    "OptimConfig",
    "PRESETS",
    "PositionalConfig",
    "Preset",
    "SAMPLES",
    "SHConfig",
    "SineLayer",
    "Siren",
    "SirenConfig",
    "SphericalHarmonics",
    "Wire",
    "WireConfig",
    "aliases",
    "evaluate_grid",
    "evaluate_points",
    "fit",
    "get_preset",
    "resolve_preset",
    "grid_coordinates",
    "load",
    "load_image",
    "load_meta",
    "make_field",
    "psnr",
    "render_image",
    "save_checkpoint",
    "save_image",
    "ssim",
    # radiance fields
    "nerf",
    "NerfPreset",
    "NerfRenderConfig",
    "NerfSignal",
    "RadianceField",
    "RadianceFieldConfig",
    "TensorVM",
    "VMConfig",
    "get_nerf_preset",
]

# Shapes: signed-distance and occupancy fields, meshes in and out.
from .meshing import extract_mesh  # noqa: E402
from .shape_metrics import surface_metrics  # noqa: E402
from .signals.shape import SHAPES, ShapeData, ShapeSignal, load_shape, render_shape, save_mesh  # noqa: E402

__all__ += [
    "SHAPES",
    "ShapeData",
    "ShapeSignal",
    "extract_mesh",
    "load_shape",
    "render_shape",
    "save_mesh",
    "surface_metrics",
]

# Signals beyond images (audio, video, Poisson) and differential operators.
from . import diffops  # noqa: E402
from .signals.audio import AudioSignal, load_audio  # noqa: E402
from .signals.poisson import PoissonSignal, load_poisson  # noqa: E402
from .signals.video import VideoSignal, load_video  # noqa: E402

__all__ += ["AudioSignal", "PoissonSignal", "VideoSignal", "diffops", "load_audio", "load_poisson", "load_video"]

# Volumes, sparse-view CT and undersampled MRI.
from .signals.ct import CTSignal, load_ct  # noqa: E402
from .signals.mri import MRISignal, load_mri  # noqa: E402
from .signals.volume import VolumeSignal, load_volume  # noqa: E402

__all__ += ["CTSignal", "MRISignal", "VolumeSignal", "load_ct", "load_mri", "load_volume"]

# One call from a checkpoint to what `inrkit render`, `inrkit mesh` and `inrkit eval` write (outputs.py).
from .outputs import mesh, render, render_volume  # noqa: E402
from .signals.nerf import camera_path, evaluate_views, occupancy_grid, render_camera_path, render_view  # noqa: E402
from .signals.shape import occupancy_probability, render_shape_orbit, signed_distance  # noqa: E402

__all__ += ["camera_path", "evaluate_views", "mesh", "occupancy_grid", "occupancy_probability", "render",
            "render_camera_path", "render_shape_orbit", "render_view", "render_volume", "signed_distance"]

from .fields import FieldCache  # noqa: E402
from .nerf.render import render_rays  # noqa: E402
from .outputs import write_render  # noqa: E402
from .signals import KINDS, Kind  # noqa: E402

__all__ += ["FieldCache", "KINDS", "Kind", "render_rays", "write_render"]
