"""Many fields: datasets of signals fitted as one batched model (fieldsets), and priors learned over them."""
from .batched import batched_forward, build_field, stack_fields, unstack
from .datasets import DATASET_SAMPLES, Dataset, load_dataset
from .fieldset import FieldSet, is_fieldset, load_fieldset, save_fieldset
from .fit_many import fit_many

__all__ = ["DATASET_SAMPLES", "Dataset", "FieldSet", "batched_forward", "build_field", "fit_many", "is_fieldset",
           "load_dataset", "load_fieldset", "save_fieldset", "stack_fields", "unstack"]
