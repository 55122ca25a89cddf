import pytest

from lit_align.binding import ComponentSpec
from lit_align.config.continual import GenerationConfig
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


def test_answers_cut_at_the_token_limit_are_flagged(tiny_policy):
    from lit_align.generation import Sampling, generate_with_stops

    prompts = ["Name a color.", "Say a word."]
    texts, cut = generate_with_stops(tiny_policy.model, tiny_policy.tokenizer, prompts, Sampling(max_new_tokens=3), 0)
    assert cut == [True, True] and len(texts) == 2  # a random tiny model never picks EOS in 3 tokens
    eos = tiny_policy.tokenizer.eos_token_id
    vocab = tiny_policy.model.get_output_embeddings().weight.shape[0]
    # every token but the end token suppressed: each answer finishes at once
    tiny_policy.model.generation_config.suppress_tokens = [t for t in range(vocab) if t != eos]
    _, cut = generate_with_stops(tiny_policy.model, tiny_policy.tokenizer, prompts, Sampling(max_new_tokens=3), 0)
    assert cut == [False, False]


class _FlakyJudge:
    def score(self, split, prompts, responses):
        if any("boom" in r for r in responses):
            raise RuntimeError("judge cannot parse")
        return [float(len(r)) for r in responses]


def test_a_scorer_failing_on_some_answers_leaves_them_unscored_not_the_run(caplog):
    import math

    from lit_align.scorers import score_tolerantly

    scores = score_tolerantly(_FlakyJudge(), "s", ["p"] * 3, ["ab", "boom", "abc"])
    assert scores[0] == 2.0 and math.isnan(scores[1]) and scores[2] == 3.0
    assert "failed on 1 of 3 answers of split 's'" in caplog.text
    after = [{"s": [0.0, 0.0, 0.0]}, {"s": [1.0, math.nan, 0.0]}]
    report = sequence_report(["a", "b"], ["s"], after, {"s": [0.0, 0.0, 0.0]}, generated=True)
    assert report["matrix"] == [[0.0], [0.5]]  # the mean of the scored answers
    assert report["metrics"]["flips_consecutive"][0]["overall"]["nfr"] == 0.0  # 2 scored pairs, one gain
    assert report["metrics"]["flips_consecutive"][0]["overall"]["pfr"] == 0.5


@pytest.mark.parametrize("chat,system,expected", [
    (False, None, "Q?"),
    (False, "Be brief.", "Be brief.\n\nQ?"),
    (True, None, "<|user|>Q?<|end|><|assistant|>"),
    (True, "Be brief.", "<|system|>Be brief.<|end|><|user|>Q?<|end|><|assistant|>"),
])
def test_policy_answerer_renders_chat_turns_and_the_in_context_system_text(tiny_policy, monkeypatch, chat, system,
                                                                           expected):
    from lit_align import generation

    seen: list[str] = []
    monkeypatch.setattr(generation, "generate", lambda model, tok, prompts, cfg, seed: seen.extend(prompts) or
                        ["a"] * len(prompts))
    answer = generation.policy_answerer(tiny_policy, generation.Sampling(), 0, chat_template=chat, system=system)
    assert answer(["Q?"]) == ["a"] and seen == [expected]
    seen.clear()
    answer([[{"role": "user", "content": "Q?"}]])  # messages pass through as given
    assert seen == ["<|user|>Q?<|end|><|assistant|>"]
