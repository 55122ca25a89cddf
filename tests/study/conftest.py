"""A tiny two-task study: two preference domains of 16 pairs, a 1-layer model, 3 steps a task."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import write_jsonl

WORDS = ["cats", "dogs", "sun", "rain", "tea", "bread", "snow", "wind"]


def _pairs(n: int, good: str, bad: str) -> list[dict[str, str]]:
    return [{"prompt": f"Question {i} about {WORDS[i % 8]}?", "chosen": f"{good} {WORDS[i % 8]}.",
             "rejected": f"{bad} {WORDS[i % 8]}."} for i in range(n)]


def make_tiny_base(root):
    """The base run config (and its data) under `root`; returns the config's path."""
    data = root / "data"
    sequence = []
    for name, good, bad in (("kind", "Kindly, it is", "No, it is"), ("color", "Blue and green", "Red and grey")):
        write_jsonl(data / f"{name}_train.jsonl", _pairs(16, good, bad))
        write_jsonl(data / f"{name}_eval.jsonl", _pairs(8, good, bad))
        sequence.append({"name": name, "method": {"class_path": "dpo"},
                         "data": {"train": {"path": "json", "data_files": str(data / f"{name}_train.jsonl")},
                                  "eval": {"path": "json", "data_files": str(data / f"{name}_eval.jsonl")},
                                  "batch_size": 4, "max_length": 48, "max_prompt_length": 24}})
    base = {"seed": 0, "output_dir": "replaced-per-run", "export": "none", "tracking": {"backend": "none"},
            "model": {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2}},
            "trainer": {"max_steps": 3, "accelerator": "cpu", "enable_progress_bar": False},
            "evaluation": {"plots": False}, "sequence": sequence}
    path = root / "base.yaml"
    path.write_text(yaml.safe_dump(base))
    return path


@pytest.fixture
def tiny_base(tmp_path):
    return make_tiny_base(tmp_path)


def study_dict(base, out, **changes) -> dict:
    study = {
        "name": "tiny",
        "base": str(base),
        "output_dir": str(out),
        "arms": {"sequential": [], "replay": ["memory.per_task=0.5", "memory.replay_ratio=0.25"]},
        "seeds": [0, 1],
        "metrics": ["average_score", "bwt", "plasticity"],
        "verdicts": [
            {"name": "F1", "claim": "sequential DPO forgets",
             "checks": [{"rule": "threshold", "args": {"arm": "sequential", "metric": "bwt", "below": -0.05}}]},
            {"name": "replay_helps", "claim": "replay keeps more than sequential, paired by order and seed",
             "checks": [{"rule": "paired_difference",
                         "args": {"arm": "replay", "baseline": "sequential", "metric": "bwt"}}]},
        ],
    }
    study.update(changes)
    return study


def write_study(tmp_path, study: dict, name: str = "study.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path
