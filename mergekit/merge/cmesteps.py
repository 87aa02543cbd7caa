"""What mergekit's ledger records of each pupil's CME steps (the team informed, referrals made
and emailed), read once for the forms being made: the CME referral's sibling question and the
Remove From Roll checklist's "Advice sought from the CME team?" come from it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from mergekit.core.actions import CME_STEPS
from mergekit.core.config import Settings
from mergekit.core.ledger import Ledger
from mergekit.core.model import Action
from mergekit.merge.formfields import StepsTaken


def steps_taken(settings: Settings, made_now: Iterable[Action], today: date) -> StepsTaken:
    """The ledger's CME steps and the emails sent for them, plus ``made_now`` (the documents
    being made today, recorded only once they are written)."""
    recorded: dict[tuple[str, str], list[date]] = {}
    emailed: dict[tuple[str, str], list[date]] = {}
    path = settings.ledger_path
    ledger = Ledger.open_readonly(path) if path.is_file() else None
    if ledger is not None:
        with ledger:
            for action in CME_STEPS:
                for r in ledger.actions(action=action):
                    recorded.setdefault((r.upn, r.action), []).append(r.day)
            for upn, action, day in ledger.emails_sent():
                emailed.setdefault((upn, action), []).append(day)
    steps = StepsTaken(
        {k: tuple(v) for k, v in recorded.items()}, {k: tuple(v) for k, v in emailed.items()}
    )
    return steps.with_made((a for a in made_now if a.kind in CME_STEPS), today)
