"""The evidence pack: one PDF per pupil for a CME referral, a penalty notice or a prosecution.

Owns ``gather`` (everything recorded about one pupil over a period: the register, the ledger's
actions, documents and emails, the contact log, the workbook's letters and events, the Off Roll
tab, and the copies of the documents made, each checked against the ledger's SHA-256),
``chart`` (the attendance chart as reportlab vector graphics, from the layout in
:mod:`mergekit.merge.chart`), ``draw`` (the cover, the attendance certificate as a herringbone
grid with totals and the head teacher's signature block, the chart, the chronology), ``text``
(its fonts: the bundled one, and a system font for names in other scripts) and ``make``
(the packs of several pupils: drawn, copies appended, written whole).

It sits beside ``documents/`` and ``mail/`` and imports only from the layers below (``pdf/`` for
the fonts and LibreOffice, ``merge/`` for the chart's layout, ``read/`` for the Off Roll tab,
``core/``). It never emails: ``mail/`` attaches a pack already written (found by
:func:`mergekit.core.runfolder.evidence_pack_path`, in the day's run folder).
"""
