"""`lit-align feedback build|eval`: one config file describes a feedback's data and how to judge it.

`build` makes in-scope, near-scope and out-of-scope prompts, has pi_0 (the model about to be
adapted) answer them, splits off held-out test prompts, revises the training answers and writes

    <output_dir>/train.jsonl   packed C3PO rows (record kind `feedback`)
    <output_dir>/test.jsonl    {scope, prompt, baseline} for evaluation
    <output_dir>/report.json   sizes, what was left out by reason, and the config's hash

A second `build` with the same config reuses the files (LLM calls cost money); `--force` rebuilds.
`eval` answers the test prompts with an adapted model and scores them with the config's judge.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.config.data import SourceConfig
from lit_align.errors import ConfigError, DataError
from lit_align.feedback.dataset import Answered, FeedbackGenerator, pack_feedback_rows
from lit_align.feedback.llm_generator import LLMFeedbackGenerator
from lit_align.generation import Sampling, policy_answerer
from lit_align.io import atomic_write_json, atomic_write_text
from lit_align.model_cache import file_sha256


@dataclass
class FeedbackDataConfig:
    """Paper sizes by default (960 prompts per scope, 20% held out, pi_0 sampled at T = 0.7)."""

    feedback: str
    generator: Annotated[ComponentSpec, ComponentOf("lit_align.feedback.dataset.FeedbackGenerator")]
    model: Annotated[ComponentSpec, ComponentOf("lit_align.models.ModelSpec")]  # pi_0
    output_dir: str
    out_of_scope: SourceConfig | None = None  # rows with a `prompt` column; None: the generator's own pool
    judge: Annotated[ComponentSpec, ComponentOf("lit_align.feedback.judges.FeedbackJudge")] | None = None
    n_in: Annotated[int, Range(gt=0)] = 960
    n_near: Annotated[int, Range(gt=0)] = 960
    n_out: Annotated[int, Range(gt=0)] = 960
    test_fraction: Annotated[float, Range(ge=0, lt=1)] = 0.2
    sampling: Sampling = field(default_factory=lambda: Sampling(max_new_tokens=256, temperature=0.7))
    # pi_0 answers each prompt as one user turn of its chat template (train the C3PO task with
    # data.chat_template: true to match); off: the prompt text as it is
    chat_template: bool = False
    seed: int = 0


def load_feedback_config(path: str, overrides: list[str] | None = None) -> tuple[FeedbackDataConfig, dict[str, Any]]:
    from lit_align.validation.config import load_typed_config

    return load_typed_config(path, FeedbackDataConfig, "feedback config", overrides)


def config_hash(raw: dict[str, Any]) -> str:
    """What the data depends on: everything but where it is written and how it is judged, with a
    local file named in the config counted by its bytes, not its path (the same pool read from
    another checkout reuses the build; an edited pool at the same path rebuilds it)."""
    relevant = {k: _by_content(v) for k, v in raw.items() if k not in ("output_dir", "judge")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _by_content(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _by_content(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_by_content(v) for v in value]
    if isinstance(value, str) and _is_local_file(value):
        return "sha256:" + file_sha256(Path(value))
    return value


def _is_local_file(value: str) -> bool:
    """Whether a config string names a file here; a feedback sentence too long to be a path is not one."""
    try:
        return bool(value) and Path(value).is_file()
    except OSError:  # e.g. ENAMETOOLONG
        return False


def _out_of_scope(cfg: FeedbackDataConfig, generator: FeedbackGenerator, claimed: set[str]) -> list[str]:
    """`n_out` distinct prompts that are neither in- nor near-scope prompts of this build."""
    wanted = cfg.n_out + len(claimed)
    if cfg.out_of_scope is None:
        pool = generator.out_of_scope_prompts(wanted, cfg.seed)
    else:
        from lit_align.data.sources import load_source

        rows = load_source(cfg.out_of_scope, "out_of_scope")
        if "prompt" not in rows.column_names:
            raise DataError(f"out_of_scope: no `prompt` column (columns: {', '.join(rows.column_names)}); "
                            "map the prompt field to `prompt` or use a `format`")
        pool = [p for p in rows["prompt"] if isinstance(p, str) and p.strip()]
        random.Random(cfg.seed).shuffle(pool)
    return [p for p in dict.fromkeys(pool) if p not in claimed][: cfg.n_out]


def _split(prompts: list[str], fraction: float, seed: int, scope: str) -> tuple[list[str], list[str]]:
    shuffled = list(prompts)
    random.Random(f"{seed}-{scope}").shuffle(shuffled)
    n_test = round(len(shuffled) * fraction)
    return shuffled[n_test:], shuffled[:n_test]


def build_feedback_data(cfg: FeedbackDataConfig, raw: dict[str, Any], *, force: bool = False,
                        answer: Any = None) -> dict[str, Any]:
    """Write (or reuse) train.jsonl, test.jsonl and report.json; returns the report.

    `answer` replaces pi_0 (a function from prompts to answers), for callers that hold the model."""
    out = Path(cfg.output_dir)
    report_path, digest = out / "report.json", config_hash(raw)
    if report_path.is_file() and not force:
        report = json.loads(report_path.read_text())
        if report.get("config_hash") == digest:
            return report | {"cached": True}
    generator: FeedbackGenerator = cfg.generator.instantiate()
    policy = None
    if answer is None:
        policy = cfg.model.instantiate().build()
        answer = policy_answerer(policy, cfg.sampling, cfg.seed, chat_template=cfg.chat_template)
    if isinstance(generator, LLMFeedbackGenerator) and generator.reviser is None:  # the paper: pi_0 revises
        from lit_align.feedback.backends import PolicyChatBackend

        generator.use_pi0_reviser(PolicyChatBackend(policy or cfg.model.instantiate().build(), cfg.sampling))
    duplicates: Counter[str] = Counter()
    prompts: dict[str, list[str]] = {}
    for scope, n in (("in", cfg.n_in), ("near", cfg.n_near)):
        found = generator.prompts(cfg.feedback, scope, n, cfg.seed)
        prompts[scope] = list(dict.fromkeys(found))  # a test prompt is never also a training prompt
        duplicates[f"duplicate_{scope}_scope_prompt"] += len(found) - len(prompts[scope])
    prompts["out"] = _out_of_scope(cfg, generator, set(prompts["in"]) | set(prompts["near"]))
    shortfall = Counter({f"{s}_scope_shortfall": n - len(prompts[s])
                         for s, n in (("in", cfg.n_in), ("near", cfg.n_near), ("out", cfg.n_out))
                         if len(prompts[s]) < n})
    train: dict[str, Answered] = {}
    test_rows: list[dict[str, Any]] = []
    for scope, found in prompts.items():
        fit, held_out = _split(found, cfg.test_fraction, cfg.seed, scope)
        answers = answer(fit + held_out)
        train[scope] = list(zip(fit, answers[: len(fit)], strict=True))
        test_rows += [{"scope": scope, "prompt": p, "baseline": a}
                      for p, a in zip(held_out, answers[len(fit):], strict=True)]
    rows, dropped = pack_feedback_rows(generator, cfg.feedback, train["in"], train["near"], train["out"])
    atomic_write_text(out / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    atomic_write_text(out / "test.jsonl", "".join(json.dumps(r) + "\n" for r in test_rows))
    duplicates = +duplicates  # positive counts only
    report = {"feedback": cfg.feedback, "config_hash": digest, "train_rows": len(rows),
              "test_rows": dict(Counter(r["scope"] for r in test_rows)),
              "left_out": dict(sorted((dropped + duplicates + shortfall).items()))}
    if isinstance(generator, LLMFeedbackGenerator) and generator.reviser is not None:
        report["reviser"] = generator.reviser.describe()
    atomic_write_json(report_path, report)  # last: a build killed midway leaves no matching report
    return report | {"cached": False}


def read_test_rows(cfg: FeedbackDataConfig) -> list[dict[str, Any]]:
    path = Path(cfg.output_dir) / "test.jsonl"
    if not path.is_file():
        raise DataError(f"{path} not found; run `lit-align feedback build --config ...` first")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate_model(cfg: FeedbackDataConfig, model_dir: str | None, in_context: bool = False) -> dict[str, Any]:
    """S_in / S_out / S_overall of an exported model directory on the feedback's test prompts;
    `in_context`: the model (pi_0 when `model_dir` is None) with the feedback in its prompt, the
    paper's no-training baseline."""
    from lit_align.feedback.evaluation import evaluate_feedback
    from lit_align.models import HFModelSpec

    if cfg.judge is None:
        raise ConfigError("judge: set a judge to evaluate (rule_judge for the synthetic rules, llm_judge with a "
                          "backend for any feedback)")
    test_rows = read_test_rows(cfg)
    if model_dir is None:
        policy = cfg.model.instantiate().build()
    elif not (Path(model_dir) / "config.json").is_file():
        raise DataError(f"--model {model_dir}: not a model directory (no config.json); pass an exported model "
                        "(<output_dir>/tasks/<task>/model)")
    else:
        policy = HFModelSpec(name_or_path=model_dir).build()
    answer = policy_answerer(policy, cfg.sampling, cfg.seed, chat_template=cfg.chat_template,
                             system=cfg.feedback if in_context else None)
    return evaluate_feedback(cfg.feedback, test_rows, answer, cfg.judge.instantiate())
