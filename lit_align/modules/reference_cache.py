"""Reference log-probs cached on disk (`method.init_args.reference_cache: DIR`), so a task whose
reference pass was already computed does not compute it again: a resumed run's interrupted
task, a rerun of the same config, and the runs of a study that share a task prefix (every arm
of the real suite starts from the same model on the same first task). Users of TRL, NeMo-RL
and LLaMA-Factory ask for this (TRL #3985); none of them keys it by the weights.

An entry is keyed by everything its numbers depend on: the token ids of every pair (the data
and the tokenizer's output), the weights of the model that computes them (a hash of every
parameter: the policy version, whatever its lineage), whether the adapter is disabled, and the
settings (length-averaged or summed, log-prob path, batch size: padding changes float sums).
Change any of them and the key changes. A damaged entry is rebuilt with a warning, never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch

from lit_align.io import atomic_write_json

log = logging.getLogger(__name__)
PAIR_COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")
FORMAT = 1


def weights_fingerprint(model: Any) -> str:
    """A hash of every parameter's name, shape, dtype and bytes: the exact weights, not their name."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(model.state_dict().items()):
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(data.shape)}:{data.dtype}".encode())
        digest.update(data.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def pairs_fingerprint(dataset: Any) -> str:
    """A hash of the pairs' token ids, in order (what the reference pass reads)."""
    digest = hashlib.blake2b(digest_size=16)
    for column in PAIR_COLUMNS:
        values = dataset[column]  # a list, or a datasets Column (iterable of lists)
        digest.update(json.dumps(values if isinstance(values, list) else list(values), separators=(",", ":")).encode())
    return digest.hexdigest()


def cache_key(weights: str, pairs: str, settings: dict[str, Any]) -> str:
    text = json.dumps({"format": FORMAT, "weights": weights, "pairs": pairs, "settings": settings}, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class ReferenceCache:
    """A directory of `<key>.json` entries, each `{"chosen": [...], "rejected": [...]}`; hits and
    misses are counted for the run's timing notes."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    def load(self, key: str, rows: int) -> tuple[list[float], list[float]] | None:
        path = self.directory / f"{key}.json"
        if not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text())
            chosen, rejected = entry["chosen"], entry["rejected"]
            if len(chosen) != rows or len(rejected) != rows or not all(
                    isinstance(v, float) for v in chosen + rejected):
                raise ValueError(f"{len(chosen)}/{len(rejected)} values for {rows} rows")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("reference cache: %s is damaged (%s); recomputing it", path, exc)
            return None
        return chosen, rejected

    def save(self, key: str, chosen: list[float], rejected: list[float]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.directory / f"{key}.json", {"chosen": chosen, "rejected": rejected}, indent=None)

    def columns(self, weights: str, dataset: Any, settings: dict[str, Any], compute: Any
                ) -> tuple[list[float], list[float]]:
        """The cached columns of `dataset` under the model whose `weights_fingerprint` is `weights`
        (hashed once per reference pass by the caller, not once per split), or `compute()` stored
        for next time."""
        key = cache_key(weights, pairs_fingerprint(dataset), settings)
        found = self.load(key, len(dataset))
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        chosen, rejected = compute()
        self.save(key, chosen, rejected)
        return chosen, rejected
