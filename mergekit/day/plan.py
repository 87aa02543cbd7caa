"""`mergekit plan`: read and check the workbooks, plan, write the review workbook when asked,
and apply the approvals staff gave.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergekit.core.errors import WorkbookError
from mergekit.core.workspace import Workspace
from mergekit.day.check import CheckReport, run_check
from mergekit.plan.planning import Review, make_plan, review
from mergekit.plan.planxlsx import write_plan_xlsx
from mergekit.plan.policy import Plan


@dataclass(frozen=True)
class PlanReport:
    plan: Plan
    check: CheckReport
    approvals_file: Path | None = None  # the plan workbook whose Approve column was applied
    xlsx_written: Path | None = None
    xlsx_kept_n: int = 0  # rows that kept an N from the workbook being rewritten
    review: Review | None = None

    @property
    def check_errors(self) -> int:
        return len(self.check.errors)


def plan_today(ws: Workspace, *, xlsx: Path | None = None) -> PlanReport:
    """Read and check the workbooks, plan, write the review workbook when asked (strikes held
    from earlier days written as N, with a note), and apply the approvals staff gave (the
    workbook just written, else plan.xlsx in today's run folder) and the held strikes."""
    report = run_check(ws.settings, ws.calendar, ws.today, ws.now)
    if report.result is None:
        raise WorkbookError(
            "; ".join(str(p) for p in report.errors) or "the tracking workbook cannot be read"
        )
    data = report.result.data
    plan = make_plan(ws, data)
    kept = 0
    if xlsx is not None:
        before = review(ws, data, plan, approvals=False)
        kept = write_plan_xlsx(before.plan, xlsx, before.row_notes)
    reviewed = review(ws, data, plan, plan_file=xlsx)
    return PlanReport(reviewed.plan, report, reviewed.source, xlsx, kept, reviewed)
