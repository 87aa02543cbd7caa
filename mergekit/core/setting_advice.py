"""Exactly how to set one key in the school's mergekit.toml, whatever it holds already.

TOML refuses a table declared twice ("Cannot declare ('files',) twice"), so "add `[files]
templates = ...`" is wrong advice for a file that already has a [files] table. mergekit does
not rewrite the file (it is the school's, comments and all): it says which line to add or
change, and where.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SettingAdvice:
    """What to do, and whether there is anything to do."""

    text: str
    needed: bool = True


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def how_to_set(config: Path, table: str, key: str, value: str) -> SettingAdvice:
    """How to make ``[table] key = "value"`` true in ``config``, naming the lines."""
    line = f"{key} = {toml_string(value)}"
    name = config.name
    if not config.is_file():
        return SettingAdvice(
            f"there is no {config} here yet: write it with `mergekit init` (or pass --config), "
            f"then set [{table}] {line} in it; running this command again says which line "
            "to change"
        )
    text = config.read_text(encoding="utf-8-sig", errors="replace")
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return SettingAdvice(
            f"{config} cannot be read ({e}): fix it first, then set {line} in its [{table}] table"
        )
    current = parsed.get(table)
    if isinstance(current, dict) and current.get(key) == value:
        return SettingAdvice(f"{name} already has [{table}] {line}: nothing to change", False)
    lines = text.splitlines()
    header = _table_line(lines, table)
    if header is None:
        if table in parsed:  # an inline table or dotted keys: say where, without guessing
            where = _first_mention(lines, table)
            at = f" (line {where})" if where else ""
            return SettingAdvice(
                f"{name} sets {table} in one line{at}: add {key} = {toml_string(value)} to it"
            )
        return SettingAdvice(
            f"{name} has no [{table}] table: add these two lines at the end of it:\n"
            f"  [{table}]\n  {line}"
        )
    existing = _key_line(lines, header, key)
    if existing is not None:
        return SettingAdvice(
            f"{name} already sets {key} in its [{table}] table (line {existing}: "
            f"{lines[existing - 1].strip()}): change that line to\n  {line}"
        )
    return SettingAdvice(
        f"{name} already has a [{table}] table (line {header}): add this line under it "
        f"(a second [{table}] line would be an error):\n  {line}"
    )


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def _table_line(lines: list[str], table: str) -> int | None:
    """The 1-based line of the ``[table]`` header."""
    for number, text in enumerate(lines, start=1):
        m = _HEADER.match(text)
        if m and m.group(1).strip("\"'") == table:
            return number
    return None


def _key_line(lines: list[str], header: int, key: str) -> int | None:
    """The line setting ``key`` inside the table whose header is at line ``header``."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number in range(header + 1, len(lines) + 1):
        text = lines[number - 1]
        if text.lstrip().startswith("["):
            return None
        if pattern.match(text):
            return number
    return None


def _first_mention(lines: list[str], table: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(table)}\s*[.=]")
    return next((n for n, t in enumerate(lines, start=1) if pattern.match(t)), None)
