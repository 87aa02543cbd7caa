"""The day's letters and forms: choosing the approved document actions, rendering the Word
files, making their PDFs and the print pack, and checking templates the way staff edit them.

May import: ``mergekit.pdf``, ``mergekit.transfer`` and everything below them; never
``mergekit.mail``.
"""
