"""The transfer list's Off Roll tab: the Remove From Roll checklist rules and operations
(``offroll``) and the surgical .xlsx writer that changes nothing but the cells it writes
(``xlsx``).

May import: ``mergekit.merge`` and everything below it; never ``mergekit.pdf`` (its sibling).
"""
