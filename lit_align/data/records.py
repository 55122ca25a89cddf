"""Canonical records and the checks every row passes before tokenisation.

Accepted layouts (TRL's, unchanged):
- preference, standard: `prompt`, `chosen`, `rejected` as strings;
- preference, conversational: the same keys holding lists of `{role, content}`
  messages; without `prompt`, the messages shared by chosen and rejected are the
  prompt (TRL's implicit prompt);
- SFT: `prompt` + `completion` (strings or messages), `messages` (the last
  assistant message is the target), or `text` (plain language modelling);
- ranked: `prompt` + `responses` (J >= 2 strings or message lists) + `scores`
  (higher is better), or a preference pair read as J = 2 with scores [1, 0];
- prompt: `prompt` alone, for methods that sample and score their own responses;
- feedback (C3PO): an in-scope pair `prompt/chosen/rejected` packed with a near-scope and an
  out-of-scope example, `near_prompt/near_completion` and `out_prompt/out_completion`.

A row is either rendered to text (prompt text, response texts) or rejected with
a reason; the caller counts reasons and applies the bad-row policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

RecordKind = Literal["preference", "sft", "ranked", "prompt", "feedback"]
Messages = list[dict[str, Any]]

REQUIRED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    # any one alternative must be fully present
    "preference": (("prompt", "chosen", "rejected"), ("chosen", "rejected")),
    "sft": (("prompt", "completion"), ("messages",), ("text",)),
    "ranked": (("prompt", "responses", "scores"), ("prompt", "chosen", "rejected"), ("chosen", "rejected")),
    "prompt": (("prompt",),),
    "feedback": (("prompt", "chosen", "rejected", "near_prompt", "near_completion", "out_prompt", "out_completion"),),
}


class BadRow(Exception):
    """A row that cannot be used; `reason` is a short stable key for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Rendered:
    """A row as text: one prompt and its responses: one (SFT), two (chosen, rejected),
    J (ranked, with `extras["scores"]`) or none (prompt).

    `templated` is True when the text came from a chat template, which already
    holds the special tokens the model expects.
    """

    prompt: str
    responses: list[str]
    templated: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


def missing_columns(columns: list[str], kind: RecordKind) -> tuple[str, ...] | None:
    """The smallest missing set of required columns, or None when one layout fits."""
    options = REQUIRED_COLUMNS[kind]
    gaps = [tuple(c for c in option if c not in columns) for option in options]
    if any(not g for g in gaps):
        return None
    return min(gaps, key=len)


def column_problem(columns: list[str], kind: RecordKind, where: str) -> str | None:
    """A one-line error when no accepted layout fits `columns`, else None."""
    gap = missing_columns(columns, kind)
    if gap is None:
        return None
    return (
        f"{where}: missing column(s) {', '.join(map(repr, gap))} for {kind} data "
        f"(columns: {', '.join(columns)}); rename columns or set the source format"
    )


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value)


def _type_problem(value: Any, key: str) -> BadRow | None:
    """A response of the wrong type, named as such (not reported as an empty response)."""
    if value is None or isinstance(value, str) or _is_messages(value):
        return None
    if isinstance(value, list) and value and all(isinstance(m, str) for m in value):
        got = "a list of strings"
    elif isinstance(value, list) and all(isinstance(m, dict) for m in value):
        got = "messages without a 'role' key"
    else:
        got = f"{type(value).__name__} {str(value)[:40]!r}"
    return BadRow("bad_type", f"{key!r} must be a string or a list of {{role, content}} messages, got {got}")


def _normalised(value: Any) -> str:
    """Text with runs of whitespace folded: pairs that differ only there teach nothing."""
    text = value if isinstance(value, str) else " ".join(str(m.get("content") or "") for m in value)
    return " ".join(text.split())


def _content_empty(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if _is_messages(value):
        return not value or all(not str(m.get("content") or "").strip() for m in value)
    return True


def _render_conversation(tokenizer: Any, prompt: Messages, responses: list[Messages]) -> Rendered:
    if getattr(tokenizer, "chat_template", None) is None:
        raise BadRow(
            "no_chat_template",
            "conversational row but the tokenizer has no chat_template; use a chat model's "
            "tokenizer or convert the data to plain prompt/response strings",
        )
    prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    texts = []
    for response in responses:
        full = tokenizer.apply_chat_template(prompt + response, tokenize=False)
        if not full.startswith(prompt_text):
            raise BadRow("template_mismatch", "chat template output does not extend the prompt")
        texts.append(full[len(prompt_text) :])
    return Rendered(prompt_text, texts, templated=True)


_USER_KEYS = ("prompt",)
_ASSISTANT_KEYS = ("chosen", "rejected", "completion")


def as_conversation(row: dict[str, Any]) -> dict[str, Any]:
    """Plain strings as chat turns: the prompt one user message, each response one assistant
    message, so a chat model sees its template (system prompt, role markers) and the prompt
    part is masked by the same rule as conversational data. Message lists pass unchanged."""
    out = dict(row)
    for key in _USER_KEYS:
        if isinstance(out.get(key), str):
            out[key] = [{"role": "user", "content": out[key]}]
    for key in _ASSISTANT_KEYS:
        if isinstance(out.get(key), str):
            out[key] = [{"role": "assistant", "content": out[key]}]
    if isinstance(out.get("responses"), list):
        out["responses"] = [[{"role": "assistant", "content": r}] if isinstance(r, str) else r
                            for r in out["responses"]]
    return out


def _shared_prefix(a: Messages, b: Messages) -> int:
    n = 0
    while n < min(len(a), len(b)) - 1 and a[n] == b[n]:
        n += 1
    return n


def render_preference(row: dict[str, Any], tokenizer: Any) -> Rendered:
    chosen, rejected = row.get("chosen"), row.get("rejected")
    prompt = row.get("prompt")
    for key, value in (("chosen", chosen), ("rejected", rejected)):
        if value is None:
            raise BadRow(f"missing_{key}", f"column {key!r} is null")
        if (bad := _type_problem(value, key)) is not None:
            raise bad
        if _content_empty(value):
            raise BadRow("empty_response", f"{key!r} response is empty")
    if chosen == rejected:
        raise BadRow("identical_pair", "chosen and rejected are identical")
    if _normalised(chosen) == _normalised(rejected):
        raise BadRow("identical_pair", "chosen and rejected differ only in whitespace")
    if _is_messages(chosen) and _is_messages(rejected):
        if prompt is None:  # implicit prompt: the shared leading messages
            cut = _shared_prefix(chosen, rejected)
            if cut == 0:
                raise BadRow("missing_prompt", "no prompt column and no shared leading messages")
            prompt, chosen, rejected = chosen[:cut], chosen[cut:], rejected[cut:]
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        return _render_conversation(tokenizer, prompt, [chosen, rejected])
    if prompt is None:
        raise BadRow("missing_prompt", "column 'prompt' is null")
    if not all(isinstance(v, str) for v in (prompt, chosen, rejected)):
        raise BadRow("mixed_format", "prompt/chosen/rejected mix strings and message lists")
    return Rendered(prompt, [chosen, rejected])


def render_sft(row: dict[str, Any], tokenizer: Any) -> Rendered:
    if row.get("messages") is not None:
        messages = row["messages"]
        if not _is_messages(messages) or not messages:
            raise BadRow("bad_messages", "'messages' must be a non-empty list of {role, content}")
        if messages[-1].get("role") != "assistant":
            raise BadRow("bad_messages", "the last message must have role 'assistant'")
        if _content_empty(messages[-1:]):
            raise BadRow("empty_response", "the last assistant message is empty")
        return _render_conversation(tokenizer, messages[:-1], [messages[-1:]])
    if row.get("text") is not None and row.get("completion") is None:
        if _content_empty(row["text"]):
            raise BadRow("empty_response", "'text' is empty")
        return Rendered("", [row["text"]])
    prompt, completion = row.get("prompt"), row.get("completion")
    if (bad := _type_problem(completion, "completion")) is not None:
        raise bad
    if completion is None or _content_empty(completion):
        raise BadRow("empty_response", "'completion' is empty or null")
    if _is_messages(completion):
        prompt_msgs = prompt if _is_messages(prompt) else [{"role": "user", "content": prompt or ""}]
        return _render_conversation(tokenizer, prompt_msgs, [completion])
    if not isinstance(completion, str) or not isinstance(prompt, (str, type(None))):
        raise BadRow("mixed_format", "prompt/completion mix strings and message lists")
    return Rendered(prompt or "", [completion])


def _numeric_scores(scores: Any, n: int) -> list[float]:
    if not isinstance(scores, list) or len(scores) != n:
        raise BadRow("bad_scores", f"'scores' must be a list of {n} numbers, one per response")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in scores):
        raise BadRow("bad_scores", "'scores' must hold finite numbers")
    return [float(v) for v in scores]


def render_ranked(row: dict[str, Any], tokenizer: Any) -> Rendered:
    """J candidates with scores; a chosen/rejected pair is the J = 2 case with scores [1, 0]."""
    if row.get("responses") is None:
        pair = render_preference(row, tokenizer)
        return Rendered(pair.prompt, pair.responses, pair.templated, {"scores": [1.0, 0.0]})
    responses, prompt = row["responses"], row.get("prompt")
    if not isinstance(responses, list) or len(responses) < 2:
        raise BadRow("too_few_responses", "'responses' must be a list of at least 2 responses")
    scores = _numeric_scores(row.get("scores"), len(responses))
    if any(_content_empty(r) for r in responses):
        raise BadRow("empty_response", "a response in 'responses' is empty")
    if len({repr(r) for r in responses}) < len(responses):
        raise BadRow("duplicate_response", "'responses' holds the same response twice")
    if len(set(scores)) == 1:
        raise BadRow("no_preference", "all 'scores' are equal: the row ranks nothing")
    if prompt is None or _content_empty(prompt):
        raise BadRow("missing_prompt", "column 'prompt' is null or empty")
    if all(_is_messages(r) for r in responses):
        prompt_msgs = prompt if _is_messages(prompt) else [{"role": "user", "content": prompt}]
        out = _render_conversation(tokenizer, prompt_msgs, responses)
    elif isinstance(prompt, str) and all(isinstance(r, str) for r in responses):
        out = Rendered(prompt, list(responses))
    else:
        raise BadRow("mixed_format", "prompt/responses mix strings and message lists")
    out.extras["scores"] = scores
    return out


def render_prompt(row: dict[str, Any], tokenizer: Any) -> Rendered:
    prompt = row.get("prompt")
    if prompt is None or _content_empty(prompt):
        raise BadRow("missing_prompt", "column 'prompt' is null or empty")
    if _is_messages(prompt):
        if getattr(tokenizer, "chat_template", None) is None:
            raise BadRow("no_chat_template", "conversational prompt but the tokenizer has no chat_template")
        return Rendered(tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True), [],
                        templated=True)
    if not isinstance(prompt, str):
        raise BadRow("mixed_format", "'prompt' must be a string or a list of messages")
    return Rendered(prompt, [])


RENDERERS = {"preference": render_preference, "sft": render_sft, "ranked": render_ranked, "prompt": render_prompt}
