"""Which templates an action uses: its Word template (the school's own, else the bundled one)
and its email templates (the school's folder first, then the bundled words).

The letters, the emails and the check of the settings they print all find templates here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from mergekit.core.config import Settings
from mergekit.core.errors import TemplateError
from mergekit.core.resources import bundled


def template_path(settings: Settings, action: str) -> Path:
    """The Word template for an action: ``[templates] <action>`` in mergekit.toml, else
    ``docx/<action>.docx`` in the ``[files] templates`` folder, else the bundled one."""
    own = settings.templates.get(action)
    if own:
        path = settings.resolve(own)
        if not path.is_file():
            raise TemplateError(
                f"{settings.where('templates.' + action)}: [templates] {action} = {own!r}: no "
                f"such file {path} - put the template there or correct the path (relative to "
                "mergekit.toml)"
            )
        return path
    if settings.files.templates:
        folder = settings.resolve(settings.files.templates) / "docx"
        path = folder / f"{action}.docx"
        if path.is_file():
            return path
    return bundled("templates", "docx", f"{action}.docx")


class EmailTemplates:
    """``<action>.subject.txt``, ``<action>.txt`` and optional ``<action>.html`` from the school's
    own templates folder first, then mergekit's bundled ones. ``pa_letter_2`` falls back to
    ``pa_letter`` so one set of words can serve all three letters."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(folders)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in self.folders]),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "htm"), default_for_string=False, default=False
            ),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> EmailTemplates:
        folders = []
        if settings.files.templates:
            folders.append(settings.resolve(settings.files.templates) / "email")
        folders.append(bundled("templates", "email"))
        return cls(folders)

    def _name(self, action: str) -> str:
        family = re.sub(r"_\d+$", "", action)
        for name in dict.fromkeys((action, family)):
            if self._exists(f"{name}.subject.txt"):
                return name
        where = " or ".join(str(f) for f in self.folders)
        raise TemplateError(
            f"{where}: no email template for {action} - add {family}.subject.txt and "
            f"{family}.txt (and {family}.html if you want a formatted version)"
        )

    def _exists(self, name: str) -> bool:
        try:
            self.env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        except jinja2.TemplateSyntaxError as e:
            raise _syntax(e) from e
        return True

    def render(self, action: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """(subject, plain text, HTML or '') for one message."""
        name = self._name(action)
        subject = " ".join(self._render(f"{name}.subject.txt", context).split())
        if not subject:
            raise TemplateError(f"{name}.subject.txt: the subject came out empty - write one")
        text = self._render(f"{name}.txt", context)
        html = self._render(f"{name}.html", context) if self._exists(f"{name}.html") else ""
        return subject, text, html

    def _render(self, template: str, context: Mapping[str, Any]) -> str:
        try:
            return str(self.env.get_template(template).render(context))
        except jinja2.TemplateNotFound as e:
            raise TemplateError(
                f"{template}: missing beside the subject template - add it to templates/email"
            ) from e
        except jinja2.TemplateSyntaxError as e:
            raise _syntax(e) from e
        except jinja2.UndefinedError as e:
            if "'reason'" in (e.message or ""):
                raise TemplateError(
                    f"{template}: {e.message} - action.reason is the planner's note for staff "
                    "and never goes into an email: write the words for the reader (email.today, "
                    "absence.first_day, email.contact_attempts ... are there for that)"
                ) from e
            raise TemplateError(
                f"{template}: {e.message} - check the field name (`mergekit fields` lists them; "
                "emails also have email.initials, email.reference, email.attachment, "
                "email.password_protected, email.recipients, email.salutation, email.today, "
                "email.reason_known, email.contact_attempts)"
            ) from e


def _syntax(e: jinja2.TemplateSyntaxError) -> TemplateError:
    name = e.filename or e.name or "email template"
    return TemplateError(f"{name} line {e.lineno}: {e.message} - fix the template")
