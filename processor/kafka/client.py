"""The one builder of Kafka connection settings (bootstrap, TLS, SASL) from `Settings`.

Every Kafka client of the processor connects through it: the worker (faust credentials), the
admin client, `alerts tail`, the simulator and any new consumer or producer (aiokafka
arguments). The two forms come from the same decision, so they cannot drift apart.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from processor.settings import Settings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

__all__ = ["client_kwargs", "faust_credentials", "ssl_context"]


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context that verifies the brokers (SLA_SSL_CAFILE, else the system CAs), or None
    when the protocol has no TLS."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.ssl_cafile) if settings.ssl_cafile else None
    return ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=cafile)


def _sasl(settings: Settings) -> tuple[str, str] | None:
    """(username, password) when the protocol is SASL; the settings guarantee both are set."""
    if not settings.security_protocol.startswith("SASL"):
        return None
    assert settings.sasl_username is not None and settings.sasl_password is not None
    return settings.sasl_username, settings.sasl_password.get_secret_value()


def client_kwargs(settings: Settings) -> dict[str, object]:
    """Connection arguments for aiokafka producers, consumers and admin clients."""
    kwargs: dict[str, object] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    sasl = _sasl(settings)
    if sasl is not None:
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"], kwargs["sasl_plain_password"] = sasl
    return kwargs


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """The worker's `broker_credentials` (faust), or None for PLAINTEXT."""
    import faust

    context = ssl_context(settings)
    sasl = _sasl(settings)
    if sasl is not None:
        return faust.SASLCredentials(
            username=sasl[0],
            password=sasl[1],
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
