"""0.1's import paths that moved in 0.2 still work for one release, and say where the thing went."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest


def _fresh_import(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def test_the_kafka_client_from_its_old_path_warns_and_is_the_new_one():
    from streams.client import KafkaSessionClient

    client = importlib.import_module("producers.client")
    with pytest.warns(DeprecationWarning, match="streams.client"):
        assert client.KafkaSessionClient is KafkaSessionClient
    with pytest.warns(DeprecationWarning, match="streams.client"):
        assert _fresh_import("producers.client.kafka").KafkaSessionClient is KafkaSessionClient


def test_the_old_replay_of_footage_warns_and_is_publish_footage():
    from producers.footage import FootageOptions, publish_footage

    with pytest.warns(DeprecationWarning, match="producers.footage"):
        old = _fresh_import("producers.replay")
    assert old.replay is publish_footage and old.ReplayOptions is FootageOptions


def test_the_gateway_clients_load_without_the_stream_processor_and_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = importlib.import_module("producers.client")
        assert client.GatewayClient and client.AsyncGatewayClient
