"""Converters from published dataset layouts to TRL-style preference records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HH_ASSISTANT = "\n\nAssistant:"
HH_HUMAN = "\n\nHuman:"
DROP_REASON = "drop_reason"  # a converter's verdict on a row: "" keeps it


def hh_rlhf_to_preference(row: dict[str, Any]) -> dict[str, Any]:
    """Anthropic HH-RLHF: `chosen`/`rejected` are whole transcripts sharing a prefix.

    The prompt is everything up to and including the last "\\n\\nAssistant:" of
    the chosen transcript; the responses are what follows it in each transcript. A row
    whose transcripts diverge before that turn (the rejected reply would answer another
    conversation) or whose reply holds further turns is marked in `drop_reason` and left
    out by the loader with a count, never paired wrongly.
    """
    chosen, rejected = row["chosen"], row["rejected"]
    cut = chosen.rfind(HH_ASSISTANT)
    if cut < 0:
        raise ValueError("HH-RLHF row without an '\\n\\nAssistant:' turn")
    prompt = chosen[: cut + len(HH_ASSISTANT)]
    chosen_response = chosen[cut + len(HH_ASSISTANT) :]
    rejected_response = rejected[len(prompt) :]
    reason = ""
    if not rejected.startswith(prompt):
        reason = "diverged_before_last_turn"
    elif HH_HUMAN in chosen_response or HH_HUMAN in rejected_response or HH_ASSISTANT in rejected_response:
        reason = "extra_turns"
    return {"prompt": prompt, "chosen": chosen_response, "rejected": rejected_response, DROP_REASON: reason}


SHP_SPLIT_SUFFIXES = ("_train", "_validation", "_test")


def shp_to_preference(row: dict[str, Any]) -> dict[str, Any]:
    """Stanford SHP: a post (`history`) and two comments; `labels` is 1 when A is preferred.

    `domain` is the subreddit without SHP's split suffix (`askculinary_train` ->
    `askculinary`), so one SHP file splits into COPR's domain-incremental tasks
    with `filter: {domain: ...}`; `score_ratio` is kept as the preference strength.
    """
    a_wins = int(row["labels"]) == 1
    domain = str(row.get("domain", ""))
    for suffix in SHP_SPLIT_SUFFIXES:
        domain = domain.removesuffix(suffix)
    return {
        "prompt": row["history"],
        "chosen": row["human_ref_A"] if a_wins else row["human_ref_B"],
        "rejected": row["human_ref_B"] if a_wins else row["human_ref_A"],
        "domain": domain,
        "score_ratio": float(row.get("score_ratio", 1.0)),
    }


def ultrafeedback_to_preference(row: dict[str, Any]) -> dict[str, Any]:
    """UltraFeedback-binarized: `chosen`/`rejected` are whole conversations that repeat the
    prompt; the prompt becomes the shared leading messages and each response its last turn."""
    chosen, rejected = row["chosen"], row["rejected"]
    if not (isinstance(chosen, list) and chosen and isinstance(rejected, list) and rejected):
        raise ValueError("UltraFeedback row whose chosen/rejected are not message lists")
    return {
        "prompt": chosen[:-1] or [{"role": "user", "content": row["prompt"]}],
        "chosen": chosen[-1:],
        "rejected": rejected[-1:],
        "margin": float(row.get("score_chosen", 0.0)) - float(row.get("score_rejected", 0.0)),
    }


CONVERTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "hh_rlhf": hh_rlhf_to_preference,
    "shp": shp_to_preference,
    "ultrafeedback": ultrafeedback_to_preference,
}
