"""Blind hand labels for a study's judges (target J1): a judge is a measuring instrument, so
before a verdict rests on it, a person labels a sample of the study's own answers without
seeing what the judge said, and the report states how often the two agree.

`lit-align study labels --config S.yaml --split D --n 48` writes, under `<output_dir>/labels/`:
- `D.blind.jsonl`: `id`, `prompt`, `answer` of answers drawn from trained models (never the
  untuned reference), half of them ones the rule credits and half ones it does not (both kinds
  of error show), shuffled; nothing of the judge's verdict;
- `D.labels.jsonl` (only when absent: human labels are never overwritten): one row per id with
  `follows` and `sound` left null, for the person to fill in: `sound` = the answer is language a
  person could have written (not repetition, gibberish or a broken script); `follows` = it is a
  sound answer that follows the domain's preference.

Once every row is labelled (commit the file first: labels before scores), `study report` adds
each judge's agreement with the labels and Cohen's kappa: the rule alone (score 1), the rule on
sound answers (what generation_sound scores), and the soundness check itself.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from lit_align.errors import UserError
from lit_align.io import atomic_write_text
from lit_align.study.stats import cohen_kappa

LABEL_FIELDS = ("follows", "sound")


def trained_answers(root: Path, run_dirs: list[Path], split: str) -> dict[str, dict[str, Any]]:
    """Every answer a trained model gave on `split`, by id (`<run dir>#<line>` of generations.jsonl)."""
    found: dict[str, dict[str, Any]] = {}
    for directory in run_dirs:
        path = directory / "generations.jsonl"
        if not path.is_file():
            continue
        for line_number, line in enumerate(path.read_text().splitlines()):
            row = json.loads(line)
            if row["split"] == split and row["after"] != "(reference)" and row.get("score") is not None:
                found[f"{directory.relative_to(root)}#{line_number}"] = row
    return found


def blind_sample(answers: dict[str, dict[str, Any]], n: int, seed: int = 0) -> list[str]:
    """`n` ids, half from answers the rule credits (score 1) and half from the rest (topped up from
    the other side when one is short), in a seeded shuffle."""
    rng = random.Random(seed)
    credited = sorted(i for i, a in answers.items() if a["score"] >= 1.0)
    other = sorted(i for i, a in answers.items() if a["score"] < 1.0)
    rng.shuffle(credited)
    rng.shuffle(other)
    take = min(len(credited), max(n // 2, n - len(other)))
    chosen = credited[:take] + other[: n - take]
    rng.shuffle(chosen)
    return chosen


def write_blind(root: Path, run_dirs: list[Path], split: str, n: int, seed: int = 0) -> tuple[Path, Path]:
    answers = trained_answers(root, run_dirs, split)
    if len(answers) < n:
        raise UserError(f"--n {n}: the finished runs hold {len(answers)} trained-model answers on {split!r}; "
                        f"finish more runs or ask for fewer")
    ids = blind_sample(answers, n, seed)
    folder = root / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    blind = folder / f"{split}.blind.jsonl"
    atomic_write_text(blind, "".join(json.dumps({"id": i, "prompt": answers[i]["prompt"],
                                                 "answer": answers[i]["answer"]}) + "\n" for i in ids))
    labels = folder / f"{split}.labels.jsonl"
    if not labels.exists():
        atomic_write_text(labels, "".join(json.dumps({"id": i, "follows": None, "sound": None, "note": ""}) + "\n"
                                          for i in ids))
    return blind, labels


def _agreement(human: list[bool], judge: list[bool]) -> dict[str, Any]:
    agree = sum(h == j for h, j in zip(human, judge, strict=True))
    return {"n": len(human), "agree": agree, "rate": agree / len(human), "kappa": cohen_kappa(human, judge),
            "judge_yes_human_no": sum(j and not h for h, j in zip(human, judge, strict=True)),
            "judge_no_human_yes": sum(h and not j for h, j in zip(human, judge, strict=True))}


def judge_agreement(root: Path, split: str) -> dict[str, Any] | None:
    """Agreement of the split's judges with its hand labels; None without a labels file, and the
    count labelled so far while any row is still null (no partial agreement is reported)."""
    path = root / "labels" / f"{split}.labels.jsonl"
    if not path.is_file():
        return None
    labels = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    done = [r for r in labels if all(isinstance(r.get(f), bool) for f in LABEL_FIELDS)]
    if len(done) < len(labels):
        return {"labelled": len(done), "of": len(labels)}
    lines: dict[str, list[str]] = {}  # each run's generations.jsonl, read once for all its labels
    rows = []
    for label in labels:
        run, _, line = label["id"].partition("#")
        if run not in lines:
            lines[run] = (root / run / "generations.jsonl").read_text().splitlines()
        rows.append((label, json.loads(lines[run][int(line)])))
    follows = [label["follows"] for label, _ in rows]
    return {
        "labelled": len(rows), "of": len(rows),
        "rule": _agreement(follows, [a["score"] >= 1.0 for _, a in rows]),
        "rule_and_sound": _agreement(follows, [a["score"] >= 1.0 and a["sound"] for _, a in rows]),
        "soundness": _agreement([label["sound"] for label, _ in rows], [a["sound"] for _, a in rows]),
    }
