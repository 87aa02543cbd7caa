"""Finding and running LibreOffice for the converter: a private profile per run, its own
process group, killed with everything it started when it makes no progress; each combined PDF
cut into one PDF per letter as soon as LibreOffice has moved on to the next file.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mergekit.core.atomic import write_or_explain
from mergekit.core.errors import ConversionError
from mergekit.pdf.combine import _Job
from mergekit.pdf.docxparts import _MARK

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)
INSTALL_HINT = (
    "install LibreOffice: `sudo apt-get install libreoffice-writer-nogui` on Debian/Ubuntu, "
    "or download it from https://www.libreoffice.org/download/ on Windows/macOS; "
    "if it is installed somewhere unusual, set [pdf] soffice in mergekit.toml to its path"
)
# ---------------------------------------------------------------------------------------------
# Finding LibreOffice


def _candidates() -> list[Path]:
    if sys.platform == "win32":
        roots = [os.environ.get("PROGRAMFILES", r"C:\Program Files")]
        roots.append(os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)"))
        return [Path(r) / "LibreOffice" / "program" / "soffice.exe" for r in roots]
    if sys.platform == "darwin":
        return [Path("/Applications/LibreOffice.app/Contents/MacOS/soffice")]
    found = [Path("/usr/bin/soffice"), Path("/usr/lib/libreoffice/program/soffice")]
    found += sorted(Path("/opt").glob("libreoffice*/program/soffice"), reverse=True)
    found += [Path("/snap/bin/libreoffice")]
    return found


def find_soffice(configured: str = "") -> str:
    """Path of LibreOffice's ``soffice``: the configured one, else on PATH, else the usual
    install folders. Raises ConversionError naming the install command when there is none."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        on_path = shutil.which(configured)
        if on_path:
            return on_path
        raise ConversionError(
            f"[pdf] soffice = {configured!r}: no LibreOffice program there - {INSTALL_HINT}"
        )
    for name in ("soffice", "libreoffice"):
        on_path = shutil.which(name)
        if on_path:
            return on_path
    for candidate in _candidates():
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ConversionError(
        f"LibreOffice (soffice) is needed to make PDFs of Word letters but was not found - "
        f"{INSTALL_HINT}"
    )


# ---------------------------------------------------------------------------------------------
# Running LibreOffice

_FILTER = (
    'pdf:writer_pdf_Export:{"ExportBookmarksToPDFDestination":{"type":"boolean","value":"true"},'
    '"ExportBookmarks":{"type":"boolean","value":"false"},'
    '"ExportFormFields":{"type":"boolean","value":"false"},'
    '"ExportNotes":{"type":"boolean","value":"false"}}'
)


# The same export settings as profile defaults, for LibreOffice before 7.4, which ignores the
# options given with --convert-to.
_PROFILE_SETTINGS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    + "".join(
        '<item oor:path="/org.openoffice.Office.Common/Filter/PDF/Export">'
        f'<prop oor:name="{name}" oor:op="fuse"><value>{value}</value></prop></item>\n'
        for name, value in (
            ("ExportBookmarksToPDFDestination", "true"),
            ("ExportBookmarks", "false"),
            ("ExportFormFields", "false"),
            ("ExportNotes", "false"),
        )
    )
    + "</oor:items>\n"
)


def seed_profile(profile: Path) -> None:
    """Start a private LibreOffice profile with mergekit's PDF export settings."""
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    settings = user / "registrymodifications.xcu"
    if not settings.exists():
        settings.write_text(_PROFILE_SETTINGS, encoding="utf-8")


def soffice_command(exe: str, profile: Path, out_dir: Path, inputs: Sequence[Path]) -> list[str]:
    """The headless conversion command, with its own profile folder so a LibreOffice window
    the user has open (or a stale lock in the usual profile) cannot block or swallow it."""
    return [
        exe,
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--norestore",
        "--convert-to",
        _FILTER,
        "--outdir",
        str(out_dir),
        *(str(p) for p in inputs),
    ]


def _start(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.setdefault("SAL_USE_VCLPLUGIN", "svp")  # never look for a display
    with log_path.open("wb") as log_file:
        if os.name == "posix":
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, so a hang is killed whole
            )
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill LibreOffice and every process it started (soffice is a launcher for soffice.bin).
    Only while it has not been reaped: until then its process id, which names the group,
    cannot belong to anything else."""
    if proc.poll() is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        subprocess.run(
            ["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False
        )
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def _tail(log_path: Path, lines: int = 6) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    useful = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and "javaldx" not in line and not line.startswith("convert ")
    ]
    return " | ".join(useful[-lines:])


@dataclass
class _Lane:
    """One LibreOffice process and the files it has still to finish."""

    proc: subprocess.Popen[bytes]
    out: Path
    log: Path
    pending: list[_Job]
    since: float  # when it finished its last file (or started)


@dataclass
class _Conversion:
    files: Sequence[Path]
    out_dir: Path
    exe: str
    timeout: float
    work: Path
    titles: dict[int, str]
    progress: Callable[[int, int], None] | None
    done: int = 0
    runs: int = 0
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8))
    writes: list[Future[None]] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    combined: int = 0  # letters whose PDF was cut from a combined one
    notes: list[str] = field(default_factory=list)

    def describe(self, job: _Job) -> str:
        if not job.combined:
            return str(self.files[job.letters[0]])
        first, last = self.files[job.letters[0]].name, self.files[job.letters[-1]].name
        return f"the combined document of {len(job.letters)} letters ({first} ... {last})"

    def run(self, jobs: list[_Job], *, final: bool, workers: int = 1) -> None:
        """Convert ``jobs`` with ``workers`` LibreOffice processes side by side (each with its
        own profile), cutting each combined PDF as soon as its LibreOffice has moved on to the
        next file."""
        lanes: list[list[_Job]] = [[] for _ in range(max(1, min(workers, len(jobs))))]
        for job in jobs:  # the least loaded lane takes the next job
            min(lanes, key=lambda lane: sum(len(j.letters) for j in lane)).append(job)
        running: list[_Lane] = []
        try:
            for lane in lanes:
                self.runs += 1
                out = self.work / f"pdf-{self.runs}"
                out.mkdir()
                log_path = self.work / f"soffice-{self.runs}.log"
                profile = self.work / f"profile-{len(running) + 1}"
                seed_profile(profile)
                command = soffice_command(self.exe, profile, out, [j.source for j in lane])
                proc = _start(command, log_path)
                running.append(_Lane(proc, out, log_path, lane, time.monotonic()))
            while any(r.pending for r in running):
                moved = False
                for r in running:
                    if not r.pending:
                        continue
                    exited = r.proc.poll() is not None
                    nxt = r.pending[1] if len(r.pending) > 1 else None
                    if exited or (nxt is not None and (r.out / nxt.pdf_name).exists()):
                        self.finish(r.pending.pop(0), r.out, r.log, final=final)
                        r.since = time.monotonic()
                        moved = True
                    elif time.monotonic() - r.since > self.timeout:
                        raise ConversionError(
                            f"{self.describe(r.pending[0])}: LibreOffice did not finish "
                            f"converting it within {self.timeout:g} s and was stopped - open "
                            "the file in Word or LibreOffice to check it is not damaged, close "
                            "any LibreOffice dialog that may be waiting, or raise [pdf] "
                            "convert_timeout_seconds"
                        )
                if not moved:
                    time.sleep(0.05)
        finally:
            for r in running:
                _stop(r.proc)

    def finish(self, job: _Job, out: Path, log_path: Path, *, final: bool) -> None:
        pdf = out / job.pdf_name
        if not pdf.exists():
            pdf = _renamed_output(out, job) or pdf
        if job.combined:
            if pdf.exists() and self.split(job, pdf):
                self.combined += len(job.letters)
                return
            why = (
                "its PDF did not mark where each letter starts"
                if pdf.exists()
                else "LibreOffice could not convert the combined document"
            )
            self.notes.append(f"{self.describe(job)}: converted one by one instead, because {why}")
            self.retry.extend(job.letters)
            return
        index = job.letters[0]
        data = pdf.read_bytes() if pdf.exists() else b""
        if not data.startswith(b"%PDF-"):
            if not final:
                self.retry.append(index)
                return
            said = _tail(log_path)
            self.failed.append(
                f"{self.files[index]}: LibreOffice could not convert it to PDF"
                + (f" (LibreOffice said: {said})" if said else "")
            )
            return
        self.place(data, index)

    def place(self, data: bytes, index: int) -> None:
        # fsync is slow one file at a time; threads let the disk batch them while LibreOffice
        # works on the next combined document.
        self.writes.append(self.pool.submit(_place, data, self.target(index)))
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, len(self.files))

    def wait_for_writes(self) -> None:
        for future in self.writes:
            future.result()  # raises the first ConversionError

    def target(self, index: int) -> Path:
        return self.out_dir / f"{self.files[index].stem}.pdf"

    def split(self, job: _Job, pdf: Path) -> bool:
        """Cut a combined PDF at the pages where each letter's bookmark landed. False when the
        marks are not exactly one per letter in page order (then nothing was written)."""
        from pypdf import PdfReader, PdfWriter
        from pypdf.errors import PyPdfError
        from pypdf.generic import ArrayObject, NameObject

        try:
            reader = PdfReader(pdf)
            starts: dict[int, int] = {}
            for name, dest in reader.named_destinations.items():
                bare = str(name).lstrip("/")
                if bare.startswith(_MARK) and bare[len(_MARK) :].isdigit():
                    number = reader.get_destination_page_number(dest)
                    if number is not None:
                        starts[int(bare[len(_MARK) :])] = number
            pages = [starts.get(i, -1) for i in job.letters]
            total = len(reader.pages)
        except (PyPdfError, OSError, ValueError, KeyError) as e:
            log.debug("cannot read %s: %s", pdf, e)
            return False
        if (
            set(starts) != set(job.letters)
            or pages[0] != 0
            or any(b <= a for a, b in itertools.pairwise(pages))
            or pages[-1] >= total
        ):
            return False
        producer = reader.metadata.get("/Producer", "") if reader.metadata else ""
        lang = reader.root_object.get("/Lang")
        ends = [*pages[1:], total]
        for index, begin, end in zip(job.letters, pages, ends, strict=True):
            writer = PdfWriter()
            for number in range(begin, end):
                page = reader.pages[number]
                # Only web links survive: a link into the combined document could drag
                # another letter's page into this letter's file.
                annots = page.get("/Annots")
                if annots is not None:
                    keep = ArrayObject(
                        a for a in annots.get_object() if _is_web_link(a.get_object())
                    )
                    if keep:
                        page[NameObject("/Annots")] = keep
                    else:
                        del page["/Annots"]
                writer.add_page(page)
            info = {"/Creator": "mergekit", "/Producer": str(producer)}
            if self.titles.get(index):
                info["/Title"] = self.titles[index]
            writer.add_metadata(info)
            if lang is not None:
                writer._root_object[NameObject("/Lang")] = lang.clone(writer)
            from io import BytesIO

            buffer = BytesIO()
            writer.write(buffer)
            self.place(buffer.getvalue(), index)
        return True


def _is_web_link(annot: Any) -> bool:
    action = annot.get("/A")
    if annot.get("/Subtype") != "/Link" or action is None:
        return False
    return bool(action.get_object().get("/S") == "/URI")


def _renamed_output(out: Path, job: _Job) -> Path | None:
    """LibreOffice sometimes names its output differently (case, extra dots); accept a lone
    PDF whose name starts with the input's stem."""
    stem = job.source.stem.casefold()
    found = [
        p
        for p in out.iterdir()
        if p.suffix.casefold() == ".pdf" and p.stem.casefold().startswith(stem)
    ]
    return found[0] if len(found) == 1 else None


def _place(data: bytes, target: Path) -> None:
    """Write a file atomically: temp file beside it, fsync, rename over."""
    write_or_explain(
        target,
        data,
        ConversionError,
        "cannot write the PDF",
        "check the folder exists, is writable and the file is not open in a PDF viewer",
    )
