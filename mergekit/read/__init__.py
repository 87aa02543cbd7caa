"""Reading the school's files into the model: workbooks of every kind, header matching, cell
values as schools type them, the tracking workbook and the transfer list.

May import: ``mergekit.core``. Never writes to the files it reads.
"""
