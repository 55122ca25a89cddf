"""Bind plain config values to Python types: the constructor signature is the schema.

`check(value, annotation, path)` returns every problem it finds (so `validate`
reports all of them at once, each with its key path and a fix); `build(value,
annotation, path)` turns checked values into dataclasses and `ComponentSpec`s.

Supported annotations: primitives, `Any`, `Optional`/`Union`, `Literal`,
`list[X]`, `dict[str, X]`, dataclasses (nested mappings), `Annotated[..., Range]`
for bounds, `Annotated[ComponentSpec, ComponentOf("pkg.Base")]` for
`class_path`/`init_args` nodes, and `Annotated[dict, KwargsOf("pkg.Callable")]`
for blocks handed unchanged to a third-party callable (the `trainer:` block).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import logging
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from lit_align.errors import ConfigError
from lit_align.registry import names_of_kind, resolve_class_path

_MISSING = inspect.Parameter.empty


@dataclass(frozen=True)
class Range:
    """Numeric bounds for an `Annotated[float, Range(gt=0)]` argument."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def violation(self, value: float) -> str | None:
        if not math.isfinite(value):
            return f"must be a finite number (got {value})"
        for op, bound, ok in (
            (">", self.gt, lambda v, b: v > b),
            (">=", self.ge, lambda v, b: v >= b),
            ("<", self.lt, lambda v, b: v < b),
            ("<=", self.le, lambda v, b: v <= b),
        ):
            if bound is not None and not ok(value, bound):
                return f"must be {op} {bound} (got {value})"
        return None


@dataclass(frozen=True)
class ComponentOf:
    """Marks a `class_path` node whose class must subclass `base` (a dotted path)."""

    base: str


@dataclass(frozen=True)
class KwargsOf:
    """Marks a mapping passed as keyword arguments to `target` (a dotted path)."""

    target: str


@dataclass(frozen=True)
class ComponentSpec:
    """A checked `class_path` + `init_args` node, instantiated later by its owner.

    Deferred on purpose: a method module needs the policy the runner builds, and
    `validate` must never build anything.
    """

    class_path: str
    init_args: dict[str, Any] = field(default_factory=dict)

    def resolve(self) -> type:
        return import_object(self.class_path)

    def instantiate(self, **runtime: Any) -> Any:
        cls = self.resolve()
        kwargs = build_kwargs(cls, self.init_args, self.class_path)
        return cls(**kwargs, **runtime)


def import_object(dotted: str, kind: str | None = None) -> Any:
    """Import `pkg.module.Name`; raise ConfigError naming the path on failure. `kind` (the base
    class's dotted path) narrows the names an unknown short name is compared with."""
    path = resolve_class_path(dotted)
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        known = names_of_kind(kind)
        close = difflib.get_close_matches(dotted, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"class_path {dotted!r} is neither a registered name nor a dotted path; {hint}"
            f"(registered: {', '.join(known)})"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"class_path {dotted!r}: cannot import module {module_name!r} ({exc})") from exc
    try:
        found = getattr(module, attr)
    except AttributeError:
        try:
            found = importlib.import_module(path)
        except ImportError:
            raise ConfigError(f"class_path {dotted!r}: module {module_name!r} has no {attr!r}") from None
    if inspect.ismodule(found):
        raise ConfigError(_module_not_class(dotted, found))
    return found


def registered_or_dotted(name: str, registry: Mapping[str, Any], where: str, what: str, example: str = "") -> Any:
    """`registry[name]`, or the object a dotted path names: how a loss variant or a verdict rule
    is chosen in a config (a short name of lit-align's, or the user's own by its path)."""
    if name in registry:
        return registry[name]
    if "." not in name:
        raise ConfigError(f"{where}: unknown {what} {name!r}; choose one of {', '.join(sorted(registry))} or give the "
                          f"dotted path of your own {what} function{example}")
    try:
        return import_object(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.problems[0]}") from None


def _module_not_class(dotted: str, module: Any) -> str:
    classes = sorted(name for name, obj in vars(module).items()
                     if inspect.isclass(obj) and obj.__module__ == module.__name__ and not name.startswith("_"))
    example = f"; e.g. {module.__name__}.{classes[0]}" if classes else ""
    return (f"class_path {dotted!r} names a module, not a class; name a class in it"
            f"{example} (classes there: {', '.join(classes) or 'none'})")


def _hints_one_by_one(func: Any) -> dict[str, Any]:
    """Resolve each annotation alone, so one that names something not importable (a forward
    reference) turns checking off for that argument only; say which ones."""
    resolved: dict[str, Any] = {}
    skipped = []
    namespace = getattr(func, "__globals__", {})
    for name, annotation in inspect.get_annotations(func).items():
        try:
            resolved[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation  # noqa: S307
        except Exception:  # any failure of a user's annotation: that argument goes unchecked
            skipped.append(name)
    if skipped:
        logging.getLogger(__name__).warning(
            "%s: type checking skipped for %s (annotations that do not resolve)", func.__qualname__,
            ", ".join(skipped))
    return resolved


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _suggest(key: str, options: list[str]) -> str:
    close = difflib.get_close_matches(key, options, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}(accepted: {', '.join(sorted(options)) or 'none'})"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def signature_params(target: Any) -> tuple[dict[str, inspect.Parameter], dict[str, Any], bool]:
    """Parameters, resolved type hints and whether arbitrary `**kwargs` are accepted.

    A class whose `__init__` passes `**kwargs` on to its parent gets the parent's
    parameters too (walking the MRO), so a subclass that adds two arguments to
    `DPOModule` is still checked against every DPO argument.
    """
    funcs = [c.__dict__["__init__"] for c in target.__mro__ if "__init__" in c.__dict__] \
        if inspect.isclass(target) else [target]
    named: dict[str, inspect.Parameter] = {}
    hints: dict[str, Any] = {}
    var_kw = True
    for func in funcs:
        params = dict(inspect.signature(func).parameters)
        params.pop("self", None)
        try:
            func_hints = typing.get_type_hints(func, include_extras=True)
        except (NameError, TypeError, AttributeError, SyntaxError):
            func_hints = _hints_one_by_one(func)
        for name, param in params.items():
            if param.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
                continue
            named.setdefault(name, param)
            hints.setdefault(name, func_hints.get(name, Any))
        var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if not var_kw or func is object.__init__:
            break
    if funcs and funcs[-1] is object.__init__ and len(funcs) == 1:
        var_kw = False
    return named, hints, var_kw


def _runtime_args(cls: type) -> frozenset[str]:
    """Arguments the owner supplies at build time (e.g. the policy); not config keys."""
    return frozenset(getattr(cls, "runtime_args", ()))


def check_kwargs(
    target: Any, args: Any, path: str, name: str, supplied: frozenset[str] = frozenset()
) -> list[str]:
    """Check a mapping of keyword arguments against `target`'s signature.

    `supplied` names arguments the caller passes itself (never config keys).
    """
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return [f"{path}: expected a mapping of arguments for {name}, got {_describe(args)}"]
    params, hints, var_kw = signature_params(target)
    runtime = (_runtime_args(target) if inspect.isclass(target) else frozenset()) | supplied
    problems: list[str] = []
    configurable = [n for n in params if n not in runtime]
    for key, value in args.items():
        key_path = _join(path, str(key))
        if key in runtime:
            problems.append(f"{key_path}: {key!r} is supplied by lit-align at run time; remove it")
        elif key not in params:
            if not var_kw:
                problems.append(
                    f"{key_path}: unknown key for {name}; {_suggest(str(key), configurable)}"
                )
        else:
            problems.extend(check(value, hints.get(key, Any), key_path))
    for pname, param in params.items():
        if pname in runtime or pname in args:
            continue
        if param.default is _MISSING:
            problems.append(f"{_join(path, pname)}: required key for {name} is missing; add it")
    return problems


def _check_component(value: Any, base_path: str, path: str) -> list[str]:
    if isinstance(value, str):  # shorthand: `policy: balanced` is `policy: {class_path: balanced}`
        value = {"class_path": value}
    if not isinstance(value, dict) or "class_path" not in value:
        return [
            f"{path}: expected a component node with 'class_path' (and optional 'init_args'), "
            f"got {_describe(value)}"
        ]
    extra = set(value) - {"class_path", "init_args"}
    problems = [
        f"{_join(path, k)}: unknown key next to class_path; put arguments under init_args"
        for k in sorted(extra)
    ]
    class_path = value["class_path"]
    if not isinstance(class_path, str):
        return problems + [f"{path}.class_path: expected a string, got {_describe(class_path)}"]
    try:
        cls = import_object(class_path, kind=base_path)
        base = import_object(base_path)
    except ConfigError as exc:
        return problems + [f"{path}.class_path: {exc.problems[0]}"]
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        return problems + [
            f"{path}.class_path: {class_path!r} is not a subclass of {base.__name__}; "
            f"use one of the registered names or your own subclass"
        ]
    problems += check_kwargs(cls, value.get("init_args"), _join(path, "init_args"), cls.__name__)
    hook = getattr(cls, "config_problems", None)  # a component's own checks past its signature
    if not problems and callable(hook) and isinstance(value.get("init_args") or {}, dict):
        problems += hook(dict(value.get("init_args") or {}), _join(path, "init_args"))
    return problems


def _check_dataclass(value: Any, cls: type, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path or 'config'}: expected a mapping for {cls.__name__}, got {_describe(value)}"]
    return check_kwargs(cls, value, path, f"{cls.__name__} ({path or 'top level'})")


def _split_annotated(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        return base, tuple(meta)
    return annotation, ()


def check(value: Any, annotation: Any, path: str) -> list[str]:
    """Every problem of `value` against `annotation`, each prefixed by its key path."""
    annotation, meta = _split_annotated(annotation)
    for m in meta:
        if isinstance(m, ComponentOf):
            return _check_component(value, m.base, path)
        if isinstance(m, KwargsOf):
            target = import_object(m.target)
            return check_kwargs(target, value, path, m.target)
    problems = _check_plain(value, annotation, path)
    if not problems:
        for m in meta:
            if isinstance(m, Range) and isinstance(value, (int, float)):
                if (msg := m.violation(value)) is not None:
                    problems.append(f"{path} {msg}")
    return problems


def _check_plain(value: Any, annotation: Any, path: str) -> list[str]:
    if annotation is Any or annotation is inspect.Parameter.empty:
        return []
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if value is None:
            return [] if type(None) in options else [f"{path}: must not be null"]
        results = [check(value, opt, path) for opt in options if opt is not type(None)]
        if any(not r for r in results):
            return []
        return min(results, key=len)
    if annotation is type(None) or annotation is None:
        return [] if value is None else [f"{path}: expected null, got {_describe(value)}"]
    if value is None:
        return [f"{path}: must not be null; give a value or delete the key to use the default"]
    if origin is Literal:
        choices = get_args(annotation)
        if value not in choices:
            return [f"{path}: must be one of {', '.join(map(repr, choices))} (got {value!r})"]
        return []
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {_describe(value)}"]
        args = get_args(annotation)
        item = args[0] if args else Any
        return [p for i, v in enumerate(value) for p in check(v, item, _join(path, i))]
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping, got {_describe(value)}"]
        args = get_args(annotation)
        item = args[1] if len(args) == 2 else Any
        return [p for k, v in value.items() for p in check(v, item, _join(path, str(k)))]
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return _check_dataclass(value, annotation, path)
    if annotation is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected true/false, got {_describe(value)}"]
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return []
        return [f"{path}: expected an integer, got {_describe(value)}"]
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return []
        return [f"{path}: expected a number, got {_describe(value)}"]
    if annotation is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {_describe(value)}"]
    return []  # an annotation we do not model: accept, the constructor will judge


def build(value: Any, annotation: Any, path: str = "") -> Any:
    """Turn a checked value into the objects its annotation names."""
    annotation, meta = _split_annotated(annotation)
    if any(isinstance(m, ComponentOf) for m in meta):
        if isinstance(value, str):
            return ComponentSpec(value)
        return ComponentSpec(value["class_path"], dict(value.get("init_args") or {}))
    if any(isinstance(m, KwargsOf) for m in meta) or value is None:
        return value
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        for option in get_args(annotation):
            if option is not type(None) and not check(value, option, path):
                return build(value, option, path)
        return value
    if origin in (list, tuple) and isinstance(value, list):
        args = get_args(annotation)
        return [build(v, args[0] if args else Any, _join(path, i)) for i, v in enumerate(value)]
    if origin is dict and isinstance(value, dict):
        args = get_args(annotation)
        item = args[1] if len(args) == 2 else Any
        return {k: build(v, item, _join(path, str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        kwargs = build_kwargs(annotation, value, path)
        try:
            return annotation(**kwargs)
        except ConfigError as exc:  # a cross-field check in __post_init__: add where it happened
            raise ConfigError([f"{path or 'config'}: {p}" for p in exc.problems]) from exc
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def build_kwargs(target: Any, args: dict[str, Any] | None, path: str) -> dict[str, Any]:
    """Check then build keyword arguments for `target`; raise all problems at once."""
    args = dict(args or {})
    name = getattr(target, "__name__", str(target))
    problems = check_kwargs(target, args, path, name)
    if problems:
        raise ConfigError(problems)
    _, hints, _ = signature_params(target)
    return {k: build(v, hints.get(k, Any), _join(path, k)) for k, v in args.items()}
