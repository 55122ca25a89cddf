"""Influence of N training rows on M query rows, in batches, with factors and gradients cached.

score(z, q) = g_q^T H^-1 g_z with g = the gradient of a row's measurement (its summed NLL,
see `gradients`). Upweighting z by eps moves the query loss by -eps * score: a positive
score means training on z made the query response *more* likely, i.e. z contributed to
it; a negative score means z counteracts it.

Work is arranged as influence toolkits on LLMs do it: the training rows' gradients are kept
from the last curvature-fitting pass (no extra pass), the few queries are preconditioned
once (H^-1 g_q), and the scores are one matrix product.
Fitted factors and (projected) training gradients are saved under `cache_dir`, keyed by
the model's weights, the rows and the settings, so new queries reuse them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import torch

from lit_align.binding import Range
from lit_align.influence.gradients import Measurement, batch_gradients, flatten
from lit_align.influence.layers import TrackedLayer, select_layers
from lit_align.influence.preconditioners import Preconditioner, PreconditionerName, make_preconditioner
from lit_align.influence.projection import KroneckerProjector

log = logging.getLogger(__name__)
Batches = Callable[[], Iterable[dict[str, torch.Tensor]]]  # a fresh pass over the rows each call


@dataclass
class InfluenceSettings:
    """`params`: "lora" or fnmatch patterns over linear-layer names; `projection_dim`: per-side
    size of the random projection (None: exact gradients); `damping`: times the mean eigenvalue;
    `cosine`: score by the cosine of g_z and H^-1 g_q instead of their inner product, so rows
    with large gradients (high loss, long answers) do not outrank rows that point the same way
    (with `identity` this is the gradient-cosine baseline)."""

    params: list[str] | str = "lora"
    preconditioner: PreconditionerName = "ekfac"
    damping: Annotated[float, Range(gt=0)] = 0.1
    projection_dim: Annotated[int, Range(gt=0)] | None = None
    cosine: bool = False
    seed: int = 0


def model_fingerprint(model: Any, layers: list[TrackedLayer]) -> str:
    """The tracked weights byte for byte, every other tensor by its sum (cheap on big models)."""
    digest = hashlib.sha256()
    for layer in layers:
        digest.update(layer.name.encode())
        digest.update(layer.module.weight.detach().float().cpu().numpy().tobytes())
    sums = [float(p.detach().double().sum()) for p in model.parameters()]
    digest.update(json.dumps(sums).encode())
    return digest.hexdigest()[:16]


def rows_fingerprint(columns: dict[str, list[Any]]) -> str:
    return hashlib.sha256(json.dumps(columns, sort_keys=True).encode()).hexdigest()[:16]


class InfluenceScorer:
    def __init__(self, model: Any, settings: InfluenceSettings, cache_dir: str | Path | None = None) -> None:
        self.model = model.eval()  # dropout off: a row's gradient must not depend on the pass
        self.settings = settings
        self.layers = select_layers(model, settings.params)
        self.projector = KroneckerProjector(self.layers, settings.projection_dim, settings.seed)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.preconditioner: Preconditioner | None = None
        self.cache_hits: list[str] = []

    @property
    def num_params(self) -> int:
        return sum(layer.numel for layer in self.layers)

    def _cache_path(self, what: str, key: dict[str, Any]) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return self.cache_dir / f"{what}-{digest}.pt"

    def _cache_keys(self, measurement: Measurement, data_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """What the factors and the training gradients depend on (the weights hashed once)."""
        s = self.settings
        shared = {"model": model_fingerprint(self.model, self.layers), "data": data_key, "params": s.params,
                  "measurement": measurement, "projection": s.projection_dim, "seed": s.seed}
        return shared | {"preconditioner": s.preconditioner}, shared

    def _load(self, path: Path | None) -> Any:
        if path is None or not path.is_file():
            return None
        self.cache_hits.append(path.name)
        return torch.load(path, weights_only=True)

    @staticmethod
    def _save(path: Path | None, value: Any) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(value, path)

    def _gradients(self, batch: dict[str, torch.Tensor], measurement: Measurement) -> Any:
        return batch_gradients(self.model, self.layers, batch, measurement, self.projector)

    def fit_and_collect(self, train: Batches, measurement: Measurement, data_key: str) -> torch.Tensor:
        """Fit (or load) the curvature and compute (or load) the training gradients `(N, D)`.

        Both need the training rows' gradients: the last fitting pass also keeps them, so
        identity scores in one pass over the rows, diagonal and K-FAC in one, EK-FAC in two."""
        s = self.settings
        factors_key, train_key = self._cache_keys(measurement, data_key)
        factors_path, train_path = self._cache_path("factors", factors_key), self._cache_path("train", train_key)
        shapes = {layer.name: self.projector.shape(layer) for layer in self.layers}
        self.preconditioner = make_preconditioner(s.preconditioner, self.layers, s.damping, shapes)
        state, vectors = self._load(factors_path), self._load(train_path)
        passes = 0 if state is not None else self.preconditioner.passes
        if state is not None:
            self.preconditioner.load_state_dict(state)
        collected: list[torch.Tensor] = []
        for pass_index in range(passes):
            for batch in train():
                grads = self._gradients(batch, measurement)
                self.preconditioner.accumulate(pass_index, grads)
                if vectors is None and pass_index == passes - 1:
                    collected.append(flatten(grads.grads, self.layers).cpu())
            self.preconditioner.finish_pass(pass_index)
        if state is None:
            self._save(factors_path, self.preconditioner.state_dict())
        if vectors is None:
            vectors = torch.cat(collected or [flatten(self._gradients(b, measurement).grads, self.layers).cpu()
                                              for b in train()])
            self._save(train_path, vectors)
        return vectors

    def query_vectors(self, queries: Batches, measurement: Measurement = "sft") -> torch.Tensor:
        """`(M, D)`: H^-1 g_q (in the projected space when projecting)."""
        if self.preconditioner is None:
            raise RuntimeError("InfluenceScorer.fit_and_collect must run before query_vectors")
        out = [flatten(self.preconditioner.apply(self._gradients(b, measurement).grads), self.layers)
               for b in queries()]
        return torch.cat(out)

    def score(self, train: Batches, queries: Batches, *, train_measurement: Measurement, data_key: str,
              query_measurement: Measurement = "sft") -> torch.Tensor:
        """`(N, M)` influence of every training row on every query row."""
        t = self.fit_and_collect(train, train_measurement, data_key)
        q = self.query_vectors(queries, query_measurement).cpu()
        if self.settings.cosine:
            t = torch.nn.functional.normalize(t, dim=1)
            q = torch.nn.functional.normalize(q, dim=1)
        return t @ q.T

    def describe(self) -> dict[str, Any]:
        return {**asdict(self.settings), "layers": len(self.layers), "num_params": self.num_params,
                "projected_dim": self.projector.output_dim, "cache_hits": list(self.cache_hits)}
