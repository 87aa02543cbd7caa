"""Email: composing each message (``compose``: who gets which document, ``wording``: the words
around it), the forms held until a person releases them (``release``), the exactly-once
outbox (``outbox``, ``sendreport``), ``transports`` (the conversation with a server: SMTP or
Microsoft Graph, with a password or OAuth 2.0) and ``mailtest`` (`mergekit mail test`).

May import: ``mergekit.pdf``, ``mergekit.transfer`` and everything below them; never
``mergekit.documents`` (its sibling).
"""
