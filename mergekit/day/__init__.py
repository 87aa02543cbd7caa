"""What a command does with one school day, end to end: ``check`` (every problem in the
school's files and settings), ``plan`` (``mergekit plan``), ``school`` (the school read once
and handed down to the outputs) and ``pipeline`` (``mergekit run`` and ``mergekit demo``).

May import everything except ``mergekit.cli``.
"""
