"""The transfer list's Off Roll tab: the Remove From Roll checklist rules and operations
(``offroll``), the note beside the ledger that lets a write a crash interrupted be finished
(``pending``), and the surgical .xlsx writer that changes nothing but the cells it writes
(``xlsx``).

May import: ``mergekit.merge`` and everything below it; never ``mergekit.pdf`` (its sibling).
"""
