"""Every YAML example in docs/ is valid in the context of a full config."""

import re

import pytest

from lit_align.config.load import load_config
from lit_align.config.validate import validate_config
from tests.conftest import REPO

BLOCKS = [
    (doc.name, i, block)
    for doc in sorted((REPO / "docs").rglob("*.md"))
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S))
]


@pytest.mark.parametrize("doc,index,block", BLOCKS, ids=[f"{d}#{i}" for d, i, _ in BLOCKS])
def test_docs_yaml_example_validates(doc, index, block, tmp_path):
    example = tmp_path / "example.yaml"
    example.write_text(block)
    cfg = load_config([str(REPO / "configs" / "quickstart.yaml"), str(example)])
    assert validate_config(cfg, check_data=False) == []


def test_docs_override_example_resolves():
    cfg = load_config([str(REPO / "configs" / "quickstart.yaml")],
                      ["sequence.1.method.init_args.beta=0.2", "trainer.max_epochs=2"])
    assert cfg["sequence"][1]["method"]["init_args"]["beta"] == 0.2
    assert cfg["trainer"]["max_epochs"] == 2
