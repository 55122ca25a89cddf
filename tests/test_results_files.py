"""Committed results name no path of the machine that made them (paths are relative to the repo)."""

from __future__ import annotations

import re

from benchmarks.results_io import relative_paths
from tests.conftest import REPO

MACHINE_PATH = re.compile(r"(?<![\w.<>])/(home|work|tmp|root|Users|mnt|var|opt)/")


def test_committed_results_hold_no_absolute_paths():
    offenders = [p.name for p in (REPO / "benchmarks" / "results").iterdir()
                 if p.suffix in (".json", ".md") and MACHINE_PATH.search(p.read_text())]
    assert offenders == []


def test_relative_paths_rewrites_repo_and_scratch_paths(tmp_path):
    text = f'{{"a": "{REPO}/benchmarks/.cache/x/model", "b": "/tmp/pytest-1/run/model", "c": "ratio 1/2"}}'
    assert relative_paths(text) == '{"a": "benchmarks/.cache/x/model", "b": "<outside>/model", "c": "ratio 1/2"}'
