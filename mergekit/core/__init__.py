"""The ground every other part stands on: settings, the school calendar, the clean model,
attendance codes, errors, atomic writing, the ledger and the run folder's layout.

Imports nothing else from mergekit. Everything above may import it.
"""
