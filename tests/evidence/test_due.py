"""`mergekit evidence --due` on the example school (27/11/2026, empty ledger): a pack for every
pupil with a CME referral, Remove From Roll or penalty-notice action today, each opening in
poppler and in pdf.js (Firefox's viewer), with the certificate totals equal to the plan's and
every call of the contact log in the chronology."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mergekit.cli import main
from mergekit.core.config import load_config
from mergekit.read.tracking import read_tracking

pytestmark = pytest.mark.poppler
PDFJS = Path("/usr/share/javascript/pdf/build/pdf.js")
DUE = {"cme_referral", "remove_from_roll", "penalty_notice_threshold"}

SCRIPT = r"""
const pdfjs = require(process.argv[2]);
pdfjs.GlobalWorkerOptions.workerSrc = process.argv[2].replace(/pdf\.js$/, "pdf.worker.js");
const fs = require("fs");
(async () => {
  const out = [];
  for (const file of process.argv.slice(3)) {
    const doc = await pdfjs.getDocument({data: new Uint8Array(fs.readFileSync(file)),
                                         verbosity: 0}).promise;
    const pages = [];
    for (let i = 1; i <= doc.numPages; i++) {
      const content = await (await doc.getPage(i)).getTextContent();
      pages.push(content.items.map((t) => t.str).join(" "));
    }
    out.push({file, pages});
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def pdfjs_text(pdfs: list[Path], tmp_path: Path) -> dict[str, list[str]]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None or not PDFJS.is_file():
        pytest.skip("Node.js or pdf.js is missing (Debian packages nodejs and libjs-pdf)")
    script = tmp_path / "text.js"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [node, str(script), str(PDFJS), *map(str, pdfs)],
        capture_output=True,
        check=True,
        timeout=300,
    )
    return {r["file"]: r["pages"] for r in json.loads(done.stdout)}


def test_due_makes_a_pack_per_pupil_that_opens_in_poppler_and_pdfjs(
    example_school: Path, tmp_path: Path
) -> None:
    if shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils is not installed")
    runner = CliRunner()
    planned = runner.invoke(main, ["plan", "--json", "--config", str(example_school)])
    plan: dict[str, Any] = json.loads(planned.output[planned.output.index("{") :])
    due = {a["upn"] for a in plan["actions"] if a["action"] in DUE}
    referred = {a["upn"] for a in plan["actions"] if a["action"] == "cme_referral"}
    assert len(referred) >= 4
    assert referred <= due
    result = runner.invoke(main, ["evidence", "--due", "--config", str(example_school)])
    assert result.exit_code == 0, result.output
    folder = example_school.parent / "out" / "2026-11-27" / "evidence"
    packs = {p.name.split("_")[0]: p for p in folder.glob("*.pdf")}
    assert set(packs) == due
    assert f"Evidence packs: {len(due)} made (nothing emailed)" in result.output
    data = read_tracking(load_config(example_school)).data
    shown = pdfjs_text(sorted(packs.values()), tmp_path)
    for upn, pack in packs.items():
        info = subprocess.run(["pdfinfo", str(pack)], capture_output=True, text=True, check=True)
        assert "Pages:" in info.stdout
        pages = shown[str(pack)]
        assert len(pages) >= 5
        text = " ".join(" ".join(pages).split())
        assert "Chart of weekly attendance" in pages[2]
        assert "threshold 90%" in pages[2]
        letter = next(
            (a for a in plan["actions"] if a["upn"] == upn and a["action"] == "pa_letter_1"), None
        )
        if letter is not None:  # the plan's year-to-date figures are the certificate's
            ev = letter["evidence"]
            assert f"{ev['possible']} {ev['present']}" in " ".join(pages[1].split())
            assert f"{ev['percent']:.1f}%" in pages[1]
        for e in data.contact_log.get(upn, ()):
            if e.date >= date(2026, 9, 1):
                assert f"{e.date:%d/%m/%Y}" in text, (upn, e)


def test_due_on_a_day_without_such_actions_says_so(example_school: Path) -> None:
    result = CliRunner().invoke(
        main, ["evidence", "--due", "--today", "2026-09-03", "--config", str(example_school)]
    )
    assert result.exit_code == 0, result.output
    assert "No pupil has a CME referral, Remove From Roll or penalty-notice action" in result.output


def test_no_upn_and_no_due_is_a_usage_error(example_school: Path) -> None:
    result = CliRunner().invoke(main, ["evidence", "--config", str(example_school)])
    assert result.exit_code == 2
    assert "name at least one UPN, or use --due" in result.output
