"""Converters from published dataset layouts to TRL-style preference records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HH_ASSISTANT = "\n\nAssistant:"


def hh_rlhf_to_preference(row: dict[str, Any]) -> dict[str, Any]:
    """Anthropic HH-RLHF: `chosen`/`rejected` are whole transcripts sharing a prefix.

    The prompt is everything up to and including the last "\\n\\nAssistant:" of
    the chosen transcript; the responses are what follows it in each transcript.
    """
    chosen, rejected = row["chosen"], row["rejected"]
    cut = chosen.rfind(HH_ASSISTANT)
    if cut < 0:
        raise ValueError("HH-RLHF row without an '\\n\\nAssistant:' turn")
    prompt = chosen[: cut + len(HH_ASSISTANT)]
    if not rejected.startswith(prompt):
        # the transcripts diverge earlier: fall back to the rejected one's own last turn
        rcut = rejected.rfind(HH_ASSISTANT)
        rejected_response = rejected[rcut + len(HH_ASSISTANT) :] if rcut >= 0 else rejected
    else:
        rejected_response = rejected[len(prompt) :]
    return {
        "prompt": prompt,
        "chosen": chosen[cut + len(HH_ASSISTANT) :],
        "rejected": rejected_response,
    }


CONVERTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "hh_rlhf": hh_rlhf_to_preference,
}
