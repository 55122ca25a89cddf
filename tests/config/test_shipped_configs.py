"""Every YAML in configs/ passes `lit-align validate` (from the repository root)."""

import os

import pytest

from lit_align.cli import main
from tests.conftest import REPO

CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.yaml") if "deepspeed" not in p.parts)


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(REPO)) for p in CONFIGS])
def test_shipped_config_validates(path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    # configs/real/ name hub datasets and models that this offline machine does not have
    skip = ["--skip-data"] if "real" in path.parts else []
    assert main(["validate", "--config", os.path.relpath(path, REPO), *skip]) == 0, capsys.readouterr().err
