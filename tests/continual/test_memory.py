import pytest

from lit_align.config.continual import MemoryConfig
from lit_align.continual.memory import ReplayMemory
from lit_align.contracts import ExtensionError
from lit_align.errors import ConfigError


def rows(task, n):
    return [{"task": task, "row": i, "prompt_ids": [i], "chosen_ids": [1], "rejected_ids": [2]} for i in range(n)]


def test_balanced_keeps_fraction_then_equal_shares_within_capacity():
    memory = ReplayMemory(MemoryConfig(per_task=0.5, capacity=6), seed=0)
    memory.add("a", rows("a", 8))
    assert len(memory.rows("a")) == 4
    memory.add("b", rows("b", 8))
    assert [len(memory.rows(t)) for t in ("a", "b")] == [3, 3]  # 8 > 6: each task trimmed to 6 // 2
    assert all(r["task"] == "b" for r in memory.rows("b"))


def test_count_budget_and_disabled_memory():
    memory = ReplayMemory(MemoryConfig(per_task=3))
    memory.add("a", rows("a", 10))
    assert len(memory) == 3
    off = ReplayMemory(MemoryConfig())
    off.add("a", rows("a", 10))
    assert len(off) == 0


def test_score_ranked_keeps_highest_scores():
    memory = ReplayMemory(MemoryConfig(per_task=2, policy="score_ranked"))
    memory.add("a", rows("a", 5), scores=[0.1, 0.9, 0.5, 0.95, 0.0])
    assert [r["row"] for r in memory.rows("a")] == [1, 3]
    with pytest.raises(ExtensionError, match="needs per-row scores"):
        memory.add("b", rows("b", 5))


def test_reservoir_is_uniform_over_the_stream():
    counts = {"a": 0, "b": 0}
    for seed in range(200):
        memory = ReplayMemory(MemoryConfig(policy="reservoir", capacity=10), seed=seed)
        memory.add("a", rows("a", 30))
        memory.add("b", rows("b", 10))
        assert len(memory) == 10
        for task in counts:
            counts[task] += len(memory.rows(task))
    # each of the 40 rows is kept with probability 10/40: expected 7.5 rows of a, 2.5 of b
    assert counts["a"] / 200 == pytest.approx(7.5, abs=0.4)


def test_reservoir_needs_capacity():
    with pytest.raises(ConfigError, match="needs capacity"):
        MemoryConfig(policy="reservoir")


def test_sample_filters_columns_and_save_load_roundtrip(tmp_path):
    memory = ReplayMemory(MemoryConfig(per_task=4), seed=1)
    memory.add("a", rows("a", 4))
    memory.add("s", [{"task": "s", "row": 0, "prompt_ids": [1], "completion_ids": [2]}])
    pref = memory.sample(10, {"prompt_ids", "chosen_ids", "rejected_ids"})
    assert len(pref) == 10 and all("chosen_ids" in r for r in pref)
    memory.save(tmp_path / "m.json")
    loaded = ReplayMemory.load(tmp_path / "m.json", memory.config)
    assert loaded.rows() == memory.rows()
    assert loaded.sample(3) == memory.sample(3)  # the RNG state travels too


def test_score_ranked_trims_by_score_not_by_order():
    """Review bug: with capacity, trimming kept the first rows ([4, 5]) instead of the best ([6, 7])."""
    memory = ReplayMemory(MemoryConfig(per_task=4, capacity=4, policy="score_ranked"))
    memory.add("a", rows("a", 8), scores=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.8])
    assert [r["row"] for r in memory.rows("a")] == [4, 5, 6, 7]
    memory.add("b", rows("b", 4), scores=[0.3, 0.2, 0.1, 0.0])
    assert [r["row"] for r in memory.rows("a")] == [6, 7]  # the two best of a, not its first two
    assert [r["row"] for r in memory.rows("b")] == [0, 1]
    assert [r["memory_score"] for r in memory.rows("a")] == [0.9, 0.8]  # scores are stored with rows


def test_reservoir_state_roundtrip(tmp_path):
    memory = ReplayMemory(MemoryConfig(policy="reservoir", capacity=3), seed=2)
    memory.add("a", rows("a", 5))
    memory.save(tmp_path / "m.json")
    loaded = ReplayMemory.load(tmp_path / "m.json", memory.config)
    assert loaded.policy.seen == memory.policy.seen == 5
    loaded.add("b", rows("b", 5)), memory.add("b", rows("b", 5))
    assert loaded.rows() == memory.rows()


def test_a_user_policy_plugs_in_from_a_config(tmp_path, monkeypatch):
    """A policy in the user's own module, named by class_path with its own argument."""
    from lit_align.binding import build, check

    (tmp_path / "my_policies.py").write_text(
        "from lit_align.continual.memory_policies import MemoryPolicy\n"
        "class LongestFirst(MemoryPolicy):\n"
        "    def __init__(self, *, key: str = 'chosen_ids') -> None:\n"
        "        super().__init__()\n"
        "        self.key = key\n"
        "    def add(self, task, rows, *, budget, capacity, rng):\n"
        "        self.rows_by_task[task] = sorted(rows, key=lambda r: -len(r[self.key]))[:budget]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    node = {"per_task": 2, "policy": {"class_path": "my_policies.LongestFirst", "init_args": {"key": "prompt_ids"}}}
    assert check(node, MemoryConfig, "memory") == []
    memory = ReplayMemory(build(node, MemoryConfig, "memory"))
    memory.add("a", [{"task": "a", "row": i, "prompt_ids": [0] * i} for i in range(5)])
    assert [r["row"] for r in memory.rows("a")] == [4, 3]
    bad = {"policy": {"class_path": "my_policies.LongestFirst", "init_args": {"kee": 1}}}
    assert any("did you mean 'key'" in p for p in check(bad, MemoryConfig, "memory"))
    assert check({"policy": "balanced"}, MemoryConfig, "memory") == []
    assert "not a subclass of MemoryPolicy" in check({"policy": "dpo"}, MemoryConfig, "memory")[0]
