"""Reference log-probs cached on disk (`reference_cache`, issue 32): the key changes with each of
the weights, the pairs and the settings; a damaged entry is recomputed with a warning; a repeated
run does no reference pass and gives the same numbers."""

from __future__ import annotations

import copy
import json
import logging

import pytest
import torch

from lit_align.modules.reference_cache import ReferenceCache, cache_key, pairs_fingerprint, weights_fingerprint


class Pairs(dict):
    """The three id columns a fingerprint reads, and a length."""

    def __len__(self) -> int:
        return len(self["prompt_ids"])


PAIRS = Pairs(prompt_ids=[[1, 2], [3]], chosen_ids=[[4], [5, 6]], rejected_ids=[[7], [8]])
SETTINGS = {"average": False, "mode": "auto", "adapter_disabled": False, "batch_size": 8}


def test_each_key_part_changes_the_key(tiny_policy):
    model = tiny_policy.model
    base = cache_key(weights_fingerprint(model), pairs_fingerprint(PAIRS), SETTINGS)
    assert base == cache_key(weights_fingerprint(copy.deepcopy(model)), pairs_fingerprint(Pairs(PAIRS)), SETTINGS)
    moved = copy.deepcopy(model)
    with torch.no_grad():
        next(moved.parameters()).view(-1)[0] += 1e-6  # one weight, one ulp-scale nudge
    assert cache_key(weights_fingerprint(moved), pairs_fingerprint(PAIRS), SETTINGS) != base
    other = Pairs(PAIRS, rejected_ids=[[7], [9]])  # one token of one response
    assert cache_key(weights_fingerprint(model), pairs_fingerprint(other), SETTINGS) != base
    for key, value in (("average", True), ("mode", "plain"), ("adapter_disabled", True), ("batch_size", 4)):
        assert cache_key(weights_fingerprint(model), pairs_fingerprint(PAIRS), SETTINGS | {key: value}) != base


def test_a_hit_skips_the_computation_and_a_damaged_entry_is_rebuilt(tiny_policy, tmp_path, caplog):
    cache = ReferenceCache(tmp_path / "refs")
    weights = weights_fingerprint(tiny_policy.model)
    calls = []

    def compute():
        calls.append(1)
        return [-1.5, -2.25], [-3.0, -4.125]

    first = cache.columns(weights, PAIRS, SETTINGS, compute)
    again = cache.columns(weights, PAIRS, SETTINGS, compute)
    assert first == again == ([-1.5, -2.25], [-3.0, -4.125]) and len(calls) == 1
    assert (cache.hits, cache.misses) == (1, 1)
    (entry,) = (tmp_path / "refs").glob("*.json")
    entry.write_text('{"chosen": [-1.5], "rejected": [')  # cut mid-write by something else
    with caplog.at_level(logging.WARNING):
        assert cache.columns(weights, PAIRS, SETTINGS, compute) == first
    assert len(calls) == 2 and "is damaged" in caplog.text
    assert json.loads(entry.read_text())["chosen"] == [-1.5, -2.25]  # rewritten whole


@pytest.mark.integration
def test_a_repeated_run_does_no_reference_pass_and_scores_the_same(tmp_path, monkeypatch):
    import yaml

    from lit_align.cli import main
    from lit_align.modules import dpo
    from tests.continual.test_runner import sequence_config

    passes = []
    real = dpo.compute_reference_columns
    monkeypatch.setattr(dpo, "compute_reference_columns", lambda *a, **k: passes.append(1) or real(*a, **k))
    results = []
    for out in ("first", "second"):
        path, out_dir = sequence_config(tmp_path, out=out, extra_args={"reference_cache": str(tmp_path / "refs")})
        before = len(passes)
        assert main(["fit", "--config", str(path)]) == 0
        results.append((json.loads((out_dir / "results.json").read_text()), len(passes) - before))
        assert yaml.safe_load(path.read_text())["sequence"][0]["method"]["init_args"]["reference_cache"]
    (first, first_passes), (second, second_passes) = results
    assert first_passes > 0 and second_passes == 0
    assert second["matrix"] == first["matrix"]
    notes = [n for t in second["tasks_detail"] for n in t["data"] if n.startswith("reference cache")]
    assert notes and all(n.endswith("0 miss(es)") for n in notes)
