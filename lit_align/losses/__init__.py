"""Pure loss functions: tensors in, NamedTuples out; no modules, logging or devices."""
