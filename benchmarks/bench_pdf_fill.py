"""How fast mergekit fills the CME referral form, next to a plain pypdf loop in the same run.

    python benchmarks/bench_pdf_fill.py [--copies 500]

Both sides fill the same values (every mapped field of templates/pdf/cme_referral.pdf, from
``build_context`` for synthetic pupils with names such as ``Zoë Łukasz Nguyễn``) into one
file per pupil:

* plain pypdf: ``PdfWriter(clone_from=template)``, ``update_page_form_field_values(...,
  auto_regenerate=False)``, ``write`` (what a user would write; its Unicode names do not show in
  every viewer, so it does less work than mergekit);
* mergekit: ``fill_form`` (template prepared once, each copy an incremental update with
  mergekit's own appearance streams), with ``durable=False`` like the pypdf loop (no fsync);
  the cost of the default ``durable=True`` on this disk is printed too.

Target: under 5 ms a form. The script checks that a filled copy holds the pupil's values.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mergekit.core.config import load_config  # noqa: E402
from mergekit.core.model import Address, Contact, Pupil, SchoolData  # noqa: E402
from mergekit.merge.fields import build_context  # noqa: E402
from mergekit.pdf.forms import bundled_form, fill_form, mapped_values, prepared  # noqa: E402

FORENAMES = ["Zoë", "Amara", "Oliwia", "Mohammed", "Siobhán", "Thảo", "Jakub", "Chloé"]
SURNAMES = ["Łukasz Nguyễn", "O'Brien", "Kowalczyk", "Ahmed", "Müller-Smith", "Ferreira"]


def contexts(n: int) -> list[dict[str, Any]]:
    settings = load_config(ROOT / "examples" / "mergekit.toml")
    today = date(2026, 11, 27)
    pupils = {}
    contacts = {}
    for i in range(n):
        upn = f"A{331261200000 + i:012d}"
        pupils[upn] = Pupil(
            upn=upn,
            forename=FORENAMES[i % len(FORENAMES)],
            middle_names="Marie" if i % 3 else "",
            surname=f"{SURNAMES[i % len(SURNAMES)]} {i}",
            dob=date(2012, 1 + i % 12, 1 + i % 28),
            gender="F" if i % 2 else "M",
            year=7 + i % 5,
            reg_group=f"{7 + i % 5}K",
            ethnicity="White - British",
            first_language="Polish" if i % 4 == 0 else "English",
            address=Address((f"{i} Long Road", "Exampleton"), "ZZ1 2AB"),
            previous_addresses="3 Old Street, Exampleton, ZZ1 9XX",
            flags=frozenset({"looked_after"} if i % 5 == 0 else ()),
        )
        contacts[upn] = (
            Contact(
                upn=upn,
                name=f"Mrs Ewa Kowalczyk {i}",
                relationship="Mother",
                parental_responsibility=True,
                lives_with_pupil=True,
                address=Address((f"{i} Long Road", "Exampleton"), "ZZ1 2AB"),
                landline="01632 960 001",
                mobile="07700 900 001",
                email=f"parent{i}@example.org",
                home_language="Polish",
                interpreter_needed=bool(i % 2),
            ),
        )
    data = SchoolData(pupils=pupils, contacts=contacts)
    return [build_context(settings, data, p, today) for p in pupils.values()]


def plain_pypdf(template: Path, values: dict[str, str | bool], out: Path) -> None:
    writer = PdfWriter(clone_from=template)
    fields: dict[str, Any] = {}
    form = prepared(template)
    for name, value in values.items():
        kind = form.field_info[name]
        if kind == "checkbox":
            # pypdf wants the export value itself; give it the box's own on-state.
            states = form.fields[name][0].states
            on = next((s for s in states if s.casefold() == str(value).casefold()), None)
            fields[name] = NameObject("/" + on if on else "/Off")
        else:
            fields[name] = str(value)
    writer.update_page_form_field_values(None, fields, auto_regenerate=False)
    with out.open("wb") as f:
        writer.write(f)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=500, help="forms to fill each way")
    args = ap.parse_args(argv)
    n = args.copies
    # pypdf warns on every Unicode name it cannot encode (the plain loop's known weakness).
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    template, mapping = bundled_form("cme_referral")
    ctxs = contexts(n)
    values = [mapped_values(c, mapping) for c in ctxs]
    filled = sum(1 for v in values[0].values() if v not in ("", False))
    print(
        f"CME referral: {len(prepared(template).fields)} fields in the form, {len(mapping)} "
        f"mapped, {filled} with a value for the first pupil; {n} copies each way"
    )

    tmp = Path(tempfile.mkdtemp(prefix="bench_pdf_"))
    try:
        # One-off cost: mergekit prepares the template on first use (cached afterwards).
        from mergekit.pdf import forms as pdfform

        pdfform._prepared.clear()
        t0 = time.perf_counter()
        prepared(template)
        prep = time.perf_counter() - t0

        t0 = time.perf_counter()
        for i, v in enumerate(values):
            plain_pypdf(template, v, tmp / f"pypdf_{i}.pdf")
        pypdf_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        for i, v in enumerate(values):
            fill_form(template, v, tmp / f"mk_{i}.pdf", durable=False)
        mk_s = time.perf_counter() - t0

        durable_n = min(n, 100)
        t0 = time.perf_counter()
        for i, v in enumerate(values[:durable_n]):
            fill_form(template, v, tmp / f"mkd_{i}.pdf")
        durable_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        for i, v in enumerate(values[:durable_n]):
            fill_form(template, v, tmp / f"mkf_{i}.pdf", flatten=True, durable=False)
        flat_s = time.perf_counter() - t0

        # The copies must hold their own pupil's values, in the form and on the page.
        last = n - 1
        got = PdfReader(tmp / f"mk_{last}.pdf").get_fields() or {}
        want = values[last]["pupil_surname"]
        assert got["pupil_surname"].get("/V") == want, "mergekit copy lost its value"
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", str(tmp / f"mk_{last}.pdf"), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert str(want) in text, "the value is not on the page"
        size_mk = (tmp / f"mk_{last}.pdf").stat().st_size
        size_py = (tmp / f"pypdf_{last}.pdf").stat().st_size
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    py_ms = pypdf_s / n * 1000
    mk_ms = mk_s / n * 1000
    print(f"  prepare template once (mergekit) : {prep * 1000:8.1f} ms")
    print(f"  plain pypdf fill loop            : {py_ms:8.2f} ms a form  ({size_py:,} bytes)")
    print(
        f"  mergekit fill_form               : {mk_ms:8.2f} ms a form  ({size_mk:,} bytes, "
        "font embedded)"
    )
    print(f"  mergekit fill_form, flattened    : {flat_s / durable_n * 1000:8.2f} ms a form")
    print(
        f"  mergekit fill_form, durable=True : {durable_s / durable_n * 1000:8.2f} ms a form "
        "(fsync per file)"
    )
    print(f"  ratio pypdf / mergekit           : {py_ms / mk_ms:8.1f}x")
    print(f"  target < 5 ms a form             : {'met' if mk_ms < 5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
