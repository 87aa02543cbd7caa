"""What pdf.js (Firefox's viewer, and many web apps) shows of mergekit's filled forms: each
field's value and tick, and the text it prints. Runs when Node.js and pdf.js are installed
(Debian packages nodejs and libjs-pdf); skipped, saying so, otherwise."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pdf_tools import NAME, school

from mergekit.core.config import load_config
from mergekit.merge.fields import build_context
from mergekit.pdf.forms import fill_bundled_form, merge_filled

PDFJS = Path("/usr/share/javascript/pdf/build/pdf.js")

SCRIPT = r"""
const pdfjs = require(process.argv[2]);
pdfjs.GlobalWorkerOptions.workerSrc = process.argv[2].replace(/pdf\.js$/, "pdf.worker.js");
const fs = require("fs");
(async () => {
  const data = new Uint8Array(fs.readFileSync(process.argv[3]));
  const doc = await pdfjs.getDocument({data, verbosity: 0}).promise;
  const fields = {};
  const printed = [];
  for (let i = 1; i <= doc.numPages; i++) {
    const page = await doc.getPage(i);
    for (const a of await page.getAnnotations()) {
      if (a.subtype !== "Widget") continue;
      (fields[a.fieldName] = fields[a.fieldName] || []).push(
        {page: i, value: a.fieldValue, appearance: a.hasAppearance, exportValue: a.exportValue});
    }
    const ops = await page.getOperatorList(
      {intent: "print", annotationMode: pdfjs.AnnotationMode.ENABLE_STORAGE});
    let text = "";
    for (let j = 0; j < ops.fnArray.length; j++) {
      if (ops.fnArray[j] !== pdfjs.OPS.showText) continue;
      for (const g of ops.argsArray[j][0]) if (g && g.unicode) text += g.unicode;
      text += "\n";
    }
    printed.push(text);
  }
  console.log(JSON.stringify({fields, printed}));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def pdfjs_view(pdf: Path, tmp_path: Path) -> dict[str, Any]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None or not PDFJS.is_file():
        pytest.skip("Node.js or pdf.js is missing (Debian packages nodejs and libjs-pdf)")
    script = tmp_path / "view.js"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [node, str(script), str(PDFJS), str(pdf)], capture_output=True, check=True, timeout=120
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture
def ctx(example_school: Path) -> dict[str, Any]:
    data, pupil = school()
    return build_context(load_config(example_school), data, pupil, date(2026, 11, 27))


def test_pdfjs_shows_the_values_and_ticks_of_a_filled_referral(
    ctx: dict[str, Any], tmp_path: Path
) -> None:
    out = fill_bundled_form("cme_referral", ctx, tmp_path / "cme.pdf")
    view = pdfjs_view(out, tmp_path)
    fields = view["fields"]
    assert [(w["page"], w["value"]) for w in fields["pupil_surname"]] == [(1, "Nguyễn")]
    filled = [w for ws in fields.values() for w in ws if w["value"] not in ("", "Off", None)]
    assert len(filled) > 30
    assert all(w["appearance"] for w in filled)  # pdf.js draws mergekit's own appearance
    # A YES/NO pair: pdf.js ticks the widget whose export value is the field's value.
    looked_after = {w["exportValue"]: w["value"] for w in fields["looked_after"]}
    assert looked_after == {"YES": "YES", "NO": "Off"}
    speaks = {w["exportValue"]: w["value"] for w in fields["speaks_english"]}
    assert speaks == {"YES": "Off", "NO": "NO"}
    printed = view["printed"][0]
    for value in ("Zoë", "Łukasz", "Nguyễn", "K331261200001"):
        assert value in printed, value


def test_pdfjs_prints_a_flattened_copy_with_no_fields_left(
    ctx: dict[str, Any], tmp_path: Path
) -> None:
    out = fill_bundled_form("cme_referral", ctx, tmp_path / "flat.pdf", flatten=True)
    view = pdfjs_view(out, tmp_path)
    assert view["fields"] == {}
    assert "Nguyễn" in view["printed"][0]


def test_pdfjs_shows_each_merged_copy_its_own_pupil(example_school: Path, tmp_path: Path) -> None:
    settings = load_config(example_school)
    files = []
    for i, surname in enumerate(("Nguyễn", "Okafor")):
        data, pupil = school(surname=surname, upn=f"K33126120001{i}")
        context = build_context(settings, data, pupil, date(2026, 11, 27))
        files.append(fill_bundled_form("remove_from_roll", context, tmp_path / f"copy{i}.pdf"))
    view = pdfjs_view(merge_filled(files, tmp_path / "pack.pdf"), tmp_path)
    assert view["fields"]["copy0.name"][0]["value"] == NAME
    assert view["fields"]["copy1.name"][0]["value"] == "Zoë Łukasz Okafor"
    assert NAME in view["printed"][0]
    assert NAME not in view["printed"][1]
    assert "Okafor" in view["printed"][1]


@pytest.mark.parametrize("surname", ["محمد", "דוד", "王小明", "Okafor 😀"])
def test_pdfjs_prints_names_in_other_scripts_from_the_embedded_fallback_fonts(
    example_school: Path, tmp_path: Path, surname: str
) -> None:
    from mergekit.pdf.font import system_font_for

    if any(ord(c) > 0x24F and system_font_for(c) is None for c in surname if c != " "):
        pytest.skip(f"no installed font has {surname!r} (fonts-noto-core/-cjk, fonts-symbola)")
    data, pupil = school(surname=surname, forename="Sam", middle_names="")
    context = build_context(load_config(example_school), data, pupil, date(2026, 11, 27))
    for flatten in (False, True):
        out = fill_bundled_form("cme_referral", context, tmp_path / "cme.pdf", flatten=flatten)
        printed = pdfjs_view(out, tmp_path)["printed"][0]
        # Drawn in visual order (right-to-left names reversed), every letter is there.
        assert set(surname) - {" "} <= set(printed), (surname, flatten)
