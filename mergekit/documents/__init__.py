"""The day's letters and forms: choosing the approved document actions (``make``), making
them end to end (``produce``: render, write, PDFs, manifest, ledger, print pack), and the tools
for staff who edit templates (``templatecheck`` with ``fieldschema`` and the ``sample`` pupil,
``fieldlist``, ``starter`` for ``templates copy``).

May import: ``mergekit.pdf``, ``mergekit.transfer`` and everything below them; never
``mergekit.mail`` (its sibling).
"""
