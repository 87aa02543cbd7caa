"""Benchmark: Word letters to one PDF each, mergekit's way against one `soffice` per file.

mergekit joins letters that share a template into combined documents, converts them all in one
LibreOffice run and splits the PDFs at each letter's first page. The usual way starts LibreOffice
once per letter. Both are measured here in the same run on the same letters (the per-file side
on the first --baseline letters, scaled up), then every PDF made mergekit's way is checked to
hold exactly its own pupil's pages.

    /work/venv/bin/python benchmarks/bench_convert.py            # 1,000 letters, baseline 20
    /work/venv/bin/python benchmarks/bench_convert.py --letters 200 --baseline 5

Targets (issue 5): at least 100x faster, and 1,000 letters in under 25 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docx import Document
from docx.enum.text import WD_BREAK
from docx.shared import Pt
from docxtpl import DocxTemplate
from pypdf import PdfReader

from mergekit.pdf.convert import convert_letters
from mergekit.pdf.soffice import find_soffice, soffice_command

FORENAMES = ["Amelia", "Noah", "Zoë", "Kacper", "Priya", "Oliver", "Grace", "Isla", "Łukasz"]
SURNAMES = ["Hartley", "Fitzgerald", "Nguyễn", "Wiśniewski", "Ramanathan", "O'Brien", "Adeyemi"]


def make_template(path: Path, letter: int) -> Path:
    """A warning-letter template (docxtpl tags), drawn with python-docx."""
    doc = Document()
    if letter == 2:
        doc.styles["Normal"].font.name = "DejaVu Serif"
        doc.styles["Normal"].font.size = Pt(11)
    section = doc.sections[0]
    section.header.paragraphs[0].text = "Northgate Park Academy - Northgate Road, Exampleton"
    section.footer.paragraphs[0].text = "Letter about {{ name }} ({{ upn }})"
    doc.add_paragraph("{{ today }}")
    doc.add_paragraph("Dear {{ salutation }},")
    doc.add_paragraph(f"Attendance warning letter {letter}: {{{{ name }}}}, {{{{ form }}}}")
    doc.add_paragraph(
        "{{ name }}'s attendance this year is {{ percent }}%, below the 90% the school "
        "expects. Missing school affects learning, friendships and wellbeing."
    )
    doc.add_paragraph("What happens next:", style="List Number")
    doc.add_paragraph("We will meet you to agree support.", style="List Number")
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("Date", "Session", "Code"), strict=True):
        cell.text = text
    doc.add_paragraph("{% for a in absences %}{{ a }}; {% endfor %}")
    doc.add_paragraph("{%p if long %}")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.add_paragraph("Further information for the parents of {{ name }}.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("Yours sincerely,")
    doc.add_paragraph("Ms Priya Lal, Attendance Officer")
    doc.save(str(path))
    return path


def make_letters(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    templates = [DocxTemplate(make_template(folder / f"template{n}.tpl", n)) for n in (1, 2)]
    letters = []
    for i in range(count):
        fore = FORENAMES[i % len(FORENAMES)]
        sur = SURNAMES[(i // len(FORENAMES)) % len(SURNAMES)]
        name = f"{fore} {sur} P{i:04d}"
        tpl = templates[i % 2]
        tpl.render(
            {
                "today": "27 November 2026",
                "salutation": f"Parent or carer of {name}",
                "name": name,
                "upn": f"A330{i:09d}",
                "form": f"Year {7 + i % 5}, {7 + i % 5}K",
                "percent": f"{80 + i % 9}.{i % 10}",
                "absences": [f"{d} November" for d in range(1, 1 + i % 6)],
                "long": i % 3 == 0,
            },
            autoescape=True,
        )
        path = folder / f"letter{i:04d}.docx"
        tpl.save(str(path))
        letters.append(path)
    return letters


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (LibreOffice): unlike wall time,
    it does not grow when other programs compete for the processor."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def one_soffice_per_file(exe: str, letters: list[Path], work: Path) -> tuple[float, float]:
    """The usual loop: start LibreOffice for each letter (profile already created).
    Returns (wall seconds, CPU seconds)."""
    profile = work / "profile"
    out = work / "per-file"
    out.mkdir()
    warm = subprocess.run(
        soffice_command(exe, profile, work / "warm", letters[:1]), capture_output=True, check=False
    )
    if warm.returncode != 0:
        sys.exit(f"soffice failed: {warm.stderr.decode(errors='replace')}")
    began, cpu = time.perf_counter(), cpu_seconds()
    for letter in letters:
        subprocess.run(
            [
                exe,
                f"-env:UserInstallation={profile.resolve().as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(out),
                str(letter),
            ],
            capture_output=True,
            check=True,
        )
    return time.perf_counter() - began, cpu_seconds() - cpu


def check(pdfs: list[Path], count: int) -> None:
    """Every PDF: its own pupil on every page, nobody else, the right number of pages."""
    tag = re.compile(r"P(\d{4})")
    for i, pdf in enumerate(pdfs[:count]):
        pages = PdfReader(pdf).pages
        expected = 2 if i % 3 == 0 else 1
        if len(pages) != expected:
            sys.exit(f"{pdf.name}: {len(pages)} pages, expected {expected}")
        for n, page in enumerate(pages, start=1):
            found = set(tag.findall(page.extract_text()))
            if found != {f"{i:04d}"}:
                sys.exit(f"{pdf.name} page {n}: shows letters {sorted(found)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=20, help="letters for the per-file side")
    parser.add_argument("--keep", type=Path, help="keep the letters and PDFs in this folder")
    args = parser.parse_args()
    exe = find_soffice()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-convert-"))
    try:
        began = time.perf_counter()
        letters = make_letters(work / "docx", args.letters)
        made = time.perf_counter() - began
        print(f"{args.letters} letters rendered with docxtpl in {made:.1f} s (not counted)")

        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} CPUs (other programs slow both sides)")
        per_file, per_file_cpu = one_soffice_per_file(exe, letters[: args.baseline], work)
        slow = per_file / args.baseline
        slow_cpu = per_file_cpu / args.baseline
        print(
            f"one soffice per file:  {args.baseline} letters in {per_file:.2f} s = "
            f"{slow:.3f} s/letter (CPU {slow_cpu:.3f} s/letter) -> {args.letters} letters "
            f"~ {slow * args.letters:.0f} s"
        )

        began, cpu = time.perf_counter(), cpu_seconds()
        report = convert_letters(letters, work / "pdf")
        fast = time.perf_counter() - began
        fast_cpu = cpu_seconds() - cpu
        per_letter = fast / args.letters
        per_letter_cpu = fast_cpu / args.letters
        print(
            f"mergekit (combined):   {args.letters} letters in {fast:.2f} s = "
            f"{per_letter:.4f} s/letter (CPU {per_letter_cpu:.4f} s/letter; "
            f"{report.combined} combined, {report.single} alone, {report.soffice_runs} "
            f"LibreOffice process{'es' if report.soffice_runs > 1 else ''})"
        )
        check(list(report.pdfs), args.letters)
        print("checked: every PDF has exactly its own pupil's pages")
        ratio = slow / per_letter
        print(
            f"ratio: {ratio:.0f}x faster by the clock, {slow_cpu / per_letter_cpu:.0f}x by CPU "
            "time (target >= 100x)"
        )
        target = 25.0 * args.letters / 1000
        verdict = "met" if fast < target and ratio >= 100 else "NOT met"
        print(
            f"targets {verdict}: {fast:.1f} s for {args.letters} letters (target < {target:.0f} "
            "s) and the clock ratio"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
