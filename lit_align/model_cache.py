"""A cache of GGUF models turned into trainable float Hugging Face directories.

transformers dequantises a GGUF file in 20-40 s on 2 cores and the result refuses
`save_pretrained`. The first load therefore rebuilds the model from its config without the
quantisation marker, copies the dequantised weights in, and saves a normal safetensors
directory with the tokenizer (chat template included); later loads read that directory in
about a second.

An entry is keyed by the GGUF file's SHA-256, written into a temporary sibling and renamed
into place only when complete, so a killed first load never leaves half an entry. A
manifest records every file's size; an entry that fails the check (a truncated file, a
missing manifest) is rebuilt, never used.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from lit_align.errors import ConfigError

log = logging.getLogger(__name__)

CACHE_ENV = "LIT_ALIGN_MODEL_CACHE"
MANIFEST = "lit_align_cache.json"
FORMAT_VERSION = 1


def default_cache_root() -> Path:
    """`$LIT_ALIGN_MODEL_CACHE`, else `$XDG_CACHE_HOME/lit-align/models`, else `~/.cache/lit-align/models`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lit-align" / "models"


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def entry_problem(entry: Path) -> str | None:
    """Why a cache entry cannot be used, or None when it is complete."""
    manifest = entry / MANIFEST
    if not manifest.is_file():
        return "no manifest (an interrupted or foreign write)"
    try:
        recorded = json.loads(manifest.read_text())
        files: dict[str, int] = recorded["files"]
    except (ValueError, KeyError, TypeError):
        return "unreadable manifest"
    if recorded.get("format") != FORMAT_VERSION:
        return f"cache format {recorded.get('format')} (this version writes {FORMAT_VERSION})"
    for name, size in files.items():
        path = entry / name
        if not path.is_file() or path.stat().st_size != size:
            return f"{name} is missing or has the wrong size"
    return _safetensors_problem(entry)


def _safetensors_problem(entry: Path) -> str | None:
    from safetensors import safe_open

    for path in sorted(entry.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt") as handle:
                handle.keys()
        except Exception as exc:  # safetensors raises its own error types for every kind of damage
            return f"{path.name} does not open ({exc})"
    return None


def _entry(gguf_path: Path, cache_root: Path) -> tuple[Path, str]:
    sha = file_sha256(gguf_path)
    return cache_root / f"{gguf_path.stem}-{sha[:16]}", sha


def existing_entry(gguf_path: Path, cache_root: Path) -> Path | None:
    """The complete cache directory of `gguf_path` when there is one; never writes."""
    entry, _ = _entry(gguf_path, cache_root)
    return entry if entry.is_dir() and entry_problem(entry) is None else None


def location_problem(cache_root: Path) -> str | None:
    """Why entries cannot be written under `cache_root` (for `validate`: it builds nothing), or None."""
    parent = cache_root
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"model cache {cache_root} cannot be created ({parent} is a file)"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"model cache {cache_root} is not writable ({parent})"
    return None


def cached_model_dir(gguf_path: Path, cache_root: Path) -> Path:
    """The float Hugging Face directory of `gguf_path`, materialising it on the first call."""
    entry, sha = _entry(gguf_path, cache_root)
    if entry.exists():
        problem = entry_problem(entry)
        if problem is None:
            return entry
        log.warning("model cache %s is damaged (%s); rebuilding it", entry, problem)
        _discard(entry, cache_root)
    _ensure_writable(cache_root)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=cache_root))
    staging.chmod(0o755)  # mkdtemp makes it private; the entry is shared like any cache
    try:
        log.warning("dequantising %s into the model cache %s (once; later runs read the cache)",
                    gguf_path.name, entry)
        _materialise_keeping_rng(gguf_path, staging, sha)
        try:
            os.rename(staging, entry)
        except OSError:  # another process finished first: its entry is as good as ours
            if entry_problem(entry) is not None:
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return entry


def _ensure_writable(cache_root: Path) -> None:
    fix = f"set model.init_args.cache_dir or ${CACHE_ENV} to a writable directory"
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"model cache {cache_root} cannot be created ({exc.strerror}); {fix}") from exc
    if not os.access(cache_root, os.W_OK | os.X_OK):
        raise ConfigError(f"model cache {cache_root} is not writable; {fix}")


def _discard(entry: Path, cache_root: Path) -> None:
    """Remove a damaged entry; only ever a direct child of the cache root that we name."""
    if entry.resolve().parent != cache_root.resolve():
        raise ConfigError(f"refusing to remove {entry}: it is not inside the model cache {cache_root}")
    shutil.rmtree(entry)


def _materialise_keeping_rng(gguf_path: Path, out: Path, sha: str) -> None:
    """Materialise without touching the global RNG: building the model from its config draws
    random initial weights, and a run that built the cache would otherwise start its LoRA
    adapters (drawn after the model) from other numbers than a run that found it warm."""
    import torch

    with torch.random.fork_rng(devices=[]):
        _materialise(gguf_path, out, sha)


def _materialise(gguf_path: Path, out: Path, sha: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = copy.deepcopy(quantised.config)  # the config read with the weights: no second GGUF parse
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights we save are plain floats
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict())
    model.tie_weights()
    del quantised
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    files = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    manifest = {"format": FORMAT_VERSION, "gguf": name, "gguf_sha256": sha, "files": files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
