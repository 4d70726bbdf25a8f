"""The one LLM factory. Every model call in the project goes through langchain-openai.

The chat model's HTTP calls pass a gate (`SlotGate`) that models the endpoint's slots: at most
`Settings.llm_call_slots` calls at once from this process, served live first, then background work (memory
extraction), then batch drafts; and only live calls may take the last free slot, so a live reply never waits for a
batch draft to finish at the engine. A caller names its lane with `with llm.lane(CallLane.BATCH): ...`; unnamed
calls are live.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel

from core.settings import Settings, get_settings


class CallLane(IntEnum):
    """Who waits for an LLM call, in the order calls are served."""

    LIVE = 0  # a fan's reply: someone is waiting
    BACKGROUND = 1  # follow-on work of a live reply (memory extraction)
    BATCH = 2  # follow-up steps, campaign messages


_lane: ContextVar[CallLane] = ContextVar("huntaze_llm_lane", default=CallLane.LIVE)


@contextmanager
def lane(which: CallLane) -> Iterator[None]:
    """Model calls made inside (this task and the tasks it starts) are in this lane."""
    token = _lane.set(which)
    try:
        yield
    finally:
        _lane.reset(token)


def current_lane() -> CallLane:
    return _lane.get()


class SlotGate:
    """At most `slots` calls at once; calls that are not live never take the last free slot (with two or more);
    waiting calls are served by lane (live first), first come first served within a lane."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.busy = 0
        self.busy_not_live = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def _fits(self, which: CallLane) -> bool:
        if self.busy >= self.slots:
            return False
        return which == CallLane.LIVE or self.slots == 1 or self.busy_not_live < self.slots - 1

    def _take(self, which: CallLane) -> None:
        self.busy += 1
        if which != CallLane.LIVE:
            self.busy_not_live += 1

    def release(self, which: CallLane) -> None:
        self.busy -= 1
        if which != CallLane.LIVE:
            self.busy_not_live -= 1
        self._grant()

    def _grant(self) -> None:
        kept = []
        while self._waiting:
            item = heapq.heappop(self._waiting)
            fut = item[2]
            if fut.done():  # its caller was cancelled while waiting
                continue
            which = CallLane(item[0])
            if self._fits(which):
                self._take(which)
                fut.set_result(None)
            else:
                kept.append(item)
        for item in kept:
            heapq.heappush(self._waiting, item)

    async def acquire(self, which: CallLane) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(which), next(self._order), fut))
        self._grant()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # granted, then cancelled before it ran
                self.release(which)
            else:
                fut.cancel()
            raise


# One gate per event loop (asyncio futures belong to one loop; tests run many loops in one process).
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SlotGate] = weakref.WeakKeyDictionary()


def gate(slots: int) -> SlotGate:
    """This event loop's gate (made, or remade when the number of slots changed)."""
    loop = asyncio.get_running_loop()
    g = _gates.get(loop)
    if g is None or g.slots != slots:
        g = _gates[loop] = SlotGate(slots)
    return g


class _ReleasingStream(httpx.AsyncByteStream):
    """The response body of a gated call: the slot is released once the body is read or closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Any) -> None:
        self.inner = inner
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self._release()


class GatedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose requests each hold one of the gate's slots, in the caller's lane."""

    def __init__(self, slots: int, inner: httpx.AsyncBaseTransport | None = None) -> None:
        from openai import DEFAULT_CONNECTION_LIMITS

        self.slots = slots
        self.inner = inner or httpx.AsyncHTTPTransport(limits=DEFAULT_CONNECTION_LIMITS)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        which, g = current_lane(), gate(self.slots)
        await g.acquire(which)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                g.release(which)

        try:
            resp = await self.inner.handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(resp.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=resp.status_code,
            headers=resp.headers,
            stream=_ReleasingStream(resp.stream, release),
            extensions=resp.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def _gated_client(settings: Settings) -> Any:
    """The async HTTP client of the chat model: the OpenAI defaults, through the gate when slots are limited."""
    slots = settings.llm_call_slots
    if slots is None:
        return None
    from openai import DefaultAsyncHttpxClient

    return DefaultAsyncHttpxClient(transport=GatedTransport(slots))


_override: BaseChatModel | None = None
_cached: BaseChatModel | None = None


def make_chat_model(settings: Settings) -> BaseChatModel:
    """ChatOpenAI against the configured endpoint (Azure when an Azure endpoint is set)."""
    if settings.azure_openai_endpoint:
        from langchain_openai import AzureChatOpenAI

        if not settings.azure_openai_deployment:
            raise ValueError("AZURE_OPENAI_DEPLOYMENT must be set when AZURE_OPENAI_ENDPOINT is set")
        return AzureChatOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=settings.azure_openai_deployment,
            api_version=settings.openai_api_version,
            api_key=settings.azure_openai_api_key,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout_s,
            max_retries=1,
            http_async_client=_gated_client(settings),
        )
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    base_url = settings.llm_base_url or settings.local_llm_base_url
    # The local engine needs no key; the OpenAI client insists on one being set.
    api_key = settings.llm_api_key or SecretStr("local-no-key")
    return ChatOpenAI(
        base_url=base_url,
        api_key=api_key,
        model=settings.llm_model,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_s,
        max_retries=1,
        http_async_client=_gated_client(settings),
    )


def make_judge_model(settings: Settings) -> BaseChatModel | None:
    """The eval judge: a separate OpenAI-compatible endpoint, deterministic; None when not configured."""
    if not settings.judge_base_url:
        return None
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        base_url=settings.judge_base_url,
        api_key=settings.judge_api_key or SecretStr("no-key"),
        model=settings.judge_model,
        max_tokens=300,
        temperature=0,
        timeout=settings.llm_timeout_s,
        max_retries=1,
    )


def chat_model() -> BaseChatModel:
    """The process's chat model: the override if one is set, else one built from settings."""
    global _cached
    if _override is not None:
        return _override
    if _cached is None:
        _cached = make_chat_model(get_settings())
    return _cached


def set_chat_model(model: BaseChatModel | None) -> None:
    """Install a model for this process (the worker's choice, or a test double at the edge)."""
    global _override, _cached
    _override = model
    _cached = None
