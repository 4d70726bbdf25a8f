"""An OpenAI-compatible chat endpoint on loopback: the edge double for the LLM in workflow/API tests.

ChatOpenAI talks to it exactly as it talks to a real endpoint; replies come from a script.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request

from tests.fakes.loopback import LoopbackServer

DEFAULT_REPLY = {
    "text": "Aww thank you for the message, you made my day 💕",
    "offer": None,
    "rationale": "a warm thank-you",
}


NO_MEMORIES = json.dumps({"memories": []})


def _schema_name(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, dict) else None


def tool_calls(*calls: tuple[str, dict[str, Any]], content: str | None = None) -> dict[str, Any]:
    """A scripted reply that calls tools: `fake.script(tool_calls(("segment_sizes", {})))`."""
    return {"tool_calls": [{"name": n, "args": a} for n, a in calls], "content": content}


def _tool_calls(content: str) -> tuple[list[dict[str, Any]], str | None] | None:
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tool_calls"), list):
        return None
    calls = [
        {
            "id": f"call_{i}_{c['name']}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c.get("args", {}))},
        }
        for i, c in enumerate(data["tool_calls"])
    ]
    return calls, data.get("content")


class FakeOpenAI:
    """Scripted replies. Memory-extraction calls (structured output named MemoryExtraction) have their own
    script, default "nothing to remember", so drafting scripts are not consumed by them."""

    def __init__(self, keep_requests: int = 10_000) -> None:
        self.replies: deque[str] = deque()
        self.memory_replies: deque[str] = deque()
        # The latest requests, for tests to inspect; bounded, so a long benchmark behind it does not grow it.
        self.requests: deque[dict[str, Any]] = deque(maxlen=keep_requests)
        self.calls = 0
        self.default = json.dumps(DEFAULT_REPLY)
        # Computes a drafting reply from the request (e.g. tests/fakes/grounded_model.py) when no script is queued.
        self.responder: Callable[[dict[str, Any]], str] | None = None
        # Seconds a drafting reply takes (an overloaded endpoint); memory extraction answers at once.
        self.delay_s = 0.0
        # Requests answered at once, like one local engine's parallel slots (None: no limit); the rest wait their
        # turn, first come first served, as llama.cpp's server queues them.
        self.slots: int | None = None
        self._busy = 0
        self._turns: deque[asyncio.Future[None]] = deque()
        # Requests whose prompt contains this text wait (holding their slot) until release_held().
        self.hold_text: str | None = None
        self._released = threading.Event()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._complete)
        self.server = LoopbackServer(self.app)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def start(self) -> FakeOpenAI:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def hold(self, text: str) -> None:
        """From now on, requests whose prompt contains `text` wait until release_held()."""
        self._released.clear()
        self.hold_text = text

    def release_held(self) -> None:
        self.hold_text = None
        self._released.set()

    def script(self, *replies: dict[str, Any] | str) -> None:
        self.responder = None
        self.delay_s = 0.0
        self.slots = None
        self.release_held()
        self.replies.clear()
        self.memory_replies.clear()
        for r in replies:
            self.replies.append(r if isinstance(r, str) else json.dumps(r))

    def script_memories(self, *replies: dict[str, Any] | str) -> None:
        self.memory_replies.clear()
        for r in replies:
            self.memory_replies.append(r if isinstance(r, str) else json.dumps(r))

    def draft_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if _schema_name(r) != "MemoryExtraction"]

    async def _complete(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        if self.slots is not None:
            if self._busy >= self.slots or self._turns:
                turn = asyncio.get_running_loop().create_future()
                self._turns.append(turn)
                await turn  # the slot is handed over by the request that frees it
            else:
                self._busy += 1
            try:
                return await self._answer(body)
            finally:
                if self._turns:
                    self._turns.popleft().set_result(None)
                else:
                    self._busy -= 1
        return await self._answer(body)

    async def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        self.requests.append(body)
        held = self.hold_text
        if held is not None and held in json.dumps(body.get("messages", []), ensure_ascii=False):
            await asyncio.to_thread(self._released.wait, 300)
        if _schema_name(body) == "MemoryExtraction":
            content = self.memory_replies.popleft() if self.memory_replies else NO_MEMORIES
        else:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.replies:
                content = self.replies.popleft()
            elif self.responder is not None:
                content = self.responder(body)
            else:
                content = self.default
        message: dict[str, Any] = {"role": "assistant", "content": content}
        finish = "stop"
        calls = _tool_calls(content) if body.get("tools") else None
        if calls is not None:
            # A scripted {"tool_calls": [{"name", "args"}], "content"?} to a request that offers tools: answered
            # in OpenAI's tool-call format (arguments as a JSON string, one id per call).
            message = {"role": "assistant", "content": calls[1], "tool_calls": calls[0]}
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-{self.calls}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
