"""Parsing what chat models reply to lit-align's instructions."""

import pytest

from lit_align.feedback import templates


@pytest.mark.parametrize("reply, expected", [
    ('["a", "b"]', ["a", "b"]),
    ('Here they are:\n["a", " b ", ""]\nHope this helps', ["a", "b"]),
    ("1. first\n2) second\n- third\n* fourth\n\u2022 fifth", ["first", "second", "third", "fourth", "fifth"]),
    ('1. "quoted"\nnot an item', ["quoted"]),
    ("[not json]\n1. fallback", ["fallback"]),
])
def test_parse_list_reads_json_arrays_and_numbered_or_bulleted_lines(reply, expected):
    assert templates.parse_list(reply) == expected


@pytest.mark.parametrize("reply", ["", "I cannot help with that.", "[]", "[1.5, ]"])
def test_parse_list_refuses_replies_without_a_list(reply):
    with pytest.raises(ValueError, match="no JSON array or list"):
        templates.parse_list(reply)


@pytest.mark.parametrize("reply, expected", [
    ("Revised answer: The cat is nice!", "The cat is nice!"),
    ('  "The cat!"  ', "The cat!"),
    ("rewritten response:   ", None),
    ("", None),
    ("The answer: stays", "The answer: stays"),
])
def test_clean_revision(reply, expected):
    assert templates.clean_revision(reply) == expected


@pytest.mark.parametrize("reply, expected", [("1", 1.0), ("-0.5", -0.5), ("Score: 0.25.", 0.25), (".5", 0.5)])
def test_parse_judgement(reply, expected):
    assert templates.parse_judgement(reply) == expected


@pytest.mark.parametrize("reply, message", [("B is better", "no number"), ("7", "outside")])
def test_parse_judgement_refuses(reply, message):
    with pytest.raises(ValueError, match=message):
        templates.parse_judgement(reply)


def test_templates_format_with_their_fields():
    assert '"Be brief."' in templates.CATEGORIES.format(feedback="Be brief.", n=3)
    text = templates.REVISE.format(feedback="f", prompt="p", answer="a")
    assert "User request:\np" in text and "Original answer:\na" in text
