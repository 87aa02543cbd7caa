"""PDFs: fillable forms (reading, filling, drawing values, the embedded font), password
protection, Word letters to PDF with LibreOffice, and the print pack.

May import: ``mergekit.merge``, ``mergekit.plan``, ``mergekit.read``, ``mergekit.core``.
"""
