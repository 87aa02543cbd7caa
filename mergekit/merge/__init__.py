"""The merge: what a document, form or email can print about a pupil. Merge fields built from
the model (``fields``, ``formfields``, ``cmesteps``), the fast Word renderer and the settings
each template prints.

May import: ``mergekit.plan``, ``mergekit.read``, ``mergekit.core``.
"""
