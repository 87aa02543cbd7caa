"""Named places where a test may kill mergekit, to prove each step can be resumed.

``crash_point(name)`` does nothing, unless the environment variable ``MERGEKIT_TEST_KILL_AT``
names that point: then the process kills itself with SIGKILL there and then (no cleanup, no
``finally``: as a power cut or a killed terminal would). The tests in tests/day/ and
tests/transfer/ run a command in a subprocess with the variable set, then run it again and check
that the rerun finishes what was left and repeats nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "MERGEKIT_TEST_KILL_AT"

# Every point, so tests can go through them all and a misspelt name is caught.
POINTS: tuple[str, ...] = (
    "run:after-list-actions",  # the calls and alerts recorded, nothing else made yet
    "documents:after-word-files",  # the .docx written, no PDFs yet
    "documents:after-pdfs",  # PDFs made, manifest not merged
    "documents:after-manifest",  # the manifest merged, nothing recorded
    "documents:mid-recording",  # half the documents' records written (in the transaction)
    "documents:after-recording",  # recorded, no print pack yet
    "run:before-email",  # documents and pack done, the outbox not yet run
    "offroll:before-workbook-write",  # the write noted beside the ledger, the workbook as it was
    "offroll:after-workbook-write",  # the Off Roll cells saved, the ledger not told
)


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
