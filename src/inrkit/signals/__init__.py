"""Signals: turn data into coordinates and observations, and fields back into data."""
from .image import ImageSignal, SAMPLES, load_image, save_image

__all__ = ["ImageSignal", "SAMPLES", "load_image", "save_image"]
from .audio import AudioSignal, load_audio  # noqa: E402
from .poisson import PoissonSignal, load_poisson  # noqa: E402
from .video import VideoSignal, load_video  # noqa: E402

__all__ += ["AudioSignal", "load_audio", "PoissonSignal", "load_poisson", "VideoSignal", "load_video"]

from .ct import CTSignal, load_ct  # noqa: E402
from .mri import MRISignal, load_mri  # noqa: E402
from .volume import VolumeSignal, load_volume  # noqa: E402

__all__ += ["CTSignal", "MRISignal", "VolumeSignal", "load_ct", "load_mri", "load_volume"]
