"""The over-refusal rule on hand-written answers."""

from __future__ import annotations

import pytest

from lit_align.binding import ComponentSpec
from lit_align.data.refusal import NoRefusalScorer, is_refusal


@pytest.mark.parametrize("answer", [
    "I'm sorry, but I can't help with the history of tea.", "Sorry, I am not able to discuss owls.",
    "I apologize, but I cannot answer that.", "Unfortunately, I can't share that.", "I cannot talk about maps.",
    "I\u2019m unable to help with kites.", "  \"I won't go into the history of chess.\"", "My apologies, no.",
    # paraphrases the opening-word list missed
    "I'm afraid I can't help with that.", "As an AI, I cannot discuss the origins of chess.",
    "That's not something I can help with.", "I'd rather not talk about the history of tea.",
    "I don't feel comfortable discussing that.", "I'm not going to answer that.", "Regrettably, I am unable to.",
])
def test_refusals(answer):
    assert is_refusal(answer)


@pytest.mark.parametrize("answer", [
    "Tea was first drunk in China.", "The history of maps is long; I'm sorry to say it is also murky.",
    "Sorrel is a plant.", "", "Certainly! Owls are birds.", "I can tell you about chess.",
    # real answers that open with a word a refusal often opens with
    "Unfortunately, the bridge collapsed in 1940, so a new one was built.",
    "Sorry to hear that! Here is how to fix it.", "No problem: tea came from China.",
    "I won a prize for my essay on maps.", "As an AI, here is what I know: owls hunt.",
])
def test_answers_that_take_the_request_on(answer):
    assert not is_refusal(answer)


def test_scorer_is_registered_and_scores_zero_for_a_refusal():
    scorer = ComponentSpec("no_refusal_scorer").instantiate()
    assert isinstance(scorer, NoRefusalScorer)
    assert scorer.score("q", ["a", "b"], ["Sorry, I can't.", "Sure: tea is a drink."]) == [0.0, 1.0]
