"""The transfer list's Off Roll tab: the Remove From Roll checklist rules and the surgical
.xlsx writer that changes nothing but the cells it writes.

May import: ``mergekit.read``, ``mergekit.core`` (and the layers between, though it needs none).
"""
