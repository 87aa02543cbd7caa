"""Deciding what the school day needs: the policy as pure rules (``policy``, counting sessions
exactly in ``counting``), the plan around them (``planning``: history from the ledger,
approvals, strikes; ``register``: today's register), and the workbooks staff review or work
from (``planxlsx``, ``worklist``) with their layout helpers (``xlsxprint``, ``xlsxstyle``).

May import: ``mergekit.read``, ``mergekit.core``. The rules in ``policy`` read nothing but their
arguments and take ``today`` as a parameter.
"""
