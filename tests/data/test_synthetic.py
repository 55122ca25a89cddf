import pytest

from lit_align.data.synthetic import (
    DOMAINS,
    gold_reward,
    preference_pairs,
    ranked_samples,
    sft_examples,
    unlabeled_prompts,
)


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_pairs_are_ordered_by_the_gold_reward_and_seeded(domain):
    rows = preference_pairs(domain, 20, seed=3)
    assert all(gold_reward(domain, r["prompt"], r["chosen"]) > gold_reward(domain, r["prompt"], r["rejected"])
               for r in rows)
    assert rows == preference_pairs(domain, 20, seed=3)
    assert rows != preference_pairs(domain, 20, seed=4)
    ranked = ranked_samples(domain, 5, seed=0)
    assert all(len(set(r["scores"])) == len(r["scores"]) >= 2 for r in ranked)
    assert all(gold_reward(domain, r["prompt"], c["completion"]) == max(
        gold_reward(domain, r["prompt"], x) for x in (c["completion"], r["rejected"]))
        for r, c in zip(rows, sft_examples(domain, 20, seed=3), strict=True))
    assert len(unlabeled_prompts(domain, 7, seed=0)) == 7


def test_hand_checked_rules():
    assert gold_reward("colors", "Name two colors.", "red, blue.") == 1.0
    assert gold_reward("colors", "Name two colors.", "red, blue, green.") == 0.0
    assert gold_reward("short", "Summarize the cat in short.", "The cat is good.") == 1.0
    assert gold_reward("short", "Summarize the cat in short.", "The cat is good and we like.") == 0.5  # 7 words
    assert gold_reward("avoid", "Write about the sun without the word very.", "The sun is very nice.") == 0.3
    assert gold_reward("keyword", "Describe the sun with the word calm.", "The sun is calm.") == 1.0


def test_conflicting_domains_share_prompts_and_reverse_preferences():
    concise = preference_pairs("concise", 10, seed=0)
    for row in concise:
        assert gold_reward("verbose", row["prompt"], row["rejected"]) > gold_reward("verbose", row["prompt"],
                                                                                    row["chosen"])
    assert {r["prompt"].split()[0] for r in concise} == {"Explain"}
