"""Email: composing each message (who gets which document, and the words around it), the
forms held until released, and the exactly-once outbox that sends them.

May import: ``mergekit.pdf``, ``mergekit.transfer`` and everything below them; never
``mergekit.documents``.
"""
