"""The evidence packs of several pupils in one go: gathered, drawn, the copies appended, each
written whole (never half a pack) to ``<run folder>/evidence/<UPN>_<surname>.pdf`` or where
the caller says.

LibreOffice is needed only for Word copies that have no PDF in their run folder; they are
converted in one batch for all the pupils, and listed instead when LibreOffice is missing.
Nothing is emailed here.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mergekit.core.actions import ActionKind
from mergekit.core.atomic import write_or_explain
from mergekit.core.errors import ConfigError, ConversionError, MergekitError, WorkbookError
from mergekit.core.ledger import Ledger
from mergekit.core.model import Action, Leaver, Pupil, SchoolData
from mergekit.core.runfolder import evidence_pack_path
from mergekit.core.workspace import Workspace
from mergekit.evidence.draw import copy_note, draw_pack
from mergekit.evidence.gather import Copy, Evidence, LedgerRecords, gather, period_start

# The actions whose pupils `mergekit evidence --due` makes a pack for.
DUE_KINDS: frozenset[str] = frozenset(
    {ActionKind.CME_REFERRAL, ActionKind.REMOVE_FROM_ROLL, ActionKind.PENALTY_NOTICE_THRESHOLD}
)


class EvidenceError(MergekitError):
    """A pack cannot be made: an unknown UPN, a bad period, or the file cannot be written."""


@dataclass(frozen=True)
class PackResult:
    pupil: Pupil
    path: Path
    pages: int
    events: int  # entries in the chronology
    appended: int  # copies appended
    listed: int  # copies named but not appended (missing, or Word without LibreOffice)
    has_history: bool
    evidence: Evidence


@dataclass
class PacksReport:
    packs: list[PackResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


def due_upns(actions: Iterable[Action]) -> list[str]:
    """Pupils with a CME referral, Remove From Roll or penalty-notice action, in plan order."""
    return list(dict.fromkeys(a.upn for a in actions if a.kind in DUE_KINDS and a.approved))


def due_today(ws: Workspace, data: SchoolData) -> list[str]:
    """`--due`: the pupils with a CME referral, Remove From Roll or penalty-notice action on
    the school day, planned (and approved) or already recorded as done that day."""
    from mergekit.plan.planning import review, with_recorded

    reviewed = review(ws, data)
    day = with_recorded(reviewed.plan.actions, ws.settings, data, ws.today)
    pupils = data.pupils
    return due_upns(sorted(day, key=lambda a: pupils[a.upn].sort_key if a.upn in pupils else ()))


def referral_packs(ws: Workspace, data: SchoolData) -> PacksReport:
    """``[evidence] attach_to_cme_referral``: the packs of the day's CME referral pupils that
    are not made yet, so `send` can attach them (none when the setting is off)."""
    if not ws.settings.evidence.attach_to_cme_referral:
        return PacksReport()
    from mergekit.plan.planning import review, with_recorded

    day = with_recorded(review(ws, data).plan.actions, ws.settings, data, ws.today)
    referred = dict.fromkeys(
        a.upn for a in day if a.kind == ActionKind.CME_REFERRAL and a.upn in data.pupils
    )
    missing = [
        u
        for u in referred
        if not evidence_pack_path(ws.settings, ws.today, data.pupils[u]).is_file()
    ]
    return make_packs(ws, data, missing) if missing else PacksReport()


def ledger_records(ledger: Ledger | None, upn: str) -> LedgerRecords:
    if ledger is None:
        return LedgerRecords()
    return LedgerRecords(
        tuple(ledger.actions(upn)),
        tuple(ledger.documents(upn)),
        tuple(ledger.messages(upn)),
        tuple(ledger.strikes(upn)),
    )


def off_roll_rows(ws: Workspace, notes: list[str]) -> list[Leaver]:
    """The Off Roll tab's rows, or none (with a note) when there is no transfer list."""
    from mergekit.read.transferlist import read_transfer_list

    if not ws.settings.files.transfer_list:
        return []
    try:
        return list(read_transfer_list(ws.settings).leavers)
    except (ConfigError, WorkbookError) as e:
        notes.append(f"the Off Roll tab was not read ({e}): its dates are not in the chronology")
        return []


def make_packs(
    ws: Workspace,
    data: SchoolData,
    upns: Sequence[str],
    *,
    start: date | None = None,
    out: Path | None = None,
    convert: Callable[[Sequence[Path], Path], list[Path]] | None = None,
) -> PacksReport:
    """One pack per UPN, for ``start`` (default 1 September) to the school day. ``out``: the
    file (one pupil) or the folder (several); default the day's evidence folder. ``convert``
    turns Word copies into PDFs (default LibreOffice, when it is installed)."""
    report = PacksReport()
    clock = time.perf_counter()
    today = ws.today
    start = start or period_start(today)
    if start > today:
        raise EvidenceError(
            f"--from {start:%d/%m/%Y} is after the school day {today:%d/%m/%Y} - choose an "
            "earlier date"
        )
    unknown = [u for u in upns if u.upper() not in data.pupils]
    if unknown:
        raise EvidenceError(
            f"UPN {', '.join(unknown)} is not in the tracking workbook "
            f"({ws.settings.files.tracking}) - check the UPN (13 characters, e.g. "
            "A123456789012)"
        )
    pupils = [data.pupils[u.upper()] for u in dict.fromkeys(upns)]
    if out is not None and out.suffix.lower() == ".pdf" and len(pupils) > 1:
        raise EvidenceError(
            f"--out {out} names one file, but there are {len(pupils)} pupils - give a folder"
        )
    leavers = off_roll_rows(ws, report.notes)
    ledger = (
        Ledger.open_readonly(ws.settings.ledger_path) if ws.settings.ledger_path.is_file() else None
    )
    try:
        gathered = [
            gather(
                ws.settings,
                ws.calendar,
                data,
                p,
                start,
                today,
                ledger_records(ledger, p.upn),
                leavers,
            )
            for p in pupils
        ]
    finally:
        if ledger is not None:
            ledger.close()
    report.timings["gather"] = time.perf_counter() - clock
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mergekit-evidence-") as tmp:
        converted, why_not = _convert_word_copies(ws, gathered, Path(tmp), convert)
        report.timings["convert"] = time.perf_counter() - clock
        clock = time.perf_counter()
        for ev in gathered:
            target = _target(ws, ev.pupil, out, len(pupils))
            report.packs.append(_write_pack(ws, data, ev, target, converted, why_not))
    report.timings["draw"] = time.perf_counter() - clock
    if why_not:
        report.notes.append(why_not)
    return report


def _target(ws: Workspace, pupil: Pupil, out: Path | None, n: int) -> Path:
    default = evidence_pack_path(ws.settings, ws.today, pupil)
    if out is None:
        return default
    if out.suffix.lower() == ".pdf" and n == 1:
        return out
    return out / default.name


def _convert_word_copies(
    ws: Workspace,
    gathered: Sequence[Evidence],
    tmp: Path,
    convert: Callable[[Sequence[Path], Path], list[Path]] | None,
) -> tuple[dict[Path, Path], str]:
    """PDFs of the Word copies without one (by Word path), and why some are not converted."""
    word = list(
        dict.fromkeys(
            c.path for ev in gathered for c in ev.copies if c.word and c.state != "missing"
        )
    )
    if not word:
        return {}, ""
    if convert is None:
        from mergekit.pdf.convert import docx_to_pdf
        from mergekit.pdf.soffice import find_soffice

        try:
            find_soffice(ws.settings.pdf.soffice)
        except ConversionError as e:
            return {}, (
                f"{len(word)} Word cop{'ies' if len(word) != 1 else 'y'} without a PDF "
                f"listed, not appended: {e}"
            )

        def convert(files: Sequence[Path], folder: Path) -> list[Path]:
            return docx_to_pdf(
                files,
                folder,
                soffice=ws.settings.pdf.soffice,
                timeout=ws.settings.pdf.convert_timeout_seconds,
            )

    # Same stems can come from different run folders: each gets a folder of its own.
    out: dict[Path, Path] = {}
    by_folder: dict[Path, list[Path]] = {}
    unique = len({p.name for p in word}) == len(word)
    for i, path in enumerate(word):
        by_folder.setdefault(tmp / ("all" if unique else str(i)), []).append(path)
    try:
        for folder, files in by_folder.items():
            folder.mkdir(parents=True, exist_ok=True)
            for src, pdf in zip(files, convert(files, folder), strict=True):
                out[src] = pdf
    except ConversionError as e:
        return out, f"some Word copies could not be converted, listed instead: {e}"
    return out, ""


def _write_pack(
    ws: Workspace,
    data: SchoolData,
    ev: Evidence,
    target: Path,
    converted: dict[Path, Path],
    why_not: str,
) -> PackResult:
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    appendix: list[tuple[Copy, Path]] = []
    notes: list[str] = []
    listed = 0
    for c in ev.copies:
        source: Path | None = None
        reason = ""
        if c.state == "missing":
            pass
        elif not c.word:
            source = c.path
        else:
            source = converted.get(c.path)
            reason = (
                "LibreOffice is not installed (install libreoffice-writer-nogui)" if why_not else ""
            )
        if source is not None:
            appendix.append((c, source))
        else:
            listed += 1
        notes.append(copy_note(c, source is not None, reason))
    drawn, _ = draw_pack(ev, ws.settings, ws.calendar, data, ws.today, notes)
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(drawn)))
    appended = 0
    for c, source in appendix:
        try:
            reader = PdfReader(source)
            if reader.is_encrypted:
                raise PdfReadError("encrypted")
            writer.append(reader, outline_item=f"{c.made:%d/%m/%Y} {c.title}")
            appended += 1
        except (PdfReadError, OSError, ValueError) as e:
            raise EvidenceError(
                f"{source}: cannot append this copy to {ev.pupil.upn}'s pack ({e}) - make the "
                f"document again (`mergekit letters --again {ev.pupil.upn} --pdf`) or move it "
                "out of the run folder"
            ) from e
    writer.add_metadata({"/Title": f"Evidence pack: {ev.pupil.legal_name} ({ev.pupil.upn})"})
    buf = io.BytesIO()
    writer.write(buf)
    write_or_explain(
        target,
        buf.getvalue(),
        EvidenceError,
        "cannot write the evidence pack",
        "close it if it is open in a PDF viewer, check the folder can be written to, and run "
        "the command again",
    )
    return PackResult(
        ev.pupil,
        target,
        len(writer.pages),
        len(ev.entries),
        appended,
        listed,
        ev.has_history,
        ev,
    )
