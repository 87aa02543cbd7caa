"""The merge: what a document, form or email can print about a pupil. Merge fields built from
the model (``fields``, ``formfields``, ``cmesteps``), who gets which document
(``addressing``), which Word and email templates an action uses (``templates``), the fast
Word renderer (``render``) and the settings each template prints (``settingscheck``).

May import: ``mergekit.plan``, ``mergekit.read``, ``mergekit.core``.
"""
