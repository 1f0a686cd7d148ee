"""Kafka security from the settings (streams/kafka/security.py): the exact options built for each
protocol and mechanism, the same for aiokafka and for Faust, accepted by both; a TLS context that
really verifies the broker and presents the client certificate; every misconfiguration refused in
one line; and no secret in a repr, in ``integrity settings`` or in a log record.

The embedded broker cannot take part (tansu 0.6.0 answers neither TLS nor, with memory storage, a
SASL login: SECURITY.md), so these run without a broker; tests/integration/test_kafka_settings.py
checks a real worker's logs and files for the password.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import cast

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from faust.transport.drivers.aiokafka import Producer as FaustProducer
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams import settings as settings_module
from streams.cli.main import main as integrity
from streams.kafka.admin import new_topics
from streams.kafka.clients import admin_options, consumer_options, producer_options
from streams.kafka.security import aiokafka_options, faust_options, hide_secrets_in_logs
from streams.settings import Settings, SettingsError, load_settings
from tests.helpers.tls import TlsFiles, make_tls_files

TOKEN = "s3cr3t-T0KEN-4a1f9c"


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _settings(**env: str) -> Settings:
    return load_settings({"KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9093,kafka-2:9093", **env})


def _sasl(protocol: str, mechanism: str, **env: str) -> Settings:
    login = {"KAFKA_SASL_USERNAME": "integrity", "KAFKA_SASL_PASSWORD": TOKEN}
    return _settings(KAFKA_SECURITY_PROTOCOL=protocol, KAFKA_SASL_MECHANISM=mechanism, **{**login, **env})


def _faust_auth(settings: Settings) -> dict:
    """What Faust hands its aiokafka clients for the app we would build."""
    app = faust.App("security-test", broker=settings.broker.url, **faust_options(settings.broker))
    return cast(dict, credentials_to_aiokafka_auth(app.conf.broker_credentials, app.conf.ssl_context))


# -- the options built --------------------------------------------------------------------------------


def test_plaintext_is_the_default_and_adds_nothing_to_faust():
    settings = _settings()
    assert aiokafka_options(settings.broker) == {"security_protocol": "PLAINTEXT"}
    assert faust_options(settings.broker) == {}
    assert _faust_auth(settings) == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_gives_aiokafka_and_faust_the_same_login(mechanism):
    settings = _sasl("SASL_PLAINTEXT", mechanism)
    expected = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "integrity",
        "sasl_plain_password": TOKEN,
    }
    assert aiokafka_options(settings.broker) == expected
    assert _faust_auth(settings) == {**expected, "ssl_context": None}


def test_ssl_gives_a_verifying_context_and_no_login(tls):
    settings = _settings(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CAFILE=str(tls.ca))
    options = aiokafka_options(settings.broker)
    assert set(options) == {"security_protocol", "ssl_context"} and options["security_protocol"] == "SSL"
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [dict(entry[0] for entry in ca["subject"]) for ca in context.get_ca_certs()] == [{"commonName": "test-ca"}]
    faust_auth = _faust_auth(settings)
    assert faust_auth["security_protocol"] == "SSL" and isinstance(faust_auth["ssl_context"], ssl.SSLContext)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_logs_in_over_tls(tls, mechanism):
    settings = _sasl("SASL_SSL", mechanism, KAFKA_SSL_CAFILE=str(tls.ca))
    options = aiokafka_options(settings.broker)
    assert isinstance(options.pop("ssl_context"), ssl.SSLContext)
    expected = {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "integrity",
        "sasl_plain_password": TOKEN,
    }
    assert options == expected
    faust_auth = _faust_auth(settings)
    assert isinstance(faust_auth.pop("ssl_context"), ssl.SSLContext)
    assert faust_auth == expected


def test_protocol_and_mechanism_are_read_in_any_case():
    settings = _sasl(" sasl_ssl ", "scram-sha-512")
    assert (settings.broker.security_protocol, settings.broker.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")


def test_every_plain_client_gets_the_security_options():
    settings = _sasl("SASL_PLAINTEXT", "SCRAM-SHA-512")
    for options in (admin_options(settings), producer_options(settings), consumer_options(settings)):
        assert options["bootstrap_servers"] == "kafka-1:9093,kafka-2:9093"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512" and options["sasl_plain_password"] == TOKEN


@pytest.mark.parametrize("protocol", ["SSL", "SASL_PLAINTEXT", "SASL_SSL"])
def test_aiokafka_and_faust_clients_accept_the_options(tls, protocol):
    env = {"KAFKA_SSL_CAFILE": str(tls.ca)} if "SSL" in protocol else {}
    settings = (
        _sasl(protocol, "SCRAM-SHA-256", **env)
        if "SASL" in protocol
        else _settings(KAFKA_SECURITY_PROTOCOL=protocol, **env)
    )

    async def build() -> None:  # built, never started: no broker needed
        producer = AIOKafkaProducer(**producer_options(settings))
        consumer = AIOKafkaConsumer(**consumer_options(settings))
        admin = AIOKafkaAdminClient(**admin_options(settings))
        app = faust.App("security-test", broker=settings.broker.url, **faust_options(settings.broker))
        # The aiokafka producer Faust's worker would start (``app.producer`` is typed as Faust's ProducerT).
        faust_producer = cast(FaustProducer, app.producer)._new_producer()
        for client in (producer.client, consumer._client, admin._client, faust_producer.client):
            assert client._security_protocol == protocol
            if "SASL" in protocol:
                assert (client._sasl_mechanism, client._sasl_plain_username) == ("SCRAM-SHA-256", "integrity")
                assert client._sasl_plain_password == TOKEN
            if "SSL" in protocol:
                assert isinstance(client._ssl_context, ssl.SSLContext)
        for started in (producer, faust_producer):
            await started.stop()
        await consumer.stop()
        await admin.close()

    asyncio.run(build())


# -- the TLS context, on a real handshake -------------------------------------------------------------


async def _handshake(tls: TlsFiles, client: ssl.SSLContext) -> str:
    """Connect to a TLS server on 127.0.0.1 that requires a client certificate from our CA; returns the
    name on the certificate the server received."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tls.ca))
    server_context.load_cert_chain(str(tls.server_cert), str(tls.server_key))
    server_context.verify_mode = ssl.CERT_REQUIRED

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        subject = dict(entry[0] for entry in writer.get_extra_info("peercert")["subject"])
        writer.write(subject["commonName"].encode() + b"\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="127.0.0.1")
        name = (await reader.readline()).decode().strip()
        writer.close()
        return name
    finally:
        server.close()
        await server.wait_closed()


def test_the_context_trusts_the_configured_ca_and_presents_the_client_certificate(tls):
    settings = _settings(
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CAFILE=str(tls.ca),
        KAFKA_SSL_CERTFILE=str(tls.client_cert),
        KAFKA_SSL_KEYFILE=str(tls.client_key),
        KAFKA_SSL_KEY_PASSWORD=tls.key_password,
    )
    context = aiokafka_options(settings.broker)["ssl_context"]
    assert asyncio.run(_handshake(tls, context)) == tls.client_name


def test_without_the_ca_the_broker_certificate_is_refused(tls):
    settings = _settings(
        KAFKA_SECURITY_PROTOCOL="SSL",  # no KAFKA_SSL_CAFILE: the system's CAs, which never signed ours
        KAFKA_SSL_CERTFILE=str(tls.client_cert),
        KAFKA_SSL_KEYFILE=str(tls.client_key),
        KAFKA_SSL_KEY_PASSWORD=tls.key_password,
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_handshake(tls, aiokafka_options(settings.broker)["ssl_context"]))


# -- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"KAFKA_SECURITY_PROTOCOL": "TLS"},
            "KAFKA_SECURITY_PROTOCOL='TLS' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
        ),
        (
            {"KAFKA_SASL_MECHANISM": "GSSAPI"},
            "KAFKA_SASL_MECHANISM='GSSAPI' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
            "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "integrity"},
            "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs KAFKA_SASL_PASSWORD",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_PASSWORD": TOKEN},
            "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs KAFKA_SASL_USERNAME",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nowhere/ca.pem"},
            "KAFKA_SSL_CAFILE='/nowhere/ca.pem' is not a readable file",
        ),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_USERNAME": "u",
                "KAFKA_SASL_PASSWORD": TOKEN,
                "KAFKA_SSL_CERTFILE": "/nowhere/c.pem",
            },
            "KAFKA_SSL_CERTFILE='/nowhere/c.pem' is not a readable file",
        ),
        ({"INTEGRITY_FRAMES_RETENTION_S": "0"}, "INTEGRITY_FRAMES_RETENTION_S=0 is not positive"),
    ],
)
def test_a_misconfiguration_is_refused_in_one_line(env, message):
    with pytest.raises(SettingsError) as refused:
        _settings(**env)
    assert str(refused.value) == message


def test_a_key_file_without_its_certificate_is_refused(tls):
    with pytest.raises(SettingsError) as refused:
        _settings(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_KEYFILE=str(tls.client_key))
    assert str(refused.value) == "KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE, the certificate it belongs to"


@pytest.mark.parametrize("broken", ["key password", "ca file"])
def test_tls_files_that_do_not_load_are_refused_in_one_line_without_the_password(tls, tmp_path, broken):
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CAFILE": str(tls.ca),
        "KAFKA_SSL_CERTFILE": str(tls.client_cert),
        "KAFKA_SSL_KEYFILE": str(tls.client_key),
        "KAFKA_SSL_KEY_PASSWORD": tls.key_password,
    }
    if broken == "key password":
        env["KAFKA_SSL_KEY_PASSWORD"] = TOKEN
    else:
        (tmp_path / "ca.pem").write_text("not a certificate\n")
        env["KAFKA_SSL_CAFILE"] = str(tmp_path / "ca.pem")
    settings = _settings(**env)  # the files exist: the settings take them
    with pytest.raises(SettingsError) as refused:
        aiokafka_options(settings.broker)
    message = str(refused.value)
    assert message.startswith("the TLS files could not be loaded (KAFKA_SSL_CAFILE=") and "\n" not in message
    assert TOKEN not in message and tls.key_password not in message


def test_credentials_the_protocol_does_not_use_are_accepted_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(settings_module, "_warned", set())  # once per process: forget earlier tests
    env = {"KAFKA_SASL_USERNAME": "integrity", "KAFKA_SASL_PASSWORD": TOKEN, "KAFKA_SSL_CAFILE": "/nowhere/ca.pem"}
    with caplog.at_level(logging.WARNING, logger="streams.settings"):
        for _ in range(3):
            settings = _settings(**env)
    assert aiokafka_options(settings.broker) == {"security_protocol": "PLAINTEXT"}
    assert [record.getMessage() for record in caplog.records] == [
        "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD set but unused: "
        "KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use SASL",
        "KAFKA_SSL_CAFILE set but unused: KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use TLS",
    ]


# -- secrets never shown ------------------------------------------------------------------------------


def test_no_repr_or_str_of_the_settings_shows_a_password(tls):
    settings = _sasl("SASL_SSL", "SCRAM-SHA-512", KAFKA_SSL_KEY_PASSWORD=tls.key_password)
    for text in (
        repr(settings),
        str(settings),
        repr(settings.broker),
        f"{settings.broker}",
        str(faust_options(settings.broker)),
    ):
        assert TOKEN not in text and tls.key_password not in text
    assert "sasl_password=Secret('***')" in repr(settings.broker)
    assert settings.broker.sasl_password.reveal() == TOKEN


def test_integrity_settings_shows_a_password_as_stars(monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "integrity")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", TOKEN)
    assert integrity(["settings"]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out
    lines = {line.split()[0]: line.split(maxsplit=1)[1] for line in out.splitlines()}
    assert lines["KAFKA_SASL_PASSWORD"] == "***  (set)"
    assert lines["KAFKA_SASL_USERNAME"] == "integrity  (set)"
    assert lines["KAFKA_SSL_KEY_PASSWORD"] == "empty  (default)"


@pytest.mark.parametrize("token", [TOKEN, "p@ss'w\\rd\"x"])
def test_no_log_record_shows_a_password_once_hidden(caplog, token):
    settings = _sasl("SASL_PLAINTEXT", "PLAIN", KAFKA_SASL_PASSWORD=token)
    hide_secrets_in_logs(settings.broker)
    # What aiokafka logs at debug level for a SASL PLAIN login: the request, with the password in its bytes.
    login = b"\x00integrity\x00" + token.encode()
    with caplog.at_level(logging.DEBUG, logger="aiokafka.conn"):
        logging.getLogger("aiokafka.conn").debug(
            "Request to %s:%d %d: %s", "kafka-1", 9093, 2, f"SaslAuthenticateRequest_v1(sasl_auth_bytes={login!r})"
        )
        logging.getLogger("streams.test").warning("password is %s, or %r", token, token)
    texts = [record.getMessage() for record in caplog.records] + [caplog.text]
    assert texts and all(token not in text and repr(token)[1:-1] not in text for text in texts)
    assert "sasl_auth_bytes=b'\\x00integrity\\x00***'" in texts[0]


# -- the frames topic's retention ---------------------------------------------------------------------


def test_only_the_frames_topic_is_created_with_a_short_retention():
    settings = _settings(INTEGRITY_FRAMES_RETENTION_S="90")
    created = {topic.name: topic for topic in new_topics(settings, list(settings.topics.all()))}
    assert created[settings.topics.frames].topic_configs == {"retention.ms": "90000"}
    # The policies topic: one partition, compacted (streams.kafka.policies); every other one as the sessions.
    policies = created.pop(settings.topics.policies)
    assert (policies.num_partitions, policies.topic_configs) == (1, {"cleanup.policy": "compact"})
    assert all(topic.topic_configs == {} for name, topic in created.items() if name != settings.topics.frames)
    assert {topic.num_partitions for topic in created.values()} == {settings.topics.partitions}
    default = new_topics(_settings(), [settings.topics.frames])[0]
    assert default.topic_configs == {"retention.ms": "3600000"}  # an hour
