"""The starter mergekit.toml (`mergekit init`) and the key reference (docs/config.md).

Both are generated from the schema in :mod:`mergekit.core.config`, so every key is documented,
with its real default, in exactly one place.
"""

from __future__ import annotations

import os
from dataclasses import MISSING
from pathlib import Path

from mergekit.core.atomic import temp_name
from mergekit.core.config import CONFIG_NAME, KeyDoc, iter_keys, toml_value
from mergekit.core.errors import ConfigError

_SECTION_HELP = {
    "school": "Your school, as printed on letters and forms.",
    "council": "The local authority's Children Missing Education team.",
    "files": "Where your workbooks are, relative to this file.",
    "sheets": "Sheet names: only needed when mergekit cannot recognise a sheet by its headers.",
    "calendar": "The school's own calendar: term dates (each half term), INSET days, closures.",
    "policy": "The rules of your attendance policy (defaults are the example policy's).",
    "mail": "Sending email. Nothing is sent unless you run `mergekit send --send`.",
    "pdf": "PDF conversion and protection.",
    "run": "Advanced.",
    "evidence": "Evidence packs (`mergekit evidence`): one PDF per pupil, for the CME team.",
}

_EXAMPLES_AFTER = {
    "sheets": (
        "# Header names mergekit does not know, per sheet, e.g.\n"
        "# [columns.pupils]\n"
        '# dob = "Birth Date"\n'
        '# reg_group = "Class"\n'
        "\n"
        "# Your own Word template for an action, e.g.\n"
        "# [templates]\n"
        '# pa_letter_1 = "templates/our_letter_1.docx"\n'
    ),
    "pdf": (
        "# A council's own fillable PDF, tied to mergekit fields (see `mergekit pdf fields`\n"
        "# and `mergekit fields`), e.g.\n"
        "# [forms.council_cme]\n"
        '# file = "CME referral form.pdf"\n'
        '# action = "cme_referral"\n'
        "# [forms.council_cme.fields]\n"
        '# "Child surname" = "pupil.surname"\n'
        '# "Date of birth" = "pupil.dob"\n'
    ),
}

_TOP_LEVEL_TABLES = {"columns", "templates", "forms"}


def _sections() -> dict[str, list[KeyDoc]]:
    out: dict[str, list[KeyDoc]] = {}
    for k in iter_keys():
        if not k.section and k.key in _TOP_LEVEL_TABLES:
            continue
        out.setdefault(k.section, []).append(k)
    out.pop("forms", None)
    return out


def starter_toml() -> str:
    """A complete mergekit.toml with every key commented and set to its default."""
    lines = [
        "# mergekit.toml: mergekit's settings for your school.",
        "# Lines starting with # are comments. Every key is shown with its default value;",
        "# change what applies to your school. Dates are written YYYY-MM-DD without quotes.",
        "# Full reference: docs/config.md.",
        "",
    ]
    for section, keys in _sections().items():
        lines.append(f"[{section}]")
        if section in _SECTION_HELP:
            lines.append(f"# {_SECTION_HELP[section]}")
        for k in keys:
            lines.append(f"# {k.doc}")
            value = k.example if k.example is not MISSING else k.default
            if section == "run" and k.key == "today":
                lines.append("# today = 2026-11-27")
            elif value is MISSING or value is None:
                lines.append(f"# {k.key} =")
            elif section == "calendar" and k.key == "terms":
                lines.extend(
                    [
                        "terms = [",
                        "  # { start = 2026-09-01, end = 2026-10-23 },",
                        "  # { start = 2026-11-02, end = 2026-12-18 },",
                        "]",
                    ]
                )
            else:
                lines.append(f"{k.key} = {toml_value(value)}")
        lines.append("")
        if section in _EXAMPLES_AFTER:
            lines.append(_EXAMPLES_AFTER[section])
    return "\n".join(lines).rstrip() + "\n"


def config_reference() -> str:
    """docs/config.md: every key with type, default and meaning."""
    out = [
        "# mergekit.toml reference",
        "",
        "Generated from `mergekit/core/config.py`",
        "(`python -m mergekit.core.starter > docs/config.md`); a test keeps it in step.",
        "`mergekit init` writes a starter file with every key.",
        "",
        "Paths are relative to the folder holding mergekit.toml. An unknown key is a warning",
        'with a "did you mean"; a value of the wrong type is an error naming the key and line.',
        "",
    ]
    for section, keys in _sections().items():
        out += [
            f"## [{section}]",
            "",
            _SECTION_HELP.get(section, ""),
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for k in keys:
            default = (
                "(required)"
                if k.default is MISSING
                else ("(not set)" if k.default is None else f"`{toml_value(k.default)}`")
            )
            out.append(f"| `{k.key}` | {k.type_name} | {default} | {k.doc} |")
        out.append("")
    out += [
        "## [columns.SHEET]",
        "",
        'Your header for a field mergekit does not recognise: `[columns.pupils] dob = "Birth '
        'Date"`. SHEET is one of pupils, contacts, marks, contact_log, letters, events, '
        "off_roll; the field names are the ones `mergekit check` names in its messages "
        "(see mergekit/read/columns.py for every field and the headers already known).",
        "",
        "## [templates]",
        "",
        'Your own Word template per action: `pa_letter_1 = "our_letter_1.docx"`. Check it '
        "with `mergekit templates check FILE`.",
        "",
        "## [forms.NAME]",
        "",
        "A council's own fillable PDF: `file` (the PDF), `action` (which action it is filled "
        "for, default cme_referral) and a `[forms.NAME.fields]` table of PDF field name = "
        "mergekit field. `mergekit pdf fields FORM.pdf` lists the PDF's fields and "
        "`mergekit fields` the mergekit fields.",
        "",
    ]
    return "\n".join(out)


def write_starter(folder: Path) -> Path:
    """Write a starter mergekit.toml into ``folder``; never overwrites."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / CONFIG_NAME
    if target.exists():
        raise ConfigError(
            f"{target} already exists - mergekit init never overwrites; edit it, "
            "or choose another folder"
        )
    tmp = folder / temp_name(CONFIG_NAME)  # removed below; a crash's is cleaned next write
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(starter_toml())
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        os.link(tmp, target)  # fails if the target appeared meanwhile: still never overwrites
    except FileExistsError:
        raise ConfigError(f"{target} already exists - mergekit init never overwrites") from None
    except OSError:  # a filesystem without hard links: exclusive create instead
        with target.open("x", encoding="utf-8") as fh:
            fh.write(starter_toml())
    finally:
        os.unlink(tmp)
    return target


if __name__ == "__main__":  # pragma: no cover - regenerates docs/config.md
    import sys

    sys.stdout.write(config_reference())
