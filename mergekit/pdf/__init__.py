"""PDFs: fillable forms (``reader`` finds the fields, ``prepare`` readies a template once,
``fill`` and ``pdfbytes`` write each copy, ``draw``, ``font`` and ``typeset`` draw the values
in whatever fonts they need, ``forms`` is what the commands call), password protection
(``protect``), Word letters to PDF with LibreOffice (``convert``, with ``docxparts``,
``combine``, ``soffice``; ``fonts`` checks the fonts the templates ask for), and the print
pack (``pack``).

May import: ``mergekit.merge``, ``mergekit.plan``, ``mergekit.read``, ``mergekit.core``; never
``mergekit.transfer`` (its sibling).
"""
