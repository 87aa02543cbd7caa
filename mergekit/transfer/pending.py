"""The note of an Off Roll write in progress, and finishing one a crash interrupted.

Before the transfer list is replaced, ``offroll`` saves a note beside the ledger of the cells it
is writing; once the ledger has recorded them the note is removed. A crash in between leaves the
note, and the next ``offroll``, ``run`` or ``history`` finishes the job: when the workbook holds
those cells the ledger records them (so `mergekit history` knows the row), else the note is
dropped (the crash came before the workbook was replaced).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mergekit.core.atomic import write_or_explain
from mergekit.core.config import Settings
from mergekit.core.errors import WriteBackError
from mergekit.core.ledger import Ledger
from mergekit.core.lock import school_lock
from mergekit.read import values as v
from mergekit.read.transferlist import read_transfer_list
from mergekit.transfer.xlsx.workbook import file_stamp


def pending_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".offroll-pending.json")


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """An Off Roll write about to be made: kept beside the ledger until the ledger has it."""

    file: str
    sheet: str
    row: int
    upn: str
    command: str
    today: str
    stamp: list[int]  # the workbook's (size, mtime) before the write
    cells: list[list[str]]  # [cell, field, old, new]

    def save(self, path: Path) -> None:
        data = json.dumps(dataclasses.asdict(self), ensure_ascii=False).encode("utf-8")
        write_or_explain(
            path,
            data,
            WriteBackError,
            "cannot note the Off Roll write about to be made",
            "check the ledger's folder can be written to; the workbook was not changed",
        )

    @classmethod
    def load(cls, path: Path) -> PendingWrite | None:
        try:
            d = json.loads(path.read_text("utf-8"))
            return cls(**d)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as e:
            raise WriteBackError(
                f"{path}: this note of an interrupted Off Roll write cannot be read ({e}) - "
                "check the Off Roll row in the workbook against `mergekit history`, then "
                "delete the note"
            ) from e

    def record(self, ledger: Ledger, command: str | None = None) -> None:
        with ledger.transaction():
            run_id = ledger.start_run(command or self.command, date.fromisoformat(self.today))
            ledger.record_writes(
                run_id,
                self.upn,
                Path(self.file).name,
                self.sheet,
                [(c[0], c[1], c[2], c[3]) for c in self.cells],
            )


def finish_interrupted(settings: Settings, what: str = "") -> str:
    """:func:`reconcile_pending` for any command (``run``, ``history``), taking the school's lock
    only when a note of an interrupted write is there."""
    if not pending_path(settings.ledger_path).is_file():
        return ""
    with school_lock(settings.ledger_path, what):
        return reconcile_pending(settings)


def reconcile_pending(settings: Settings) -> str:
    """Finish an Off Roll write a crash interrupted: when the workbook holds the cells the note
    says were being written, the ledger records them (so `mergekit history` knows the row);
    when it does not (the crash came before the workbook was replaced), the note is dropped.
    Returns what was done ('' when there was nothing to do). Call holding the school's lock."""
    pending = pending_path(settings.ledger_path)
    intent = PendingWrite.load(pending)
    if intent is None:
        return ""
    path = Path(intent.file)
    done = False
    if path.is_file() and list(file_stamp(path)) != intent.stamp:
        tl = read_transfer_list(settings, path)
        leaver = next((x for x in tl.leavers if x.row == intent.row), None)
        # The note holds each cell as the ledger does: as values.text shows it.
        done = leaver is not None and all(
            v.text(getattr(leaver, field, None)) == new for _, field, _, new in intent.cells
        )
    if done:
        with Ledger.open(settings.ledger_path) as ledger:
            intent.record(ledger, f"{intent.command} (recorded after an interruption)")
    pending.unlink(missing_ok=True)
    where = f"{path.name} {intent.sheet} row {intent.row}"
    return (
        f"recorded in the ledger the interrupted {intent.command} of {where}"
        if done
        else f"the interrupted {intent.command} of {where} had not changed the workbook"
    )
