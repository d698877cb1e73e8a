"""Many fields: datasets of signals fitted as one batched model (fieldsets), and priors learned over them."""
from .batched import batched_forward, build_field, stack_fields, unstack
from .datasets import DATASET_SAMPLES, Dataset, load_dataset

__all__ = ["DATASET_SAMPLES", "Dataset", "batched_forward", "build_field", "load_dataset", "stack_fields", "unstack"]
