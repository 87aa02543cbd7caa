"""Deciding what the school day needs: the policy as pure rules (``policy``), the plan around
them (history from the ledger, approvals, strikes), and the workbooks staff review or work
from (``plan.xlsx``, ``worklist.xlsx``) with their shared layout helpers.

May import: ``mergekit.read``, ``mergekit.core``. The rules in ``policy`` read nothing but their
arguments and take ``today`` as a parameter.
"""
