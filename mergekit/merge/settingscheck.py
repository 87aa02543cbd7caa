"""Settings the documents print: which ones each template uses, and which are not filled in.

A letter that reads "arrange a meeting with  or a senior member of staff" is worse than no
letter. So before a document or email is made, every ``[school]`` and ``[council]`` setting
its templates print must be filled in and not still the placeholder ``mergekit init`` wrote
(a config field's ``example``). The templates are read, not a list kept by hand: a field counts
as printed when a ``{{ }}`` or a ``{% for %}`` uses it outside an ``{% if %}`` that tests it and
without an ``or`` fallback or ``|default``. Those guarded uses are how templates say a setting
is optional (``{% if school.urn %}``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes

from mergekit.core.actions import DOCUMENT_ACTIONS, EMAILED
from mergekit.core.config import CouncilSettings, SchoolSettings, Settings
from mergekit.core.errors import Problem, TemplateError, error

SECTIONS: Mapping[str, type] = {"school": SchoolSettings, "council": CouncilSettings}
# Merge fields that are a setting under another name.
_ALIASES = {
    "school.address_lines": "school.address",
    "council.address_lines": "council.address",
}


@dataclass(frozen=True)
class SettingProblem:
    """A setting that printed templates need, blank or a placeholder."""

    key: str  # "school.head_teacher"
    actions: tuple[str, ...]  # whose documents or emails print it
    problem: Problem


# ---------------------------------------------------------------------------------------------
# What a template prints


def printed_settings(tree: nodes.Template) -> set[str]:
    """The ``school.*`` and ``council.*`` fields a parsed template prints whatever their
    value (as config keys: ``school.address_lines`` is ``school.address``)."""
    out: set[str] = set()
    for node in tree.body:
        _statement(node, frozenset(), out)
    return out


def _statement(node: nodes.Node, guarded: frozenset[str], out: set[str]) -> None:
    if isinstance(node, nodes.If):
        inner = guarded | _fields_in(node.test)
        for child in (*node.body, *node.elif_, *node.else_):
            _statement(child, inner, out)
    elif isinstance(node, nodes.Output):
        for expr in node.nodes:
            _expression(expr, guarded, out)
    elif isinstance(node, nodes.For):
        _expression(node.iter, guarded, out)
        for child in (*node.body, *node.else_):
            _statement(child, guarded, out)
    else:
        for child in node.iter_child_nodes():
            if not isinstance(child, nodes.Expr):
                _statement(child, guarded, out)


def _expression(expr: nodes.Node, guarded: frozenset[str], out: set[str]) -> None:
    if isinstance(expr, nodes.Or):  # `a or b`: a has a fallback
        _expression(expr.right, guarded, out)
        return
    if isinstance(expr, nodes.CondExpr):
        inner = guarded | _fields_in(expr.test)
        _expression(expr.expr1, inner, out)
        if expr.expr2 is not None:
            _expression(expr.expr2, inner, out)
        return
    if isinstance(expr, nodes.Test) or (
        isinstance(expr, nodes.Filter) and expr.name in ("default", "d")
    ):
        return
    name = _setting(expr)
    if name:
        if name not in guarded:
            out.add(name)
        return
    for child in expr.iter_child_nodes():
        _expression(child, guarded, out)


def _setting(expr: nodes.Node) -> str:
    """'school.head_teacher' for that field (as a config key), else ''."""
    if (
        isinstance(expr, nodes.Getattr)
        and isinstance(expr.node, nodes.Name)
        and expr.node.name in SECTIONS
    ):
        name = f"{expr.node.name}.{expr.attr}"
        return _ALIASES.get(name, name)
    return ""


def _fields_in(expr: nodes.Node) -> frozenset[str]:
    """The settings an ``{% if %}`` test looks at (the test itself may be one)."""
    found = (expr, *expr.find_all(nodes.Getattr))
    return frozenset(name for n in found if (name := _setting(n)))


# ---------------------------------------------------------------------------------------------
# Which templates an action uses


_cache: dict[tuple[str, int, int], frozenset[str]] = {}


def _word_template(path: Path) -> frozenset[str]:
    """What a Word template prints (compiled once per file version)."""
    from mergekit.merge.render import compile_template

    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    found = _cache.get(key)
    if found is None:
        compiled = compile_template(path)
        printed: set[str] = set()
        for part in compiled.parts:
            printed |= printed_settings(part.template.environment.parse(part.source))
        found = _cache[key] = frozenset(printed)
    return found


def _email_templates(env: jinja2.Environment, action: str) -> Iterator[str]:
    """The email template files for an action (with the pieces they include)."""
    family = action.rsplit("_", 1)[0] if action[-1:].isdigit() else action
    for name in dict.fromkeys((action, family)):
        try:
            env.get_template(f"{name}.subject.txt")
        except jinja2.TemplateNotFound:
            continue
        for suffix in (".subject.txt", ".txt", ".html"):
            yield f"{name}{suffix}"
        return


def _email_printed(env: jinja2.Environment, name: str, seen: set[str]) -> set[str]:
    if name in seen:
        return set()
    seen.add(name)
    loader = env.loader
    assert loader is not None
    try:
        source, _, _ = loader.get_source(env, name)
        tree = env.parse(source, name)
    except jinja2.TemplateNotFound:
        return set()
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{name} line {e.lineno}: {e.message} - fix the template") from e
    out = printed_settings(tree)
    for include in tree.find_all(nodes.Include):
        if isinstance(include.template, nodes.Const) and isinstance(include.template.value, str):
            out |= _email_printed(env, include.template.value, seen)
    return out


def settings_used(settings: Settings, actions: Iterable[str]) -> dict[str, list[str]]:
    """config key -> the actions whose Word template or email prints it."""
    from mergekit.merge.templates import EmailTemplates, template_path

    env = EmailTemplates.for_settings(settings).env
    used: dict[str, list[str]] = {}
    for action in dict.fromkeys(actions):
        printed: set[str] = set()
        if action in DOCUMENT_ACTIONS:
            printed |= _word_template(template_path(settings, action))
        if action in EMAILED:
            seen: set[str] = set()
            for name in _email_templates(env, action):
                printed |= _email_printed(env, name, seen)
        for key in printed:
            used.setdefault(key, []).append(action)
    return used


# ---------------------------------------------------------------------------------------------
# Blank and placeholder values


def placeholder(key: str) -> Any:
    """What ``mergekit init`` writes for a key (its placeholder), or MISSING."""
    section, name = key.split(".", 1)
    for f in fields(SECTIONS[section]):
        if f.name == name:
            return f.metadata.get("example", MISSING)
    return MISSING


def setting_problems(settings: Settings, actions: Sequence[str]) -> list[SettingProblem]:
    """Every printed setting of these actions that is blank or still the placeholder."""
    out: list[SettingProblem] = []
    for key, users in sorted(settings_used(settings, actions).items()):
        section, name = key.split(".", 1)
        value = getattr(getattr(settings, section), name, None)
        if value is None:
            continue  # a merge field that is not a setting
        shown = f"[{section}] {name}"
        if _blank(value):
            what = f"{shown} is empty"
            fix = f"set it in {settings.path.name}"
        elif value == placeholder(key):
            what = f"{shown} = {_toml(value)} is the placeholder `mergekit init` wrote"
            fix = f"put your own in {settings.path.name}"
        else:
            continue
        typo = _typo(settings, section, name)
        many = len(users) > 1
        prints = "templates print" if many else "template prints"
        problem = error(
            f"{what}, but the {_listed(users)} {prints} it: {'they are' if many else 'it is'} "
            f"not made until it is filled in{typo}",
            file=settings.where(key),
            group="config",
            hint=fix,
        )
        out.append(SettingProblem(key, tuple(users), problem))
    return out


def _blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not any(str(v).strip() for v in value)
    return False


def _toml(value: object) -> str:
    from mergekit.core.config import toml_value

    return toml_value(value)


def _typo(settings: Settings, section: str, name: str) -> str:
    """ " (line 9 has 'head_teachr': did you mean 'head_teacher'?)" for a misspelt key."""
    prefix = f"{section}."
    unknown = [k[len(prefix) :] for k in settings.unknown_keys if k.startswith(prefix)]
    close = difflib.get_close_matches(name, unknown, n=1)
    if not close:
        return ""
    where = settings.where(f"{section}.{close[0]}").replace(settings.path.name, "").strip()
    return f" ({where or 'the file'} has '{close[0]}': did you mean '{name}'?)"


def _listed(actions: Sequence[str]) -> str:
    return ", ".join(actions[:-1]) + " and " + actions[-1] if len(actions) > 1 else actions[0]
