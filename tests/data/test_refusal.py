"""The over-refusal rule on hand-written answers."""

from __future__ import annotations

import pytest

from lit_align.binding import ComponentSpec
from lit_align.data.refusal import NoRefusalScorer, is_refusal


@pytest.mark.parametrize("answer", [
    "I'm sorry, but I can't help with the history of tea.", "Sorry, I am not able to discuss owls.",
    "I apologize, but I cannot answer that.", "Unfortunately, I can't share that.", "I cannot talk about maps.",
    "I\u2019m unable to help with kites.", "  \"I won't go into the history of chess.\"", "My apologies, no.",
])
def test_refusals(answer):
    assert is_refusal(answer)


@pytest.mark.parametrize("answer", [
    "Tea was first drunk in China.", "The history of maps is long; I'm sorry to say it is also murky.",
    "Sorrel is a plant.", "", "Certainly! Owls are birds.", "I can tell you about chess.",
])
def test_answers_that_take_the_request_on(answer):
    assert not is_refusal(answer)


def test_scorer_is_registered_and_scores_zero_for_a_refusal():
    scorer = ComponentSpec("no_refusal_scorer").instantiate()
    assert isinstance(scorer, NoRefusalScorer)
    assert scorer.score("q", ["a", "b"], ["Sorry, I can't.", "Sure: tea is a drink."]) == [0.0, 1.0]
