"""Starter templates: the bundled Word templates copied into the school's own folder to edit
(``mergekit templates copy``), and how to point mergekit.toml at them.

Existing files are never overwritten: a template staff have already edited stays as it is.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mergekit.core.actions import DOCUMENT_ACTIONS
from mergekit.core.resources import bundled
from mergekit.core.setting_advice import SettingAdvice, how_to_set


@dataclass(frozen=True)
class StarterTemplate:
    action: str
    path: Path  # where it is in the school's folder
    copied: bool  # False: it was already there and was kept


@dataclass(frozen=True)
class TemplatesCopied:
    templates: tuple[StarterTemplate, ...]
    advice: SettingAdvice  # how to set [files] templates in mergekit.toml

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.templates)


def copy_templates(folder: Path, config: Path) -> TemplatesCopied:
    """Copy every bundled Word template into ``folder``/docx/ (keeping any already there)."""
    target = folder / "docx"
    target.mkdir(parents=True, exist_ok=True)
    done: list[StarterTemplate] = []
    for action in DOCUMENT_ACTIONS:
        source = bundled("templates", "docx", f"{action}.docx")
        dest = target / source.name
        if dest.exists():
            done.append(StarterTemplate(action, dest, copied=False))
            continue
        shutil.copyfile(source, dest)
        done.append(StarterTemplate(action, dest, copied=True))
    advice = how_to_set(config, "files", "templates", relative_to(folder, config))
    return TemplatesCopied(tuple(done), advice)


def relative_to(folder: Path, config: Path) -> str:
    """``folder`` as [files] templates in ``config`` names it: relative to the config's
    folder where it can be."""
    try:
        return folder.resolve().relative_to(config.resolve().parent).as_posix()
    except ValueError:
        return folder.resolve().as_posix()
