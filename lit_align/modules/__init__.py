"""Thin LightningModules: they wire model, reference, optimiser and logging, and call
the pure losses. `training_step`/`validation_step` live once, in `base.py`."""
