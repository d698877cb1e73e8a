"""Many fields: datasets of signals fitted as one batched model (fieldsets), and priors learned over them:
meta-learned initialisations (:mod:`.meta`) and functa, a shared network with a latent per signal (:mod:`.functa`)."""
from .batched import batched_forward, build_field, stack_fields, unstack
from .datasets import DATASET_SAMPLES, Dataset, load_dataset
from .fieldset import FieldSet, is_fieldset, load_fieldset, save_fieldset
from .fit_many import fit_many
from .functa import FunctaConfig, ModulatedSiren, encode, interpolate, load_functa, train_functa
from .meta import MetaConfig, adapt, load_meta_init, meta_train, psnr_after

__all__ = ["DATASET_SAMPLES", "Dataset", "FieldSet", "FunctaConfig", "MetaConfig", "ModulatedSiren", "adapt",
           "batched_forward", "build_field", "encode", "fit_many", "interpolate", "is_fieldset", "load_dataset",
           "load_fieldset", "load_functa", "load_meta_init", "meta_train", "psnr_after", "save_fieldset",
           "stack_fields", "train_functa", "unstack"]
