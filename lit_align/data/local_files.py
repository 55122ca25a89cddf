"""Checks on local data files before `datasets` reads them, so a bad file is named exactly.

`datasets` reports an empty file or a glob that matches nothing as a bare `StopIteration`,
and invalid UTF-8 only when a row is first read (a pyarrow traceback). Here each local
file a text builder (`json`, `csv`, `text`) will read is listed, and one line names the
file and what is wrong with it: no match, empty, or the byte offset of the first byte that
is not UTF-8.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from lit_align.errors import DataError

TEXT_BUILDERS = frozenset({"json", "csv", "text"})
_CHUNK = 1 << 20


def _patterns(data_files: Any) -> list[str]:
    if isinstance(data_files, str):
        return [data_files]
    if isinstance(data_files, (list, tuple)):
        return [p for item in data_files for p in _patterns(item)]
    if isinstance(data_files, dict):
        return [p for value in data_files.values() for p in _patterns(value)]
    return []


def check_local_text_files(builder: str, data_files: Any, where: str) -> None:
    """Raise DataError naming the first file that matches nothing, is empty or is not UTF-8."""
    if builder not in TEXT_BUILDERS:
        return
    for pattern in _patterns(data_files):
        if "://" in pattern:  # remote (hf://, s3://): datasets reports those itself
            continue
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise DataError(f"{where}: no files match {pattern!r}; check the pattern (relative paths start "
                            f"at the working directory)")
        for name in matches:
            path = Path(name)
            if path.is_dir():
                raise DataError(f"{where}: {name} is a directory; name the files in it "
                                f"(e.g. {name.rstrip('/')}/*.{'jsonl' if builder == 'json' else builder})")
            if not path.is_file():
                continue  # missing files: datasets' FileNotFoundError names them
            if path.stat().st_size == 0:
                raise DataError(f"{where}: {name} is empty (no rows); add rows or point data_files elsewhere")
            _check_utf8(path, where)
            if builder == "csv":
                _check_csv_fields(path, where)


def _check_csv_fields(path: Path, where: str) -> None:
    """Every record has the header's number of fields; the first that does not is named by the
    line it starts on (pandas reports it on a later line, or not at all through datasets). A
    quote left open swallows the lines after it into one field: that is named as such."""
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        if header[0].lstrip().startswith(("{", "[")):
            raise DataError(f"{where}: {path} holds JSON, not CSV (its first line starts with "
                            f"{header[0].lstrip()[:1]!r}); set path: json")
        start = reader.line_num + 1
        for record in reader:
            if record and len(record) != len(header):
                if reader.line_num > start and any("\n" in field for field in record):
                    raise DataError(f"{where}: {path} line {start} opens a quote that is not closed where the line "
                                    f"ends (the field runs on to line {reader.line_num}); close it, and write a quote "
                                    f"inside a quoted field twice (\"\")")
                raise DataError(f"{where}: {path} line {start} has {len(record)} fields, the header has "
                                f"{len(header)} ({', '.join(header)}); quote fields that hold commas")
            start = reader.line_num + 1


def _check_utf8(path: Path, where: str) -> None:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            pending = decoder.getstate()[0]  # the start of a character cut by the previous chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                raise DataError(f"{where}: {path} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset "
                                f"{offset - len(pending) + exc.start}); re-save the file as UTF-8 "
                                f"(e.g. iconv -f latin1 -t utf-8)") from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError(f"{where}: {path} is not valid UTF-8 (it ends inside a character, byte offset "
                            f"{offset - len(decoder.getstate()[0])}); re-save the file as UTF-8") from None


def json_lines_problem(builder: str, data_files: Any, where: str) -> str | None:
    """After `datasets` failed on a JSON source: the first line of a JSON Lines file that does not
    parse, named by file and line (datasets reports "An error occurred while generating the
    dataset" and logs the cause above it). None when every line parses or the file is one
    JSON document (a list or a pretty-printed object)."""
    import json

    if builder != "json":
        return None
    for pattern in _patterns(data_files):
        if "://" in pattern:
            continue
        for name in sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]:
            path = Path(name)
            if not path.is_file():
                continue
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = [(n, line) for n, line in enumerate(handle, 1) if line.strip()]
            if not lines or not _parses(lines[0][1]):
                continue  # not JSON Lines: one document, which datasets reads whole
            for number, line in lines:
                try:
                    json.loads(line)
                except json.JSONDecodeError as exc:
                    cut = " (the file may have been cut off)" if number == lines[-1][0] else ""
                    return (f"{where}: {path} line {number} is not valid JSON ({exc.msg}: column {exc.colno})"
                            f"{cut}; fix or remove that line")
    return None


def _parses(line: str) -> bool:
    import json

    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True
