"""lit-align: continual alignment of language models on PyTorch Lightning.

The package root stays import-light on purpose: `lit-align --help` must not pay
for torch, transformers or mlflow.
"""

__version__ = "0.1.0"
