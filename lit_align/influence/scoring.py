"""Influence of N training rows on M query rows, in batches, with factors and gradients cached.

score(z, q) = g_q^T H^-1 g_z with g = the gradient of a row's measurement (its summed NLL,
see `gradients`). Upweighting z by eps moves the query loss by -eps * score: a positive
score means training on z made the query response *more* likely, i.e. z contributed to
it; a negative score means z counteracts it.

Work is arranged as influence toolkits on LLMs do it: the few queries are preconditioned
once (H^-1 g_q), then each training batch costs one forward/backward and a matrix product.
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

from lit_align.config.binding import Range
from lit_align.influence.gradients import Measurement, batch_gradients, flatten
from lit_align.influence.layers import TrackedLayer, select_layers
from lit_align.influence.preconditioners import Preconditioner, PreconditionerName, make_preconditioner
from lit_align.influence.projection import KroneckerProjector

log = logging.getLogger(__name__)
Batches = Callable[[], Iterable[dict[str, torch.Tensor]]]  # a fresh pass over the rows each call


@dataclass
class InfluenceSettings:
    """`params`: "lora" or fnmatch patterns over linear-layer names; `projection_dim`: per-side
    size of the random projection (None: exact gradients); `damping`: times the mean eigenvalue."""

    params: list[str] | str = "lora"
    preconditioner: PreconditionerName = "ekfac"
    damping: Annotated[float, Range(gt=0)] = 0.1
    projection_dim: Annotated[int, Range(gt=0)] | None = None
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

    def _cache_path(self, what: str, data_key: str, extra: dict[str, Any]) -> Path | None:
        if self.cache_dir is None:
            return None
        key = json.dumps({"model": model_fingerprint(self.model, self.layers), "data": data_key, **extra},
                         sort_keys=True)
        return self.cache_dir / f"{what}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"

    def fit(self, train: Batches, measurement: Measurement, data_key: str) -> Preconditioner:
        """Fit (or load) the curvature approximation on the training rows."""
        s = self.settings
        shapes = {layer.name: self.projector.shape(layer) for layer in self.layers}
        self.preconditioner = make_preconditioner(s.preconditioner, self.layers, s.damping, shapes)
        path = self._cache_path("factors", data_key, {"preconditioner": s.preconditioner, "params": s.params,
                                                      "measurement": measurement, "projection": s.projection_dim,
                                                      "seed": s.seed})
        if path is not None and path.is_file():
            self.preconditioner.load_state_dict(torch.load(path, weights_only=True))
            self.cache_hits.append(path.name)
            return self.preconditioner
        for pass_index in range(self.preconditioner.passes):
            for batch in train():
                self.preconditioner.accumulate(pass_index, self._gradients(batch, measurement))
            self.preconditioner.finish_pass(pass_index)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(self.preconditioner.state_dict(), path)
        return self.preconditioner

    def _gradients(self, batch: dict[str, torch.Tensor], measurement: Measurement) -> Any:
        return batch_gradients(self.model, self.layers, batch, measurement, self.projector)

    def query_vectors(self, queries: Batches, measurement: Measurement = "sft") -> torch.Tensor:
        """`(M, D)`: H^-1 g_q (in the projected space when projecting)."""
        if self.preconditioner is None:
            raise RuntimeError("InfluenceScorer.fit must run before query_vectors")
        out = [flatten(self.preconditioner.apply(self._gradients(b, measurement).grads), self.layers)
               for b in queries()]
        return torch.cat(out)

    def train_vectors(self, train: Batches, measurement: Measurement, data_key: str) -> torch.Tensor:
        """`(N, D)`: g_z (projected when projecting); cached (the costly part of re-scoring new queries)."""
        path = self._cache_path("train", data_key, {"params": self.settings.params, "measurement": measurement,
                                                    "projection": self.settings.projection_dim,
                                                    "seed": self.settings.seed})
        if path is not None and path.is_file():
            self.cache_hits.append(path.name)
            return torch.load(path, weights_only=True)
        vectors = torch.cat([flatten(self._gradients(b, measurement).grads, self.layers).cpu() for b in train()])
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(vectors, path)
        return vectors

    def score(self, train: Batches, queries: Batches, *, train_measurement: Measurement, data_key: str,
              query_measurement: Measurement = "sft") -> torch.Tensor:
        """`(N, M)` influence of every training row on every query row."""
        self.fit(train, train_measurement, data_key)
        q = self.query_vectors(queries, query_measurement).cpu()
        t = self.train_vectors(train, train_measurement, data_key)
        return t @ q.T

    def describe(self) -> dict[str, Any]:
        return {**asdict(self.settings), "layers": len(self.layers), "num_params": self.num_params,
                "projected_dim": self.projector.output_dim, "cache_hits": list(self.cache_hits)}
