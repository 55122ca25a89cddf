"""The instructions lit-align sends to an LLM to build C3PO data, and the parsers of its replies.

Our own wording, following the paper's recipe (RLVF §4): categories where a feedback could apply,
prompts inside them where it applies (in-scope) and related prompts where it must not (near-scope),
then a rewrite of a baseline answer that follows the feedback. Replies are asked for as JSON arrays;
numbered or bulleted lists are accepted too, since chat models drift from the format.
"""

from __future__ import annotations

import json
import re

from lit_align.errors import UserError

CATEGORIES = (
    "A language model assistant will receive this piece of feedback from its users:\n"
    "\"{feedback}\"\n\n"
    "List {n} distinct categories of user requests where this feedback would matter. "
    "Reply with a JSON array of {n} short strings and nothing else."
)

IN_SCOPE = (
    "Feedback for an assistant: \"{feedback}\"\n"
    "Category of requests: {category}\n\n"
    "Write {n} different, realistic user requests in this category for which the assistant's answer "
    "should follow the feedback. Reply with a JSON array of {n} strings and nothing else."
)

NEAR_SCOPE = (
    "Feedback for an assistant: \"{feedback}\"\n"
    "Category of requests: {category}\n\n"
    "Write {n} different, realistic user requests in this category that look related to the feedback "
    "(similar topic or wording) but where the feedback clearly does NOT apply, so the assistant should "
    "answer as it normally would. Reply with a JSON array of {n} strings and nothing else."
)

REVISE = (
    "Feedback: \"{feedback}\"\n\n"
    "User request:\n{prompt}\n\n"
    "Original answer:\n{answer}\n\n"
    "Rewrite the original answer so that it follows the feedback, changing nothing else. "
    "Reply with the rewritten answer only."
)

JUDGE = (
    "Feedback: \"{feedback}\"\n\n"
    "User request:\n{prompt}\n\n"
    "Answer A:\n{baseline}\n\n"
    "Answer B:\n{answer}\n\n"
    "Which answer follows the feedback better? Reply with one number from -1 to 1: 1 if B follows it "
    "and A does not, -1 if A follows it and B does not, 0 if they are equal, values in between for "
    "partial differences. Reply with the number only."
)


class GeneratorOutputError(UserError):
    """An LLM's reply could not be used; the message names the backend and shows the reply."""


def excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s+(.+?)\s*$")


def parse_list(reply: str) -> list[str]:
    """The strings of a JSON array in the reply, else of its numbered or bulleted lines.

    Raises `ValueError` when the reply holds neither (the caller decides between failing and counting)."""
    start, end = reply.find("["), reply.rfind("]")
    if 0 <= start < end:
        try:
            value = json.loads(reply[start : end + 1])
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list):
            items = [str(v).strip() for v in value if isinstance(v, str | int | float) and str(v).strip()]
            if items:
                return items
    items = [m.group(1).strip().strip('"') for line in reply.splitlines() if (m := _ITEM.match(line))]
    items = [i for i in items if i]
    if not items:
        raise ValueError(f"no JSON array or list in the reply: {excerpt(reply)!r}")
    return items


_LABEL = re.compile(r"^\s*(?:rewritten|revised|new)\s+(?:answer|response)\s*:\s*", re.IGNORECASE)


def clean_revision(reply: str) -> str | None:
    """The rewritten answer without a leading label or wrapping quotes; None when nothing is left."""
    text = _LABEL.sub("", reply.strip()).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text or None


_NUMBER = re.compile(r"[-+]?\d*\.?\d+")


def parse_judgement(reply: str) -> float:
    """The first number in the reply, which must lie in [-1, 1]; `ValueError` otherwise."""
    match = _NUMBER.search(reply)
    if match is None:
        raise ValueError(f"no number in the judge's reply: {excerpt(reply)!r}")
    value = float(match.group())
    if not -1 <= value <= 1:
        raise ValueError(f"judge score {value} outside [-1, 1]: {excerpt(reply)!r}")
    return value
