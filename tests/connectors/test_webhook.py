"""post_signed: the egress check at send time, redirects not followed, errors that name no address or port."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from connectors import egress
from connectors.webhook import DeliveryError, WebhookRefused, post_signed
from tests.fakes.loopback import LoopbackServer

PAYLOAD = {"text": "hi"}


class Recorder:
    """A loopback endpoint that records each call and answers as told."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.calls.append({"host": request.headers.get("host")})
            return Response(status_code=status, headers={"Location": location} if location else None)

        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    r.server.start()
    yield r
    r.server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433:8233/",
        "http://[::1]/",
        "http://10.0.0.8/",
    ],
)
async def test_a_refused_address_is_not_called_and_not_named(url: str) -> None:
    with pytest.raises(WebhookRefused) as caught:
        await post_signed(url, "s", PAYLOAD, "k")
    assert str(caught.value) == "refused: the webhook address is not allowed"


async def test_the_check_runs_at_send_time_on_a_fresh_resolution(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name resolved again at every send; the request goes to the address that was checked (here the name
    does not exist in DNS at all) and still says which host it is for."""
    answer = ["127.0.0.1"]

    async def resolve(host: str, port: int) -> list[egress.IPAddress]:
        assert host == "hooks.rebind.test"
        return [ipaddress.ip_address(a) for a in answer]

    monkeypatch.setattr(egress, "resolve", resolve)
    url = f"http://hooks.rebind.test:{recorder.server.port}/hook"
    assert await post_signed(url, "s", PAYLOAD, "k", allow_loopback=True) == 200
    assert recorder.calls == [{"host": f"hooks.rebind.test:{recorder.server.port}"}]
    answer[:] = ["127.0.0.1", "10.0.0.9"]  # the name now also points inside
    with pytest.raises(WebhookRefused):
        await post_signed(url, "s", PAYLOAD, "k", allow_loopback=True)
    answer[:] = ["169.254.169.254"]
    with pytest.raises(WebhookRefused):
        await post_signed(url, "s", PAYLOAD, "k", allow_loopback=True)
    assert len(recorder.calls) == 1


async def test_loopback_needs_the_development_setting(recorder: Recorder) -> None:
    with pytest.raises(WebhookRefused):
        await post_signed(recorder.url, "s", PAYLOAD, "k")
    assert await post_signed(recorder.url, "s", PAYLOAD, "k", allow_loopback=True) == 200
    assert len(recorder.calls) == 1


@pytest.mark.parametrize(
    "elsewhere", ["inner", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.8/"]
)
async def test_a_redirect_is_not_followed(recorder: Recorder, elsewhere: str) -> None:
    location = recorder.url if elsewhere == "inner" else elsewhere
    redirecting = Recorder(status=307, location=location)
    redirecting.server.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await post_signed(redirecting.url, "s", PAYLOAD, "k", allow_loopback=True)
    finally:
        redirecting.server.stop()
    assert str(caught.value) == "webhook answered 307"
    assert len(redirecting.calls) == 1 and recorder.calls == []


async def test_errors_name_no_address_port_or_connection_message() -> None:
    port = _free_port()  # nothing listens there
    for check in (True, False):
        with pytest.raises(DeliveryError) as caught:
            await post_signed(
                f"http://127.0.0.1:{port}/hook", "s", PAYLOAD, "k", check_egress=check, allow_loopback=True
            )
        assert str(caught.value) == "webhook unreachable"


async def test_a_name_that_does_not_resolve_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> list[egress.IPAddress]:
        raise egress.Unresolved(host)

    monkeypatch.setattr(egress, "resolve", resolve)
    with pytest.raises(DeliveryError) as caught:
        await post_signed("https://gone.test/hook", "s", PAYLOAD, "k")
    assert str(caught.value) == "webhook unreachable" and not isinstance(caught.value, WebhookRefused)
