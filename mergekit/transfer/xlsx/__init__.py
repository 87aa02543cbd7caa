"""Writing a few cells into a user's .xlsx/.xlsm while changing nothing else in it.

openpyxl regenerates the whole package when it saves, and drops or rewrites much of what real
workbooks hold (``shared/research/roundtrip.md``). So this package never re-serialises anything:

* **Zip** (``core/zippackage.py``, shared with the Word renderer): every part that is not
  edited is copied as its original *compressed* bytes (local header, data and data
  descriptor, verbatim), in the original order; the central directory
  records are copied with only the offset patched. An edited part gets a fresh local header
  with the original name, method, flags (less the data-descriptor bit), time and extra fields.
* **Sheet XML**: the target worksheet is edited as bytes, row by row. Only the ``<row>``
  elements that receive a cell are rebuilt (their start tag and every other cell kept
  byte-for-byte); new rows are inserted in ``r`` order; ``<dimension>`` is widened to cover
  them. Nothing else in the part (namespaces, ``extLst``, x14 validation, ``mc:`` content)
  is touched.
* **Text** is written as an inline string (``t="inlineStr"``), so ``sharedStrings.xml`` is
  never touched, and text starting with ``=``, ``+``, ``-`` or ``@`` stays text.
* **Dates** are Excel serial numbers (1900 or 1904 system, as the workbook says) in the
  column's own date style: the cell's style, else the nearest styled cell above it in the
  data, else the column's ``<col>`` style, whichever first is a date format. When none is,
  one ``dd/mm/yyyy`` number format and one cell format (a copy of the cell's own format with
  that number format) are appended to ``styles.xml``, and reused by later writes.
* **Tables** whose range ends on the row just above a new row (and has no totals row) are
  widened by that row, so the new leaver is inside the table. Nothing else changes: a sheet
  autofilter, conditional formats and validations keep their ranges (Excel widens a filter
  itself when it is next used).
* ``calcChain.xml`` never changes: a cell holding a formula is never overwritten (nor a cell
  hidden under a merge or inside an array formula).
* Not changed on purpose: ``workbook.xml`` (so no "recalculate on open" flag: formulas elsewhere
  that count the Off Roll rows show their new result when Excel next recalculates), sheet
  protection (mergekit writes the cells it is asked to, as the attendance officer would).

Saving is atomic: the new package goes to a temp file in the same folder, is flushed to disk,
re-opened and CRC-checked, then renamed over the original. A copy of the original is kept in
the backups folder before the first write of each day.

The modules, lowest first: ``xmlbytes`` (cell references and raw XML as bytes), ``package``
(the zip, read and rewritten at the byte level), ``parts`` (relationships and ``styles.xml``),
``worksheet`` (one sheet's XML, edited row by row), ``save`` (backups and the atomic
replacement) and ``workbook`` (:class:`~mergekit.transfer.xlsx.workbook.XlsxWorkbook`, what
callers use).
"""
