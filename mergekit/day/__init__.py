"""What a command does with one school day, end to end: ``check`` (every problem in the
school's files and settings) and ``pipeline`` (``mergekit run`` and ``mergekit demo``).

May import everything except ``mergekit.cli``.
"""
