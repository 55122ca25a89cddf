from dataclasses import dataclass, field
from typing import Annotated, Literal

import pytest

from lit_align.binding import ComponentOf, ComponentSpec, Range, build, build_kwargs, check
from lit_align.errors import ConfigError


@dataclass
class Inner:
    rate: Annotated[float, Range(gt=0)] = 0.1
    mode: Literal["a", "b"] = "a"


@dataclass
class Outer:
    name: str
    inner: Inner = field(default_factory=Inner)
    items: list[int] = field(default_factory=list)
    maybe: int | None = None
    model: Annotated[ComponentSpec, ComponentOf("lit_align.models.ModelSpec")] | None = None


def test_valid_nested_builds_dataclasses_and_specs():
    cfg = {"name": "x", "inner": {"rate": 1, "mode": "b"}, "items": [1, 2],
           "model": {"class_path": "tiny", "init_args": {"n_layer": 1}}}
    assert check(cfg, Outer, "") == []
    built = build(cfg, Outer)
    assert built.inner == Inner(rate=1.0, mode="b") and isinstance(built.inner.rate, float)
    assert built.model == ComponentSpec("tiny", {"n_layer": 1})


def test_reports_every_problem_with_its_path():
    cfg = {"inner": {"rat": 1, "mode": "c"}, "items": [1, "two"], "maybe": 1.5,
           "model": {"class_path": "tiny", "init_args": {"n_layers": 1}}}
    problems = check(cfg, Outer, "")
    text = "\n".join(problems)
    assert "inner.rat: unknown key" in text and "did you mean 'rate'" in text
    assert "inner.mode: must be one of 'a', 'b' (got 'c')" in text
    assert "items[1]: expected an integer" in text
    assert "maybe: expected an integer" in text
    assert "model.init_args.n_layers: unknown key for TinyModelSpec; did you mean 'n_layer'" in text
    assert "name: required key" in text
    assert len(problems) == 6


def test_range_bool_and_null_checks():
    assert check({"rate": 0}, Inner, "m") == ["m.rate must be > 0 (got 0)"]
    assert check(True, int, "k") == ["k: expected an integer, got bool True"]
    assert "must not be null" in check(None, int, "k")[0]
    assert check(None, int | None, "k") == []


def test_component_errors():
    base = ComponentOf("lit_align.models.ModelSpec")
    spec = Annotated[ComponentSpec, base]
    assert "expected a component node" in check({"init_args": {}}, spec, "model")[0]
    assert "cannot import module" in check({"class_path": "nope.Missing"}, spec, "model")[0]
    assert "is not a subclass of ModelSpec" in check({"class_path": "sft"}, spec, "model")[0]
    assert "put arguments under init_args" in check({"class_path": "tiny", "arch": "x"}, spec, "model")[0]


def test_runtime_args_are_not_config_keys():
    from lit_align.modules.sft import SFTModule

    problems = check({"class_path": "sft", "init_args": {"policy": 1}},
                     Annotated[ComponentSpec, ComponentOf("lit_align.modules.base.AlignmentModule")], "m")
    assert problems == ["m.init_args.policy: 'policy' is supplied by lit-align at run time; remove it"]
    with pytest.raises(ConfigError):
        build_kwargs(SFTModule, {"optimizer": {"lr": -1}}, "m")


def test_an_unresolvable_annotation_skips_only_that_argument(caplog):
    from lit_align.binding import check_kwargs

    def target(*, good: int = 1, odd: "NotDefinedAnywhere" = None) -> None:  # noqa: F821
        pass

    problems = check_kwargs(target, {"good": "x", "odd": 3}, "node", "target")
    assert problems == ["node.good: expected an integer, got str 'x'"]
    assert "type checking skipped for odd" in caplog.text
