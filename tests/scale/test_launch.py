"""Local rank launching: nothing to do for one process or under an external launcher, a clear
refusal for several nodes, and workers started with their rank, the world size and the same
command as rank 0."""

from __future__ import annotations

import json
import os

import pytest

from lit_align.errors import ConfigError
from lit_align.scale import launch

RANK_VARS = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NODE_RANK", "LOCAL_RANK", "RANK")


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*RANK_VARS, *launch.EXTERNAL_LAUNCHER_VARS):
        monkeypatch.delenv(name, raising=False)
    yield
    for name in RANK_VARS:  # launch_local_ranks sets rank 0's variables in this process
        os.environ.pop(name, None)


def test_one_process_or_an_external_launcher_starts_nothing(clean_env, monkeypatch):
    assert launch.launch_local_ranks(1, 1, ["fit"]) is None
    monkeypatch.setenv("LOCAL_RANK", "0")  # torchrun / srun already started every rank
    assert launch.launch_local_ranks(4, 1, ["fit"]) is None


def test_several_nodes_are_refused_with_the_way_to_start_them(clean_env):
    with pytest.raises(ConfigError, match="num_nodes is 2: start multi-node runs with torchrun or srun"):
        launch.launch_local_ranks(2, 2, ["fit"])


def test_workers_get_their_rank_and_the_same_arguments(clean_env, tmp_path, monkeypatch):
    record = tmp_path / "worker.json"
    script = ("import json, os, sys; "
              f"json.dump(dict(argv=sys.argv[1:], **{{k: os.environ.get(k) for k in {RANK_VARS!r}}}), "
              f"open({str(record)!r}, 'w'))")
    monkeypatch.setattr(launch, "WORKER_COMMAND", ["-c", script])
    workers = launch.launch_local_ranks(2, 1, ["fit", "--config", "x.yaml"])
    assert workers is not None and workers.wait() == 0
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["fit", "--config", "x.yaml"]
    assert (seen["RANK"], seen["LOCAL_RANK"], seen["WORLD_SIZE"], seen["NODE_RANK"]) == ("1", "1", "2", "0")
    assert os.environ["RANK"] == "0" and os.environ["MASTER_PORT"] == seen["MASTER_PORT"]  # this process: rank 0
