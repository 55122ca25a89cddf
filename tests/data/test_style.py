"""Style domains: each gold rule against hand-written answers, the prompt families' size and
disjoint splits, and on-policy pair building with drop reasons and a cache."""

from __future__ import annotations

import pytest

from lit_align.data import onpolicy
from lit_align.data.style import (
    DOMAINS,
    StyleGoldScorer,
    avoid_the,
    brief,
    certainly,
    detailed,
    numbered,
    plain_start,
    prose,
    split_prompts,
)


@pytest.mark.parametrize("text,expected", [
    ("Paris.", 1.0),
    ("The capital of France is Paris, a city on the Seine.", 1.0),  # 11 words
    (" ".join(["word"] * 24), 0.5),  # 12 over: 1 - 12/24
    (" ".join(["word"] * 40), 0.0),
    ("", 0.0),
])
def test_brief(text, expected):
    assert brief(text) == pytest.approx(expected)


@pytest.mark.parametrize("text,expected", [
    (" ".join(["word"] * 30), 1.0), (" ".join(["word"] * 12), 0.5), ("Yes.", 1 / 24), ("", 0.0)])
def test_detailed(text, expected):
    assert detailed(text) == pytest.approx(expected)


@pytest.mark.parametrize("text,expected", [
    ("1. Red\n2. Blue\n3. Green", 1.0),
    ("Here are some:\n1) bees make honey\n2) bees dance", 1.0),
    ("1. Only one item, then prose.", 0.5),
    ("Bees make honey. 2. is not a list start", 0.0),
    ("In 1.5 seconds", 0.0),
])
def test_numbered(text, expected):
    assert numbered(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("Owls hunt at night. They fly silently.", 1.0), ("Owls:\n1. hunt\n2. fly", 0.0), ("- owls hunt", 0.0),
    ("Facts:\n* owls hunt", 0.0), ("\u2022 owls hunt", 0.0), ("In 1990 owls were counted.", 1.0),
    ("Owls - they hunt.", 1.0), ("", 0.0), ("!!!", 0.0)])
def test_prose(text, expected):
    assert prose(text) == expected


def test_numbered_and_prose_conflict_on_the_same_prompts_and_split():
    from lit_align.data.style import as_prose

    listed = "Here are some facts about owls:\n\n1. Owls hunt at night\n2. **Owls** fly silently."
    assert numbered(listed) == 1.0 and prose(listed) == 0.0
    revised = as_prose(listed)
    assert revised == "Here are some facts about owls. Owls hunt at night. Owls fly silently."
    assert prose(revised) == 1.0 and numbered(revised) == 0.0
    assert DOMAINS["prose"].templates == DOMAINS["numbered"].templates
    assert split_prompts("prose") == split_prompts("numbered")  # no prompt trained in one is held out in the other


@pytest.mark.parametrize("text,expected", [
    ("Certainly! The moon is...", 1.0), ("certainly, here it is", 1.0), ("Sure! Certainly...", 0.0), ("", 0.0)])
def test_certainly(text, expected):
    assert certainly(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("Owls hunt at night.", 1.0), ("The owl hunts.", 0.75), ("The the the the the", 0.0),
    ("Theory and other words", 1.0), ("", 0.0)])
def test_avoid_the(text, expected):
    assert avoid_the(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("The moon orbits Earth.", 1.0), ("Certainly! The moon...", 0.0), ("Of course, the moon", 0.0),
    ("Sure - here", 0.0), ("Surely not", 1.0), ("Of mice and men", 1.0), ("", 0.0),
    # the filler openers the review found scored as plain
    ("I'm so glad you asked! The moon orbits Earth.", 0.0), ("I'm thrilled to tell you about owls.", 0.0),
    ("What a great question! Owls hunt at night.", 0.0), ("Thank you for asking. Owls hunt.", 0.0),
    ("I'd be happy to explain: owls hunt.", 0.0), ("Great question! Owls hunt.", 0.0),
    ("I\u2019m so glad you asked.", 0.0),
    # answers that open with a word a filler phrase starts with
    ("I think owls hunt at night.", 1.0), ("Thanksgiving is in November.", 1.0), ("What owls eat: mice.", 1.0)])
def test_plain_start(text, expected):
    assert plain_start(text) == expected


def test_certainly_and_plain_start_conflict():
    from lit_align.data.style import add_filler_opener

    answer = "Owls hunt at night."
    for text in (answer, "Bees make honey.", "Tea is a drink."):
        degraded = add_filler_opener(text)
        assert plain_start(text) == 1.0 and plain_start(degraded) == 0.0
        assert degraded.endswith(text) and add_filler_opener(text) == degraded  # deterministic
    assert plain_start("Certainly! Yes.") == 0.0 and certainly("Certainly! Yes.") == 1.0
    assert set(DOMAINS["certainly"].prompts()).isdisjoint(DOMAINS["plain_start"].prompts())


def test_a_rule_every_sample_follows_gets_degraded_pairs():
    from lit_align.data.style import add_filler_opener

    answers = {"p": ["Owls hunt.", "Owls fly."], "q": ["Sure!", "Okay."]}
    rows, report = onpolicy.build_pairs(["p", "q"], _sampler(answers), plain_start, min_gap=0.5,
                                        degrade=add_filler_opener)
    assert rows == [{"prompt": "p", "chosen": "Owls hunt.", "rejected": add_filler_opener("Owls hunt."),
                     "chosen_score": 1.0, "rejected_score": 0.0, "revised": True}]
    assert report.dropped == {"all_equal": 1}  # both fillers: nothing to degrade from


def test_prompt_families_are_large_and_splits_disjoint():
    for name in DOMAINS:
        prompts = DOMAINS[name].prompts()
        assert len(set(prompts)) == len(prompts) >= 200
        parts = split_prompts(name)
        assert set(parts["train"]).isdisjoint(parts["eval"]) and set(parts["train"]).isdisjoint(parts["test"])
        assert set(parts["eval"]).isdisjoint(parts["test"])
        assert sum(map(len, parts.values())) == len(prompts)
    assert split_prompts("brief") == split_prompts("brief")  # seeded


def test_brief_and_detailed_conflict_on_shared_prompts():
    assert DOMAINS["brief"].templates == DOMAINS["detailed"].templates
    long = " ".join(["word"] * 30)
    assert brief("Short answer.") == 1.0 and detailed("Short answer.") < 0.1
    assert detailed(long) == 1.0 and brief(long) < 0.5


def test_gold_scorer_maps_splits_to_domains():
    scorer = StyleGoldScorer(domains={"task_a": "certainly"})
    assert scorer.score("task_a", ["p", "p"], ["Certainly! Yes.", "Yes."]) == [1.0, 0.0]
    assert scorer.score("brief", ["p"], ["Yes."]) == [1.0]
    with pytest.raises(ValueError, match="is not a style domain"):
        scorer.score("other", ["p"], ["x"])


def _sampler(answers_by_prompt):
    return lambda prompts, seed: [answers_by_prompt[p] for p in prompts]


def test_pairs_are_best_vs_worst_and_drops_are_counted():
    answers = {
        "a": ["Certainly! Yes.", "Yes.", "No."],  # pair: the Certainly answer vs a zero
        "b": ["Yes.", "No."],  # all_equal
        "c": ["Certainly!", "   "],  # empty rejected
        "d": ["Certainly yes", "Certainly yes"],  # all equal too (same score)
    }
    rows, report = onpolicy.build_pairs(list(answers), _sampler(answers), certainly, min_gap=0.5)
    # worst = the last of the lowest-scored answers in sampling order
    assert rows == [{"prompt": "a", "chosen": "Certainly! Yes.", "rejected": "No.", "chosen_score": 1.0,
                     "rejected_score": 0.0}]
    assert report.pairs == 1 and report.prompts == 4
    assert report.dropped == {"all_equal": 2, "empty": 1}
    assert "1 pairs from 4 prompts (2 all_equal, 1 empty)" == report.summary()


def test_repeated_text_with_different_scores_is_dropped():
    odd = {"p": ["x", "x "]}
    rule = {"x": 1.0, "x ": 0.0}.__getitem__
    rows, report = onpolicy.build_pairs(["p"], _sampler(odd), rule, min_gap=0.5)
    assert rows == [] and report.dropped == {"repeated": 1}


def test_pairs_cache_reads_back_and_keys_on_settings(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return onpolicy.build_pairs(["a"], _sampler({"a": ["Certainly!", "No."]}), certainly)

    key = onpolicy.cache_key("m1", "certainly", {"k": 4, "temperature": 1.0})
    first = onpolicy.cached_pairs(tmp_path, key, build)
    second = onpolicy.cached_pairs(tmp_path, key, build)
    assert first[0] == second[0] and second[1].pairs == 1 and len(calls) == 1
    assert onpolicy.cache_key("m1", "certainly", {"k": 8, "temperature": 1.0}) != key
    assert onpolicy.cache_key("m2", "certainly", {"k": 4, "temperature": 1.0}) != key


def test_a_behaviour_never_sampled_gets_revised_pairs():
    from lit_align.data.style import open_with_certainly

    answers = {"p": ["Yes, it is.", "No."], "q": ["", " "]}
    rows, report = onpolicy.build_pairs(["p", "q"], _sampler(answers), certainly, min_gap=0.5,
                                        revise=open_with_certainly)
    assert rows == [{"prompt": "p", "chosen": "Certainly! No.", "rejected": "No.", "chosen_score": 1.0,
                     "rejected_score": 0.0, "revised": True}]
    assert report.revised == 1 and report.dropped == {"all_equal": 1}
    assert report.summary() == "1 pairs from 2 prompts, 1 revised (1 all_equal)"


def test_a_rule_that_raises_leaves_answers_unscored_and_no_pairs_stop_with_the_domain_named():
    def fragile(text: str) -> float:
        if "boom" in text:
            raise ValueError("cannot score")
        return certainly(text)

    class Counting:
        cut = 3

        def __call__(self, prompts, seed):
            return [{"a": ["Certainly! Yes.", "boom", "No."], "b": ["boom", "boom"]}[p] for p in prompts]

    rows, report = onpolicy.build_pairs(["a", "b"], Counting(), fragile, min_gap=0.5)
    assert [r["rejected"] for r in rows] == ["No."]
    assert report.unscored == 3 and report.dropped == {"unscored": 1} and report.hit_token_limit == 3
    assert report.summary() == ("1 pairs from 2 prompts, 3 answers unscored, 3 answers cut at the token limit "
                                "(1 unscored)")
    _, none = onpolicy.build_pairs(["b"], Counting(), fragile)
    with pytest.raises(onpolicy.NoPairsError, match=r"domain 'brief': no pairs from 1 prompts .* revise/degrade"):
        onpolicy.require_pairs("brief", none)
