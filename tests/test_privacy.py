"""Fan messages go nowhere but the configured LLM endpoint.

The suite runs under a network guard (tests/conftest.py): any connection to a non-loopback address fails
the test that made it, so every test here, the end-to-end ones included, runs the stack without network.
These tests prove the guard itself bites and that library telemetry is off.
"""

import os
import socket

import httpx
import pytest

from core.privacy import TELEMETRY_OFF


def test_guard_refuses_non_loopback() -> None:
    with socket.socket() as s, pytest.raises(AssertionError, match="network guard"):
        s.connect(("192.0.2.1", 443))  # TEST-NET-1: never routable


async def test_guard_refuses_http_clients() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(BaseException) as err:  # anyio may wrap it in an exception group
            await client.get("http://192.0.2.1/")
    assert "network guard" in repr(err.value)


def test_telemetry_is_off() -> None:
    for key, value in TELEMETRY_OFF.items():
        assert os.environ[key] == value
