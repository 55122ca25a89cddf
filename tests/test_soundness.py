"""The sound-answer guard on hand-written strings: the degenerate answers quoted in the review
(and their kin) are unsound with the reason named; ordinary answers, lists and markdown pass."""

from __future__ import annotations

import pytest

from lit_align.soundness import SoundnessCheck, sound_rate

CHECK = SoundnessCheck()

UNSOUND = [
    ("Penguins! They! They! They!", "word repeated"),
    ("Zhilil! Zhilil! Zhilil! Zhilil!", "word repeated"),
    ("owls roomsnackfootedfleaannawawawawawa", "overlong word"),
    ("Sure wawawawawawawa", "character cycle"),
    ("Great!!!!!!!!", "character cycle"),
    ("Yes \U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600", "symbols"),
    ("The penguin is \ufffd", "replacement character"),
    ("The answer is Париж and 巴黎 too", "mixed scripts"),
    ("the cat is on the mat the cat is on the mat the cat is on the mat", "repeated phrases"),
    ("   ", "empty"),
]

SOUND = [
    "The capital of France is Paris.",
    "1. Red\n2. Blue\n3. Green",
    "Certainly! Here are three colors: red, blue and green.",
    "I'm so glad you asked! Penguins are flightless birds that live mostly in the Southern Hemisphere.",
    "Step 1: boil the water.\n---\nStep 2: add the pasta.\n\n**Tip**: salt it well.",
    "Yes, yes. It works.",
    "The café serves crème brûlée.",
    "Internationalization is a long word, and so is counterrevolutionary.",
    "Dogs are loyal 🐶 and friendly.",
]


@pytest.mark.parametrize("text, reason", UNSOUND, ids=[r for _, r in UNSOUND])
def test_degenerate_answers_are_unsound_with_the_reason(text, reason):
    result = CHECK.check(text)
    assert not result.sound and reason in result.reasons


@pytest.mark.parametrize("text", SOUND)
def test_ordinary_answers_are_sound(text):
    assert CHECK.check(text) == (True, ())


def test_thresholds_are_arguments_and_the_rate_is_the_share():
    assert SoundnessCheck(max_word_repeat=5).is_sound("They! They! They!")
    assert sound_rate([True, False, True, True]) == 0.75
