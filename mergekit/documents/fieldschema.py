"""The field schema: which merge fields exist (the shape of a complete context, such as
the sample pupil's), and what each name in a template refers to, following ``{% for %}`` loops
into their rows, so an unknown field is reported with a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes


class _Any:
    """Something the check cannot follow (a method result, a filter's output): no checks."""


ANY = _Any()


def schema_of(value: Any) -> Any:
    """Dicts stay dicts, a list becomes [schema of one row] (its rows' keys merged)."""
    if isinstance(value, Mapping):
        return {k: schema_of(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        rows = [schema_of(v) for v in value]
        if not rows:
            return [ANY]
        if all(isinstance(r, dict) for r in rows):
            merged: dict[str, Any] = {}
            for r in rows:
                merged.update(r)
            return [merged]
        return [rows[0]]
    return value


def context_schema(context: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = schema_of(context)
    if isinstance(schema.get("action"), dict):
        schema["action"]["evidence"] = ANY  # free-form: whatever the rule recorded
    return schema


def known_names(schema: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of everything in the schema, rows of lists written as name[]."""
    out: list[str] = []
    for key, value in schema.items():
        name = f"{prefix}{key}"
        out.append(name)
        if isinstance(value, dict):
            out.extend(known_names(value, f"{name}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.extend(known_names(value[0], f"{name}[]."))
    return out


@dataclass(frozen=True)
class UnknownField:
    name: str  # as written in the template, e.g. "pupil.forname" or "a.dat"
    suggestions: tuple[str, ...]
    lineno: int
    note: str = ""  # e.g. "a is one row of attendance.recent_absences"

    def message(self) -> str:
        text = f"unknown field '{self.name}'"
        if self.note:
            text += f" ({self.note})"
        if self.suggestions:
            text += " - did you mean " + " or ".join(f"'{s}'" for s in self.suggestions) + "?"
        else:
            text += " - `mergekit fields` lists the fields"
        return text


@dataclass
class _Val:
    schema: Any
    path: str  # dotted, as the user wrote it
    origin: str = ""  # for loop variables: the list they come from


class FieldVisitor:
    """Walks a parsed Jinja template, resolving every name against the schema."""

    def __init__(self, schema: Mapping[str, Any], globals_: Sequence[str] = ()) -> None:
        self.schema = schema
        self.globals = {
            "loop",
            "range",
            "dict",
            "lipsum",
            "cycler",
            "joiner",
            "namespace",
            *globals_,
        }
        self.unknown: list[UnknownField] = []
        self.guarded: set[str] = set()
        self.used: list[str] = []
        self._names = known_names(schema)

    def run(self, tree: nodes.Template) -> None:
        # Fields the template asks about ({% if x is defined %}, x|default(...)) are optional:
        # their uses are not errors anywhere in the template.
        for n in tree.find_all((nodes.Test, nodes.Filter)):
            if n.name in ("defined", "undefined", "default", "d") and n.node is not None:
                path = _dotted(n.node)
                if path:
                    self.guarded.add(path)
        self._visit_all(tree.body, {})

    # -- traversal -----------------------------------------------------------------------

    def _visit_all(self, items: Sequence[nodes.Node], scope: dict[str, _Val]) -> None:
        for n in items:
            self._visit(n, scope)

    def _visit(self, n: nodes.Node, scope: dict[str, _Val]) -> None:
        if isinstance(n, nodes.For):
            it = self._resolve(n.iter, scope)
            inner = dict(scope)
            row: Any = ANY
            if isinstance(it.schema, list):
                row = it.schema[0]
            self._bind(n.target, inner, _Val(row, "", it.path), row_of=it.path)
            inner["loop"] = _Val(ANY, "loop")
            if n.test is not None:
                self._resolve(n.test, inner)
            self._visit_all(n.body, inner)
            self._visit_all(n.else_, scope)
            return
        if isinstance(n, nodes.Assign):
            value = self._resolve(n.node, scope)
            self._bind(n.target, scope, _Val(value.schema, ""))
            return
        if isinstance(n, nodes.AssignBlock):
            self._bind(n.target, scope, _Val(ANY, ""))
            self._visit_all(n.body, scope)
            return
        if isinstance(n, nodes.With):
            inner = dict(scope)
            for target, expr in zip(n.targets, n.values, strict=False):
                self._bind(target, inner, _Val(self._resolve(expr, scope).schema, ""))
            self._visit_all(n.body, inner)
            return
        if isinstance(n, nodes.Macro | nodes.CallBlock):
            inner = dict(scope)
            for arg in n.args:
                inner[arg.name] = _Val(ANY, arg.name)
            for name in ("caller", "varargs", "kwargs"):
                inner[name] = _Val(ANY, name)
            if isinstance(n, nodes.Macro):
                scope[n.name] = _Val(ANY, n.name)
            else:
                self._resolve(n.call, scope)
            self._visit_all(n.body, inner)
            return
        if isinstance(n, nodes.Expr):
            self._resolve(n, scope)
            return
        for child in n.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self._resolve(child, scope)
            else:
                self._visit(child, scope)

    def _bind(
        self, target: nodes.Node, scope: dict[str, _Val], value: _Val, row_of: str = ""
    ) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = _Val(value.schema, target.name, row_of)
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                self._bind(item, scope, _Val(ANY, ""))
        elif isinstance(target, nodes.NSRef):
            pass

    # -- expressions ---------------------------------------------------------------------

    def _resolve(self, n: nodes.Node, scope: dict[str, _Val]) -> _Val:
        if (isinstance(n, nodes.Test) and n.name in ("defined", "undefined")) or (
            isinstance(n, nodes.Filter) and n.name in ("default", "d")
        ):
            # Asking whether a field exists, or giving one a default, is how templates
            # use optional fields: no error for the field itself.
            children: list[nodes.Node] = [*n.args, *(k.value for k in n.kwargs)]
            for child in children:
                self._resolve(child, scope)
            return _Val(ANY, "")
        if isinstance(n, nodes.Name):
            if n.name in scope:
                return scope[n.name]
            if n.name in self.schema:
                self.used.append(n.name)
                return _Val(self.schema[n.name], n.name)
            if n.name in self.globals:
                return _Val(ANY, n.name)
            self._unknown(n.name, n.lineno, self._top_suggestions(n.name))
            return _Val(ANY, n.name)
        if isinstance(n, nodes.Getattr):
            return self._member(self._resolve(n.node, scope), n.attr, n.lineno)
        if isinstance(n, nodes.Getitem):
            base = self._resolve(n.node, scope)
            arg = n.arg
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                return self._member(base, arg.value, n.lineno)
            self._resolve(arg, scope)
            if isinstance(arg, nodes.Const) and isinstance(base.schema, list):
                return _Val(base.schema[0], f"{base.path}[{arg.value}]")
            return _Val(ANY, "")
        for child in n.iter_child_nodes():
            self._resolve(child, scope)
        return _Val(ANY, "")

    def _member(self, base: _Val, attr: str, lineno: int) -> _Val:
        s = base.schema
        path = f"{base.path}.{attr}" if base.path else attr
        if isinstance(s, dict):
            if attr in s:
                if not base.origin:
                    self.used.append(path)
                return _Val(s[attr], path)
            if hasattr(dict, attr):
                return _Val(ANY, path)
            note = f"{base.path} is one row of {base.origin}" if base.origin else ""
            options = difflib.get_close_matches(attr, list(s), n=3, cutoff=0.6)
            suggestions = tuple(f"{base.path}.{o}" for o in options)
            if not suggestions and not base.origin:
                suggestions = tuple(difflib.get_close_matches(path, self._names, n=3, cutoff=0.7))
            self._unknown(path, lineno, suggestions, note)
            return _Val(ANY, path)
        if isinstance(s, list):
            if hasattr(list, attr):
                return _Val(ANY, path)
            self._unknown(path, lineno, (), f"{base.path} is a list: use {{% for %}} over it")
            return _Val(ANY, path)
        if isinstance(s, _Any) or s is None:
            return _Val(ANY, path)
        if hasattr(s, attr):  # a method of a text or number value, e.g. .upper()
            return _Val(ANY, path)
        self._unknown(path, lineno, (), f"{base.path} is a single value, not a group")
        return _Val(ANY, path)

    def _top_suggestions(self, name: str) -> tuple[str, ...]:
        tops = list(self.schema)
        found = difflib.get_close_matches(name, tops, n=2, cutoff=0.7)
        leaf = [n for n in self._names if "[]" not in n and n.rsplit(".", 1)[-1] == name]
        near_leaf = [
            n
            for n in self._names
            if "[]" not in n
            and "." in n
            and difflib.SequenceMatcher(None, n.rsplit(".", 1)[-1], name).ratio() >= 0.8
        ]
        out: list[str] = []
        for s in [*found, *leaf, *near_leaf]:
            if s not in out:
                out.append(s)
        return tuple(out[:3])

    def _unknown(self, name: str, lineno: int, suggestions: Sequence[str], note: str = "") -> None:
        if name in self.guarded:
            return
        self.unknown.append(UnknownField(name, tuple(suggestions), lineno, note))


def _dotted(n: nodes.Node) -> str:
    """'pupil.nickname' for a plain chain of names and attributes, else ''."""
    if isinstance(n, nodes.Name):
        return n.name
    if isinstance(n, nodes.Getattr):
        base = _dotted(n.node)
        return f"{base}.{n.attr}" if base else ""
    return ""


def unknown_fields(tree: nodes.Template, schema: Mapping[str, Any]) -> list[UnknownField]:
    v = FieldVisitor(schema)
    v.run(tree)
    return v.unknown


def used_fields(tree: nodes.Template, schema: Mapping[str, Any]) -> list[str]:
    v = FieldVisitor(schema)
    v.run(tree)
    return list(dict.fromkeys(v.used))
