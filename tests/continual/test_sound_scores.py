"""Generated-answer scores carry a sound rate and a score with unsound answers as 0, and every
answer is kept with its flags (issue 30, J2/J4): a collapsed model that ends every line with "!"
no longer reads as following the rule. The policy's answers are fixed here (no model)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lit_align.binding import ComponentSpec
from lit_align.continual import scoring
from lit_align.continual.evaluation import EvalSplit
from lit_align.scorers import ResponseScorer

PROMPTS = ["Tell me about penguins.", "Tell me about owls."]
ANSWERS = {  # what the model says at each evaluation
    "(reference)": ["Penguins are birds.", "Owls hunt at night."],
    "a": ["Penguins are birds!", "Owls hunt at night!"],
    "b": ["Penguins! They! They! They!", "Owls! owls!!!!!!!!"],  # collapsed, yet every line ends with "!"
}


class EndsWithBang(ResponseScorer):
    def score(self, split, prompts, responses):
        return [1.0 if r.endswith("!") else 0.0 for r in responses]


@pytest.fixture
def scorer(monkeypatch):
    current = {"label": "(reference)"}
    monkeypatch.setattr(scoring, "generate_with_stops",
                        lambda model, tok, prompts, cfg, seed, tick=None: (ANSWERS[current["label"]], [False, True]))
    gen = SimpleNamespace(num_prompts=2, scorer=ComponentSpec("tests.continual.test_sound_scores.EndsWithBang"))
    cfg = SimpleNamespace(seed=0, evaluation=SimpleNamespace(generation=gen, probe=None, forgetting="max",
                                                             batch_size=8, reference_task=None))
    policy = SimpleNamespace(model=None, tokenizer=SimpleNamespace(pad_token_id=0))
    split = EvalSplit(name="bang", columns={"row": [0]}, prompts=PROMPTS)
    scorer = scoring.SequenceScorer(cfg, policy, [split])
    scorer._margins = lambda: {"bang": [1.0]}  # pairwise scores are not under test here
    return scorer, current


def test_a_collapsed_model_is_not_scored_as_following_the_rule(scorer):
    scorer, current = scorer
    scorer.generated_baseline, scorer.sound_baseline = scorer._generated_scores("(reference)")
    scorer.baseline, scorer.reference_set = {"bang": [0.0]}, True
    for label in ("a", "b"):
        current["label"] = label
        scorer._score_after(label)
    report = scorer.report()
    assert report["generation"]["matrix"] == [[1.0], [1.0]]  # as judged: the rule reads form only
    assert report["generation"]["sound_rate"] == {"baseline": [1.0], "matrix": [[1.0], [0.0]]}
    assert report["generation_sound"]["matrix"] == [[1.0], [0.0]]  # judged and sound
    assert [c["bang"]["unsound"] for c in report["generation"]["counts"]] == [0, 0, 2]
    kept = [g for g in scorer.generations if g["after"] == "b"]
    assert kept[0] == {"after": "b", "split": "bang", "prompt": PROMPTS[0], "answer": "Penguins! They! They! They!",
                       "cut": False, "sound": False, "unsound_because": ["word repeated"], "score": 1.0}
    assert kept[1]["cut"] is True and "character cycle" in kept[1]["unsound_because"]
    assert len(scorer.generations) == 6


def test_sound_flags_survive_a_resume(scorer):
    scorer, current = scorer
    scorer.generated_baseline, scorer.sound_baseline = scorer._generated_scores("(reference)")
    scorer.baseline, scorer.reference_set = {"bang": [0.0]}, True
    current["label"] = "b"
    scorer._score_after("b")
    stored = scorer.stored()
    stored["reference"] = None
    scorer.sound_after, scorer.generations = [], []
    scorer.restore(stored)
    assert scorer.sound_after == [{"bang": [False, False]}] and len(scorer.generations) == 4
