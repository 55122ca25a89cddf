"""Load rows from a `SourceConfig`: `datasets.load_dataset` or inline records."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from lit_align.config.data import SourceConfig
from lit_align.data.formats import CONVERTERS, DROP_REASON
from lit_align.data.local_files import check_local_text_files, json_lines_problem
from lit_align.errors import DataError


def load_source(source: SourceConfig, where: str) -> Any:
    """Return a `datasets.Dataset`; `where` (e.g. "sequence[0].data.train") names it in errors."""
    import datasets

    if source.records is not None:
        if source.path is not None:
            raise DataError(f"{where}: give either 'records' or 'path', not both")
        if not source.records:
            raise DataError(f"{where}.records: is empty; add rows or point 'path' at a dataset")
        dataset = datasets.Dataset.from_list(list(source.records))
    elif source.path is not None:
        check_local_text_files(source.path, source.data_files, where)
        try:
            with _datasets_errors() as logged:
                dataset = datasets.load_dataset(
                    source.path, name=source.name, data_dir=source.data_dir, data_files=source.data_files,
                    split=source.split,
                )
        except FileNotFoundError as exc:
            raise DataError(
                f"{where}: cannot find dataset path={source.path!r} data_files={source.data_files!r} "
                f"({_first_line(exc)}); check the path, relative paths start at the working directory"
            ) from exc
        except ValueError as exc:  # unknown split, bad builder arguments
            raise DataError(f"{where}: cannot load {source.path!r}: {_first_line(exc)}") from exc
        except Exception as exc:  # hub errors, unreadable files: name the source
            line = json_lines_problem(source.path, source.data_files, where)
            if line is not None:
                raise DataError(line) from exc
            cause = f"; {logged[-1]}" if logged else ""  # datasets logs the cause and raises a generic error
            raise DataError(
                f"{where}: loading {source.path!r} failed ({type(exc).__name__}: {_first_line(exc)}{cause})"
            ) from exc
    else:
        raise DataError(f"{where}: set 'path' (a dataset or file builder) or inline 'records'")
    if source.format != "auto":
        convert = CONVERTERS[source.format]
        try:
            dataset = dataset.map(convert, remove_columns=dataset.column_names)
        except (KeyError, ValueError) as exc:
            raise DataError(f"{where}: rows are not in the {source.format!r} layout ({exc})") from exc
        dataset = _drop_marked(dataset, where)
    if source.filter:
        dataset = _filter(dataset, source.filter, where)
    if source.limit is not None and source.limit < len(dataset):
        if source.limit_seed is None:
            dataset = dataset.select(range(source.limit))
        else:
            import random

            picked = sorted(random.Random(source.limit_seed).sample(range(len(dataset)), source.limit))
            dataset = dataset.select(picked)
    return dataset


@contextlib.contextmanager
def _datasets_errors() -> Iterator[list[str]]:
    """Error lines `datasets` logs while it loads (with a traceback, above the exception it then
    raises) are kept, not printed: the one error line lit-align prints carries the last of them."""
    logger = logging.getLogger("datasets")
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage().strip().splitlines()[0] if record.getMessage().strip() else "")

    handlers, propagate = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [Keep(logging.ERROR)], False  # datasets' own stream handler too
    try:
        yield lines
    finally:
        logger.handlers, logger.propagate = handlers, propagate


def _drop_marked(dataset: Any, where: str) -> Any:
    """Rows a converter marked unusable leave here, counted by reason in one warning line."""
    from collections import Counter

    if DROP_REASON not in dataset.column_names:
        return dataset
    reasons = Counter(r for r in dataset[DROP_REASON] if r)
    kept = dataset.filter(lambda row: not row[DROP_REASON]).remove_columns(DROP_REASON)
    if reasons:
        logging.getLogger(__name__).warning("%s: dropped %d of %d rows (%s)", where, sum(reasons.values()),
                                            len(dataset), ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())))
    if len(kept) == 0:
        raise DataError(f"{where}: every row was dropped by the converter ({dict(reasons)}); check the format")
    return kept


def _filter(dataset: Any, conditions: dict[str, Any], where: str) -> Any:
    missing = [c for c in conditions if c not in dataset.column_names]
    if missing:
        raise DataError(f"{where}.filter: no column(s) {', '.join(map(repr, missing))} "
                        f"(columns: {', '.join(dataset.column_names)})")
    wanted = {c: set(v) if isinstance(v, list) else {v} for c, v in conditions.items()}
    kept = dataset.filter(lambda row: all(row[c] in values for c, values in wanted.items()))
    if len(kept) == 0:
        raise DataError(f"{where}.filter: no row matches {conditions}; check the values")
    return kept


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
