"""Tokenise rendered rows with prompt masking, truncation and an over-length policy.

Every rejected or truncated row is counted by reason in a `RowReport`: with
policy `error` the first bad row raises, naming dataset, row index and reason;
with `drop` the row is left out and the summary says how many and why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from lit_align.data.records import RENDERERS, BadRow, RecordKind, as_conversation, column_problem
from lit_align.errors import DataError

_BAD_ROW_FIX = "fix the row, or set data.bad_rows: drop to skip such rows with a count"
_OVER_LENGTH_FIX = (
    "raise data.max_length / lower data.max_prompt_length, or set data.over_length: truncate or drop"
)


@dataclass
class RowReport:
    where: str
    total: int = 0
    kept: int = 0
    truncated: int = 0  # rows whose responses lost tokens: training sees answers that stop early
    prompt_truncated: int = 0  # rows whose prompt lost its start, responses whole
    empty_prompts: int = 0  # allowed (unconditional preferences), but said: often a broken column
    dropped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        parts = [f"{self.where}: kept {self.kept}/{self.total} rows"]
        if self.truncated:
            parts.append(f"{self.truncated} lost response tokens")
        if self.prompt_truncated:
            parts.append(f"{self.prompt_truncated} prompts cut")
        if self.empty_prompts:
            parts.append(f"{self.empty_prompts} with an empty prompt")
        if self.dropped:
            parts.append("dropped " + ", ".join(f"{n} {r}" for r, n in sorted(self.dropped.items())))
        return "; ".join(parts)


@dataclass
class TokenizeSettings:
    max_length: int = 512
    max_prompt_length: int = 256
    over_length: Literal["truncate", "drop", "error"] = "truncate"
    bad_rows: Literal["error", "drop"] = "error"
    chat_template: bool = False  # plain-string rows go through the tokenizer's chat template


def truncation_warning(report: RowReport, max_length: int) -> str | None:
    """The line a user must see when answers were cut: the model learns endings it never wrote."""
    if not report.truncated:
        return None
    return (f"{report.where}: {report.truncated} of {report.total} rows lost response tokens to "
            f"max_length={max_length} (a chat template's system prompt counts too); raise data.max_length "
            f"or set data.over_length: drop")


def _fit(prompt: list[int], responses: list[list[int]], s: TokenizeSettings
         ) -> tuple[list[int], list[list[int]], bool, bool]:
    """Truncate prompt (keep its end) then responses (keep their start) to fit; also says
    whether the prompt and whether any response lost tokens.

    A prompt-only row (no responses) keeps at most `max_prompt_length` tokens, so
    generation has room."""
    if not responses:
        cut = len(prompt) > s.max_prompt_length
        return (prompt[len(prompt) - s.max_prompt_length :] if cut else prompt), responses, cut, False
    longest = max(len(r) for r in responses)
    if len(prompt) + longest <= s.max_length:
        return prompt, responses, False, False
    prompt_cut = len(prompt) > s.max_prompt_length
    if prompt_cut:
        prompt = prompt[len(prompt) - s.max_prompt_length :]
    room = s.max_length - len(prompt)
    return prompt, [r[:room] for r in responses], prompt_cut, longest > room


def tokenize_dataset(
    dataset: Any, kind: RecordKind, tokenizer: Any, settings: TokenizeSettings, where: str
) -> tuple[dict[str, list[Any]], RowReport]:
    """Columns `row`, `prompt_ids` and the kind's response columns (`RESPONSE_COLUMNS`;
    ranked rows add `scores`); response ids end with EOS unless a chat template ended them."""
    problem = column_problem(list(dataset.column_names), kind, where)
    if problem is not None:
        raise DataError(problem)
    if kind == "feedback":
        return _tokenize_feedback(dataset, tokenizer, settings, where)
    render = RENDERERS[kind]
    report = RowReport(where=where, total=len(dataset))
    rendered, rows = [], []
    for index, row in enumerate(dataset):
        try:
            rendered.append(render(as_conversation(row) if settings.chat_template else row, tokenizer))
            rows.append(index)
            report.empty_prompts += int(kind in ("preference", "ranked") and not rendered[-1].prompt.strip())
        except BadRow as bad:
            _reject(report, settings.bad_rows, index, bad, _BAD_ROW_FIX)
    out = _encode(rendered, rows, kind, tokenizer, settings, report)
    report.kept = len(out["row"])
    if report.kept == 0:
        raise DataError(f"{report.summary()}; no usable rows left")
    return out, report


def _reject(report: RowReport, policy: str, index: int, bad: BadRow, fix: str) -> None:
    if policy == "error":
        raise DataError(f"{report.where} row {index}: {bad.detail} [{bad.reason}]; {fix}")
    report.dropped[bad.reason] += 1


RESPONSE_COLUMNS: dict[str, tuple[str, ...]] = {
    "preference": ("chosen_ids", "rejected_ids"),
    "sft": ("completion_ids",),
    "ranked": ("response_ids",),  # one list of J token-id lists per row
    "prompt": (),
}


def _regroup(flat: list[list[int]], counts: list[int]) -> list[list[list[int]]]:
    out, at = [], 0
    for n in counts:
        out.append([list(x) for x in flat[at : at + n]])
        at += n
    return out


def _encode(rendered, rows, kind, tokenizer, settings, report) -> dict[str, list[Any]]:
    names = RESPONSE_COLUMNS[kind]
    out: dict[str, list[Any]] = {"row": [], "prompt_ids": [], **{n: [] for n in names}}
    if kind == "ranked":
        out["scores"] = []
    if not rendered:
        return out
    eos = tokenizer.eos_token_id
    prompts = tokenizer([r.prompt for r in rendered], add_special_tokens=False)["input_ids"]
    counts = [len(r.responses) for r in rendered]
    flat = [text for r in rendered for text in r.responses]
    encoded = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    for r, index, prompt, resp in zip(rendered, rows, prompts, _regroup(encoded, counts), strict=True):
        if not r.templated and eos is not None:
            resp = [x + [eos] for x in resp]
        prompt, resp, prompt_cut, response_cut = _fit(list(prompt), resp, settings)
        if (prompt_cut or response_cut) and settings.over_length != "truncate":
            too_long = BadRow("over_length", f"longer than max_length={settings.max_length} tokens")
            _reject(report, settings.over_length, index, too_long, _OVER_LENGTH_FIX)
            continue
        if any(len(x) == 0 for x in resp) or not prompt and not resp:
            no_room = BadRow("over_length", "the prompt leaves no room for the response")
            _reject(report, settings.over_length, index, no_room, _OVER_LENGTH_FIX)
            continue
        report.truncated += int(response_cut)
        report.prompt_truncated += int(prompt_cut and not response_cut)
        out["row"].append(index)
        out["prompt_ids"].append(prompt)
        if kind == "ranked":
            out["response_ids"].append(resp)
            out["scores"].append(r.extras["scores"])
        else:
            for name, ids in zip(names, resp, strict=True):
                out[name].append(ids)
    return out


FEEDBACK_PARTS = {"near": ("near_prompt", "near_completion"), "out": ("out_prompt", "out_completion")}


def _tokenize_feedback(dataset: Any, tokenizer: Any, settings: TokenizeSettings, where: str):
    """C3PO rows: the in-scope pair as preference data, the near- and out-of-scope examples as SFT
    data; a row is kept when all three parts are (the others' drops are counted as `partial_row`)."""
    import datasets

    pair, pair_report = tokenize_dataset(dataset.select_columns(["prompt", "chosen", "rejected"]), "preference",
                                         tokenizer, settings, where)
    parts, reports = {}, [pair_report]
    for name, (prompt, completion) in FEEDBACK_PARTS.items():
        sub = datasets.Dataset.from_dict({"prompt": dataset[prompt], "completion": dataset[completion]})
        parts[name], report = tokenize_dataset(sub, "sft", tokenizer, settings, f"{where}.{name}")
        reports.append(report)
    index = {name: {r: i for i, r in enumerate(cols["row"])} for name, cols in parts.items()}
    keep = [i for i, r in enumerate(pair["row"]) if all(r in index[n] for n in parts)]
    out = {k: [pair[k][i] for i in keep] for k in pair}
    for name, cols in parts.items():
        rows = [index[name][pair["row"][i]] for i in keep]
        out[f"{name}_prompt_ids"] = [cols["prompt_ids"][j] for j in rows]
        out[f"{name}_ids"] = [cols["completion_ids"][j] for j in rows]
    report = RowReport(where=where, total=len(dataset), kept=len(keep))
    report.truncated = sum(r.truncated for r in reports)
    report.prompt_truncated = sum(r.prompt_truncated for r in reports)
    report.empty_prompts = pair_report.empty_prompts
    for r in reports:
        report.dropped.update(r.dropped)
    dropped_somewhere = len(dataset) - len(keep) - sum(report.dropped.values())
    if dropped_somewhere > 0:
        report.dropped["partial_row"] += dropped_somewhere
    if not keep:
        raise DataError(f"{report.summary()}; no usable rows left")
    return out, report
