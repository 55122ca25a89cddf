"""The TF-IDF baseline against values computed by hand."""

from __future__ import annotations

import math

import pytest

from lit_align.influence.lexical import terms, tfidf_scores


def test_terms_are_lower_cased_words():
    assert terms("I'm sorry, I CAN'T help.") == ["i'm", "sorry", "i", "can't", "help"]


def test_scores_equal_the_hand_computed_cosines():
    train = ["sorry no", "bees make honey", "sorry sorry"]
    scores = tfidf_scores(train, ["sorry", "honey bees"])
    # idf over 3 rows: sorry in 2 -> ln(4/3)+1; the others in 1 -> ln(2)+1
    rare = math.log(2) + 1
    common = math.log(4 / 3) + 1
    # row 0: (sorry: common/2, no: rare/2) against query "sorry": cos = common / sqrt(common^2 + rare^2)
    assert scores[0, 0].item() == pytest.approx(common / math.hypot(common, rare))
    assert scores[2, 0].item() == pytest.approx(1.0)  # the same direction
    assert scores[1, 0].item() == 0.0
    # row 1 (bees, make, honey: all rare, tf 1/3) against "honey bees": 2 shared of 3 equal weights
    assert scores[1, 1].item() == pytest.approx(2 / math.sqrt(3 * 2))


def test_an_empty_text_scores_zero():
    assert tfidf_scores(["", "sorry"], ["sorry"])[:, 0].tolist() == [0.0, 1.0]
