"""Signals: turn data into coordinates and observations, and fields back into data."""
from .image import ImageSignal, SAMPLES, load_image, save_image

__all__ = ["ImageSignal", "SAMPLES", "load_image", "save_image"]
