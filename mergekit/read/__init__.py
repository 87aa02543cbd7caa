"""Reading the school's files into the model: workbooks of every kind (``sheets``), header
synonyms (``columns``), cell values as schools type them (``values``), finding a sheet and
reading its rows (``rows``), the tracking workbook (``tracking``) and the transfer list
(``transferlist``).

May import: ``mergekit.core``. Never writes to the files it reads.
"""
