"""Letters in bulk: the plain docxtpl loop against mergekit's compiled renderer, same run.

    /work/venv/bin/python benchmarks/bench_render.py [--letters 1000] [--template pa_letter_2]

Both ways render the same letters (one invented pupil each, with their own name, UPN, parents,
address and absences) and write each to a .docx file:

* plain: what a user would write, a ``DocxTemplate`` per pupil, ``render`` (autoescape, strict
  undefined), ``save``;
* mergekit: the template compiled once (its compile time included), then per letter one Jinja
  render of each tagged part and a zip written with the unchanged parts' bytes copied.

Letters 1-3 print ``{{ attendance_chart }}``, a picture drawn for each pupil. Drawing it is the
same work whichever way the letter is made, so it is timed on its own and the two renderers are
compared without it (the field given as text in both loops). It prints ms per letter and the
renderers' ratio (target: at least 25x), the chart's cost per letter, then re-opens every letter
of both ways with python-docx and checks that the text (body, tables, headers, footers) is the
same.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from docx import Document
from docxtpl import DocxTemplate

from mergekit.core.config import load_config
from mergekit.core.model import Address, Contact, SchoolData
from mergekit.core.resources import bundled
from mergekit.documents.sample import sample_action, sample_data
from mergekit.merge.chart import ChartImage, chart_png
from mergekit.merge.fields import LetterHistory, build_context
from mergekit.merge.render import compile_template, environment

TODAY = date(2026, 11, 27)
TARGET = 25.0


def contexts(n: int, action: str) -> list[dict[str, Any]]:
    """n different pupils' merge fields, built by the real build_context."""
    settings = load_config(bundled("examples", "mergekit.toml"))
    base, pupil = sample_data(TODAY)
    marks = base.marks_of(pupil.upn)
    out = []
    for i in range(n):
        home = Address((f"{i + 1} Benchmark Road", "Exampleton"), f"ZZ{i % 9 + 1} {i % 10}BM")
        p = replace(
            pupil,
            upn=f"B{i:012d}",
            forename=f"Forename{i}",
            preferred_forename="",
            surname=f"Surname{i}",
            address=home,
        )
        parent = Contact(
            upn=p.upn,
            name=f"Mx Parent{i} Surname{i}",
            title="Mx",
            surname=f"Surname{i}",
            relationship="Parent",
            parental_responsibility=True,
            lives_with_pupil=True,
            address=home,
            email=f"parent{i}@example.org",
        )
        # Every third pupil's parent has a name with XML specials in it.
        if i % 3 == 0:
            parent = replace(parent, name=f"Mx O'Brien & Sons <Ltd> {i}")
        data = SchoolData(pupils={p.upn: p}, contacts={p.upn: (parent,)}, marks={p.upn: marks})
        history = LetterHistory({1: TODAY - timedelta(days=40 + i % 5)})
        out.append(
            build_context(
                settings, data, p, TODAY, action=sample_action(p, TODAY, action), letters=history
            )
        )
    return out


def text_of(path: Path) -> list[str]:
    doc = Document(str(path))
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            out.extend(c.text for c in row.cells)
    for s in doc.sections:
        for hf in (s.header, s.footer, s.first_page_header, s.first_page_footer):
            out.extend(p.text for p in hf.paragraphs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--template", default="pa_letter_2")
    args = parser.parse_args(argv)
    template = bundled("templates", "docx", f"{args.template}.docx")
    print(f"Building {args.letters} pupils' merge fields ...", flush=True)
    ctxs = contexts(args.letters, args.template)
    charts = [c.get("attendance_chart") for c in ctxs]
    # The renderers are compared on the same work: the chart's picture is timed apart below.
    ctxs = [{**c, "attendance_chart": str(c["attendance_chart"])} for c in ctxs]

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        plain_dir, fast_dir = Path(tmp) / "plain", Path(tmp) / "fast"
        plain_dir.mkdir()
        fast_dir.mkdir()

        print(f"Plain docxtpl loop: {args.letters} letters ...", flush=True)
        env = environment()
        start = time.perf_counter()
        for i, ctx in enumerate(ctxs):
            tpl = DocxTemplate(str(template))
            tpl.render(ctx, jinja_env=env, autoescape=True)
            tpl.save(str(plain_dir / f"{i:05d}.docx"))
        plain = time.perf_counter() - start

        print(f"mergekit: {args.letters} letters ...", flush=True)
        start = time.perf_counter()
        compiled = compile_template(template)
        for i, ctx in enumerate(ctxs):
            (fast_dir / f"{i:05d}.docx").write_bytes(compiled.render(ctx))
        fast = time.perf_counter() - start

        drawn = [c for c in charts if isinstance(c, ChartImage)]
        start = time.perf_counter()
        for chart in drawn:
            chart_png(chart.spec, chart.width, chart.height)
        chart_s = time.perf_counter() - start

        n = args.letters
        ratio = plain / fast
        print("")
        print(f"plain docxtpl   {plain * 1000 / n:8.2f} ms/letter   ({plain:.2f} s)")
        print(
            f"mergekit        {fast * 1000 / n:8.3f} ms/letter   ({fast:.2f} s, compile included)"
        )
        verdict = "met" if ratio >= TARGET else "NOT met"
        print(f"ratio           {ratio:8.1f}x   (target {TARGET:.0f}x: {verdict})")
        if drawn:
            print(
                f"chart picture   {chart_s * 1000 / len(drawn):8.2f} ms/letter   (drawn and "
                "PNG-encoded for each pupil, on top of either way)"
            )

        print("\nChecking every letter's text matches (python-docx) ...", flush=True)
        different = [
            i
            for i in range(n)
            if text_of(plain_dir / f"{i:05d}.docx") != text_of(fast_dir / f"{i:05d}.docx")
        ]
        sample = text_of(fast_dir / "00000.docx")
        own = ctxs[0]["pupil"]["full_name"] in "\n".join(sample)
        if different or not own:
            print(f"TEXT DIFFERS in {len(different)} letters (first: {different[:5]})")
            return 1
        print(f"same text in all {n} letters")
    return 0 if ratio >= TARGET else 2


if __name__ == "__main__":
    sys.exit(main())
