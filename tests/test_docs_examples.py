"""Every YAML example in docs/ is valid in the context of a full config."""

import re
import typing

import pytest
import yaml

from lit_align.binding import check
from lit_align.config.load import load_config
from lit_align.config.schema import TaskConfig
from lit_align.validation.config import validate_config
from tests.conftest import REPO

BLOCKS = [
    (doc.name, i, block)
    for doc in sorted((REPO / "docs").rglob("*.md"))
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S))
]


@pytest.mark.parametrize("doc,index,block", BLOCKS, ids=[f"{d}#{i}" for d, i, _ in BLOCKS])
def test_docs_yaml_example_validates(doc, index, block, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "docs" / "examples"))  # user classes of docs/extending.md
    fragment = yaml.safe_load(block)
    if set(fragment) == {"method"}:  # a method node shown on its own
        method_type = typing.get_type_hints(TaskConfig, include_extras=True)["method"]
        assert check(fragment["method"], method_type, "method") == []
        return
    if "arms" in fragment:  # a study file: checked as `lit-align validate` checks one, from the repository root
        from lit_align.study.check import study_problems

        monkeypatch.chdir(REPO)
        assert study_problems(fragment, check_data=False, check_machine=False) == []
        return
    if "feedback" in fragment:  # a `lit-align feedback` data config
        from lit_align.feedback.build import FeedbackDataConfig

        assert check(fragment, FeedbackDataConfig, "feedback config") == []
        return
    example = tmp_path / "example.yaml"
    example.write_text(block)
    cfg = load_config([str(REPO / "configs" / "sft" / "sft_quickstart.yaml"), str(example)])
    assert validate_config(cfg, check_data=False, check_machine=False) == []


def test_docs_override_example_resolves():
    cfg = load_config([str(REPO / "configs" / "quickstart.yaml")],
                      ["sequence.1.method.init_args.beta=0.2", "trainer.max_epochs=2"])
    assert cfg["sequence"][1]["method"]["init_args"]["beta"] == 0.2
    assert cfg["trainer"]["max_epochs"] == 2


PY_BLOCKS = [(doc.name, block) for doc in sorted((REPO / "docs").rglob("*.md"))
             for block in re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)]


@pytest.mark.parametrize("doc,block", PY_BLOCKS, ids=[d for d, _ in PY_BLOCKS])
def test_docs_python_example_runs(doc, block, monkeypatch):
    import torch

    from lit_align.losses import dpo

    monkeypatch.setattr(dpo, "PREFERENCE_LOSSES", dict(dpo.PREFERENCE_LOSSES))
    exec(compile(block, doc, "exec"), {})
    added = set(dpo.PREFERENCE_LOSSES) - {"sigmoid", "robust", "ipo", "hinge", "simpo"}
    for name in added:
        out = dpo.PREFERENCE_LOSSES[name].fn(*(torch.tensor([v]) for v in (-1.0, -3.0, -2.0, -2.0)), beta=0.5)
        assert torch.isfinite(out.losses).all()
