"""Word letters to PDF with LibreOffice, in bulk, the fast way.

Starting ``soffice`` costs about a second, converting a letter a few milliseconds. So letters
that share a template (identical styles, numbering, settings, theme and fonts parts) are joined
into combined .docx files of up to CHUNK_SIZE letters, each letter in its own section starting
on a new page with its own headers, footers, page numbers and numbered lists, and a bookmark at
its first paragraph. LibreOffice converts every combined document (and any letter that cannot
be combined) in ONE run (two side by side for big batches); the bookmarks come out as PDF
named destinations, which say on which page each letter starts, and each combined PDF is cut
there into one PDF per letter while LibreOffice works on the next one.

A letter is converted on its own (still in the same run) when joining it could change how it
looks: footnotes, endnotes or comments, a page-count field (it would count the whole combined
document), or a file that is not a plain .docx. If a combined PDF does not have exactly one mark
per letter in page order, its letters are converted one by one in a second run. The report
(and the log) says which letters were converted alone and why.

LibreOffice runs with a private profile folder (so a LibreOffice window the user has open, or a
stale lock in their profile, cannot block or swallow the conversion) on private copies of the
letters (so lock files beside them do not matter), in its own process group, and is killed
with everything it started when it makes no progress for ``timeout`` seconds. Nothing here
starts or looks for LibreOffice until a conversion is asked for.

The work is split by job: ``docxparts`` reads one .docx (its parts and relationships, and
whether it can be combined), ``combine`` joins letters into combined documents and plans which
letters go into which file, ``soffice`` finds and runs LibreOffice (profiles, process groups,
time-outs, cutting each combined PDF as it is finished), and this module is the entry point.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mergekit.core.atomic import make_dirs, private_temp_dir
from mergekit.core.errors import ConversionError
from mergekit.pdf.combine import _Job, _plan
from mergekit.pdf.soffice import _Conversion, find_soffice

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)
# Letters per combined document: big enough that LibreOffice's per-document cost vanishes,
# small enough that the first combined PDF is ready to split while the next one converts.
CHUNK_SIZE = 100
# A second LibreOffice costs about a second to start; it pays from a few hundred letters.
MAX_WORKERS = 2
LETTERS_PER_WORKER = 300
# ---------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class ConversionReport:
    """What :func:`convert_letters` did: the PDFs in input order, and how they were made."""

    pdfs: tuple[Path, ...]
    combined: int  # letters converted inside a combined document
    single: int  # letters converted one by one (still in the same LibreOffice run)
    notes: tuple[str, ...] = ()  # why letters were converted one by one
    soffice_runs: int = 0
    seconds: float = 0.0
    # Fonts the letters ask for with no metric-compatible font here (see mergekit.pdf.fonts).
    font_warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# The public entry points


def convert_letters(
    docx_files: Sequence[Path],
    out_dir: Path,
    *,
    soffice: str = "",
    timeout: float = 600.0,
    progress: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    combine: bool = True,
    workers: int | None = None,
) -> ConversionReport:
    """Convert Word letters to one PDF each (same stem, in ``out_dir``), in as few LibreOffice
    runs as possible. ``timeout`` is how long LibreOffice may spend on one file (a combined
    document or a single letter) before it is treated as hung, stopped, and reported.
    ``combine=False`` converts every letter on its own (still in a single run). ``workers``
    LibreOffice processes run side by side; by default a second one starts only for big
    batches on a computer with several processors, where it pays for its start-up."""
    began = time.perf_counter()
    files = [Path(f) for f in docx_files]
    seen: dict[str, Path] = {}
    for f in files:
        if not f.is_file():
            raise ConversionError(f"{f}: no such file to convert - render the letters first")
        other = seen.setdefault(f.stem.casefold(), f)
        if other != f:
            raise ConversionError(
                f"{f}: has the same name as {other}, so both would be saved as {f.stem}.pdf - "
                "convert them into different folders"
            )
    if not files:
        return ConversionReport((), 0, 0)
    exe = find_soffice(soffice)
    from mergekit.pdf.fonts import missing_fonts

    font_warnings = tuple(gap.message for gap in missing_fonts(files))
    for f in files:
        if f.suffix.lower() == ".docx" and not zipfile.is_zipfile(f):
            # LibreOffice would happily "convert" it as plain text; say what it is instead.
            raise ConversionError(
                f"{f}: is not a Word document (a .docx is a zip file; this one is not) - "
                "render it again, or open it in Word and save it as .docx"
            )
    try:
        make_dirs(out_dir)
    except OSError as e:
        raise ConversionError(f"{out_dir}: cannot create the folder ({e.strerror})") from e
    with private_temp_dir() as work:  # copies of the letters: owner-only, always removed
        (work / "in").mkdir()
        jobs, notes, titles = _plan(files, work / "in", max(1, chunk_size), combine)
        conversion = _Conversion(files, out_dir, exe, timeout, work, titles, progress)
        if progress is not None:
            progress(0, len(files))
        if workers is None:
            letters = sum(len(j.letters) for j in jobs)
            workers = min(MAX_WORKERS, os.cpu_count() or 1, -(-letters // LETTERS_PER_WORKER))
        try:
            conversion.run(jobs, final=False, workers=workers)
            if conversion.retry:
                again: list[_Job] = []
                for index in sorted(conversion.retry):
                    source = files[index]
                    target = work / "in" / f"retry-{index + 1:05d}{source.suffix.lower()}"
                    shutil.copyfile(source, target)
                    again.append(_Job(target, [index], combined=False))
                # Letters alone take a tenth of a second or more each, so a second
                # LibreOffice pays sooner.
                conversion.run(again, final=True, workers=min(workers, max(1, len(again) // 20)))
        finally:
            conversion.pool.shutdown(wait=True)
        conversion.wait_for_writes()
    if conversion.failed:
        # Every other letter has its PDF; these need a person to look at them.
        count = len(conversion.failed)
        raise ConversionError(
            "\n".join(conversion.failed)
            + f"\n{count} of {len(files)} documents could not be converted - open "
            + ("it" if count == 1 else "each")
            + " in Word or LibreOffice to check it is not damaged or password-protected, "
            "save it again as .docx, and rerun"
        )
    combined = conversion.combined
    report = ConversionReport(
        pdfs=tuple(conversion.target(i) for i in range(len(files))),
        combined=combined,
        single=len(files) - combined,
        notes=(*notes, *conversion.notes),
        soffice_runs=conversion.runs,
        seconds=time.perf_counter() - began,
        font_warnings=font_warnings,
    )
    for note in report.notes:
        log.info("%s", note)
    for warning in font_warnings:
        log.warning("%s", warning)
    return report


def docx_to_pdf(
    docx_files: Sequence[Path],
    out_dir: Path,
    *,
    soffice: str = "",
    timeout: float = 600.0,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """One PDF per Word file, same stem, in ``out_dir``, returned in input order. Letters
    converted one by one rather than combined are logged (see :func:`convert_letters`)."""
    report = convert_letters(
        docx_files, out_dir, soffice=soffice, timeout=timeout, progress=progress
    )
    return list(report.pdfs)
