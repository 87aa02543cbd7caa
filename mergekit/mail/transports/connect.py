"""Choosing the transport ``[mail] transport`` names, and what a real send would refuse."""

from __future__ import annotations

from collections.abc import Mapping

from mergekit.core.config import Settings
from mergekit.mail.transports import Connector


def connector_for(settings: Settings, env: Mapping[str, str]) -> Connector:
    """The transport for a real send, checked from [mail] before anything is sent; raises
    MailError saying what to change."""
    if settings.mail.transport == "graph":
        from mergekit.mail.transports import graph

        return graph.transport_for(settings, env)
    from mergekit.mail.transports import smtp

    return smtp.transport_for(settings, env)


def security_problem(settings: Settings) -> str:
    """Why a real send with these settings would be refused ('' when it would not)."""
    if settings.mail.transport == "graph":
        from mergekit.mail.transports import graph

        return graph.security_problem(settings)
    from mergekit.mail.transports import smtp

    return smtp.security_problem(settings)
