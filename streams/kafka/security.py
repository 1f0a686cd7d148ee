"""How our Kafka clients authenticate and encrypt: the one place that turns the broker settings
(``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*``, ``KAFKA_SSL_*``) into the clients' own options.

- ``aiokafka_options``: keyword arguments for every plain aiokafka client (producers, consumers, the
  admin client), added by ``streams.kafka.clients``.
- ``faust_options``: keyword arguments for ``faust.App``: ``broker_credentials``, which Faust turns into
  the same aiokafka arguments for its own consumer, producers and topic creation
  (``faust.transport.drivers.aiokafka.credentials_to_aiokafka_auth``; SCRAM and SASL over TLS included).
- ``hide_secrets_in_logs``: aiokafka logs every request at debug level, and a SASL PLAIN request
  carries the password; from then on no log record of this process shows a password.

The settings validate the combination (``streams.settings.load_settings``); a TLS file that exists but
does not load is refused here, as a ``SettingsError`` too. The embedded broker's fixup talks to the
embedded broker only, which speaks PLAINTEXT, and builds its clients without these.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from streams.settings import BrokerSettings, Secret, SettingsError

__all__ = ["aiokafka_options", "faust_options", "hide_secrets_in_logs", "ssl_context"]


def ssl_context(broker: BrokerSettings) -> ssl.SSLContext | None:
    """The TLS context of ``SSL`` and ``SASL_SSL`` (the broker's certificate checked against
    ``KAFKA_SSL_CAFILE`` or the system's CAs, host name included); None for the other protocols."""
    if not broker.uses_tls:
        return None
    try:
        return create_ssl_context(
            cafile=broker.ssl_cafile or None,
            certfile=broker.ssl_certfile or None,
            keyfile=broker.ssl_keyfile or None,
            password=broker.ssl_key_password.reveal() or None,
        )
    except (ssl.SSLError, OSError) as exc:
        files = ", ".join(
            f"{env}={path!r}"
            for env, path in (
                ("KAFKA_SSL_CAFILE", broker.ssl_cafile),
                ("KAFKA_SSL_CERTFILE", broker.ssl_certfile),
                ("KAFKA_SSL_KEYFILE", broker.ssl_keyfile),
            )
            if path
        )
        raise SettingsError(f"the TLS files could not be loaded ({files or 'the system CAs'}): {exc}") from None


def aiokafka_options(broker: BrokerSettings) -> dict[str, Any]:
    """``security_protocol`` and, as the protocol needs them, ``ssl_context`` and the SASL options."""
    options: dict[str, Any] = {"security_protocol": broker.security_protocol}
    context = ssl_context(broker)
    if context is not None:
        options["ssl_context"] = context
    if broker.uses_sasl:
        options |= {
            "sasl_mechanism": broker.sasl_mechanism,
            "sasl_plain_username": broker.sasl_username,
            "sasl_plain_password": broker.sasl_password.reveal(),
        }
    return options


def faust_options(broker: BrokerSettings) -> dict[str, Any]:
    """``broker_credentials`` for ``faust.App``; nothing for PLAINTEXT (Faust's default)."""
    import faust

    context = ssl_context(broker)
    if broker.uses_sasl:
        # With an SSL context Faust's SASLCredentials are SASL_SSL, without one SASL_PLAINTEXT.
        credentials: Any = faust.SASLCredentials(
            username=broker.sasl_username,
            password=broker.sasl_password.reveal(),
            ssl_context=context,
            mechanism=broker.sasl_mechanism,
        )
    elif context is not None:
        credentials = faust.SSLCredentials(context)
    else:
        return {}
    return {"broker_credentials": credentials}


_hidden: set[str] = set()


def hide_secrets_in_logs(broker: BrokerSettings) -> None:
    """From now on, any log record of this process that would show the SASL password or the key's
    password shows ``***`` in its place (as written, and as Python writes it inside bytes)."""
    secrets: list[Secret] = [broker.sasl_password, broker.ssl_key_password]
    forms = set()
    for secret in secrets:
        if secret:
            value = secret.reveal()
            forms |= {value, repr(value)[1:-1], repr(value.encode())[2:-1]}
    forms -= _hidden | {""}
    if not forms:
        return
    if not _hidden:
        _install_redaction()
    _hidden.update(forms)


def _install_redaction() -> None:
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's to report, not ours
            return record
        if any(form in message for form in _hidden):
            # Longest first, so that a shorter form never leaves part of a longer one behind.
            for form in sorted(_hidden, key=len, reverse=True):
                message = message.replace(form, "***")
            record.msg, record.args = message, None
        return record

    logging.setLogRecordFactory(redacting_record)
