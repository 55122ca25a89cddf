"""On-policy preference pairs: sample K answers per prompt from the model, score them with a
gold rule, keep best vs worst when they differ by at least `min_gap`.

Every prompt that yields no pair is counted by reason (`all_equal`: scores within the gap;
`empty`: the best or worst answer is empty; `repeated`: best and worst are the same text),
so a domain whose rule the model cannot vary shows up as such instead of as a short file.
Generated pairs are cached as JSON keyed by the model's weights hash, the domain and the
sampling settings: a rerun reads the cache, a changed model or setting regenerates.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# (prompts, seed) -> K answers per prompt; a sampler may count the answers it cut at its token
# limit in a `cut` attribute, which the report carries
Sampler = Callable[[list[str], int], list[list[str]]]


@dataclass
class PairReport:
    prompts: int = 0
    pairs: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    revised: int = 0  # pairs whose chosen answer is a programmatic revision of a sample
    unscored: int = 0  # answers the rule raised on (left out of pairing)
    hit_token_limit: int = 0  # answers cut at max_new_tokens (the sampler counts them)

    def summary(self) -> str:
        why = ", ".join(f"{n} {r}" for r, n in sorted(self.dropped.items())) or "none dropped"
        extra = "".join(f", {n} {what}" for n, what in ((self.revised, "revised"), (self.unscored, "answers unscored"),
                                                         (self.hit_token_limit, "answers cut at the token limit"))
                        if n)
        return f"{self.pairs} pairs from {self.prompts} prompts{extra} ({why})"


def _safe(rule: Callable[[str], float], answer: str) -> float | None:
    """The rule's score, or None when the rule raises on this answer."""
    try:
        return float(rule(answer))
    except Exception:  # noqa: BLE001 - a gold rule's bug on one answer must not end a build
        return None


def best_vs_worst(prompt: str, answers: list[str], rule: Callable[[str], float], min_gap: float,
                  revise: Callable[[str], str] | None = None, degrade: Callable[[str], str] | None = None
                  ) -> tuple[dict[str, Any] | None, str | None]:
    """The pair row, or None and the reason no pair can be made from these answers.

    With `revise` (the rule applied to an answer by a program), samples that never show the
    behaviour still make a pair: the worst answer revised vs the worst answer, when the revision
    gains at least `min_gap`. With `degrade` (the rule broken by a program), samples that all
    follow the rule make the pair best vs best degraded. Such rows are marked `revised`."""
    scored = sorted(((score, i, a) for i, a in enumerate(answers) if (score := _safe(rule, a)) is not None),
                    key=lambda t: (-t[0], t[1]))
    if not scored:
        return None, "unscored"
    (best_score, _, best), (worst_score, _, worst) = scored[0], scored[-1]
    if best_score - worst_score < min_gap and revise is not None and worst.strip():
        edited = revise(worst)
        if rule(edited) - worst_score >= min_gap:
            return {"prompt": prompt, "chosen": edited, "rejected": worst, "chosen_score": rule(edited),
                    "rejected_score": worst_score, "revised": True}, None
    if best_score - worst_score < min_gap and degrade is not None and best.strip():
        edited = degrade(best)
        if best_score - rule(edited) >= min_gap:
            return {"prompt": prompt, "chosen": best, "rejected": edited, "chosen_score": best_score,
                    "rejected_score": rule(edited), "revised": True}, None
    if best_score - worst_score < min_gap:
        return None, "all_equal"
    if not best.strip() or not worst.strip():
        return None, "empty"
    if best.strip() == worst.strip():
        return None, "repeated"
    return {"prompt": prompt, "chosen": best, "rejected": worst, "chosen_score": best_score,
            "rejected_score": worst_score}, None


def build_pairs(prompts: list[str], sample: Sampler, rule: Callable[[str], float], *, min_gap: float = 0.25,
                seed: int = 0, revise: Callable[[str], str] | None = None,
                degrade: Callable[[str], str] | None = None) -> tuple[list[dict[str, Any]], PairReport]:
    report = PairReport(prompts=len(prompts))
    rows = []
    for prompt, answers in zip(prompts, sample(prompts, seed), strict=True):
        report.unscored += sum(_safe(rule, a) is None for a in answers)
        row, reason = best_vs_worst(prompt, answers, rule, min_gap, revise, degrade)
        if row is None:
            report.dropped[str(reason)] += 1
        else:
            rows.append(row)
    report.pairs = len(rows)
    report.revised = sum(bool(r.get("revised")) for r in rows)
    report.hit_token_limit = getattr(sample, "cut", 0)
    return rows, report


class NoPairsError(ValueError):
    """A domain whose samples never differ enough to make one pair."""


def require_pairs(domain: str, report: PairReport) -> None:
    if report.pairs == 0:
        raise NoPairsError(f"domain {domain!r}: no pairs from {report.prompts} prompts ({report.summary()}); "
                           f"sample more answers per prompt (k) or at a higher temperature, lower min_gap, or give "
                           f"the domain a revise/degrade edit")


def cache_key(model_hash: str, domain: str, settings: dict[str, Any]) -> str:
    payload = json.dumps({"model": model_hash, "domain": domain, **settings}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def cached_pairs(cache_dir: Path, key: str, build: Callable[[], tuple[list[dict[str, Any]], PairReport]]
                 ) -> tuple[list[dict[str, Any]], PairReport]:
    """Read the pairs stored under `key`, or build and store them (written atomically)."""
    from lit_align.io import atomic_write_json

    path = cache_dir / f"{key}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        stored = data["report"]
        return data["rows"], PairReport(stored["prompts"], stored["pairs"], Counter(stored["dropped"]),
                                        stored.get("revised", 0), stored.get("unscored", 0),
                                        stored.get("hit_token_limit", 0))
    rows, report = build()
    atomic_write_json(path, {"rows": rows, "report": asdict(report) | {"dropped": dict(report.dropped)}})
    return rows, report


def weights_hash(model: Any) -> str:
    """A short hash of the trainable and frozen weights (identifies the model that sampled)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        # the first 1024 values of each tensor are enough to tell models apart; converting only
        # those keeps the hash from copying every weight
        digest.update(tensor.detach().flatten()[:1024].float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]

