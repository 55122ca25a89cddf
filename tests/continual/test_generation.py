import pytest

from lit_align.config.binding import ComponentSpec
from lit_align.continual.generation import GenerationConfig
from lit_align.continual.results import sequence_report
from lit_align.data.synthetic import SyntheticGoldScorer
from lit_align.generation import generate


def test_generation_is_seeded_and_returns_new_text_only(tiny_policy):
    cfg = GenerationConfig(scorer=ComponentSpec("x"), max_new_tokens=5, temperature=1.0, batch_size=2)
    prompts = ["Tell me about the cat.", "Name two colors.", "Explain the sun."]
    a = generate(tiny_policy.model, tiny_policy.tokenizer, prompts, cfg, seed=7)
    b = generate(tiny_policy.model, tiny_policy.tokenizer, prompts, cfg, seed=7)
    assert a == b and len(a) == 3
    assert all(not x.startswith(p) for x, p in zip(a, prompts, strict=True))
    assert tiny_policy.tokenizer.padding_side == "right"  # restored


def test_gold_scorer_and_continuous_report():
    scorer = SyntheticGoldScorer(domains={"qa": "colors"})
    assert scorer.score("qa", ["Name two colors."], ["red, blue."]) == [1.0]
    with pytest.raises(ValueError, match="not a synthetic domain"):
        scorer.score("nope", ["x"], ["y"])
    after = [{"a": [1.0, 0.5]}, {"a": [0.5, 0.5]}]
    report = sequence_report(["a", "b"], ["a"], after, {"a": [0.0, 0.0]}, generated=True)
    assert report["matrix"] == [[0.75], [0.5]]
    flips = report["metrics"]["flips_consecutive"][0]["overall"]
    assert flips == {"nfr": 0.5, "pfr": 0.0, "mean_gain": 0.0, "mean_regression": 0.5}
