"""An OpenAI-compatible chat endpoint on loopback: the edge double for the LLM in workflow/API tests.

ChatOpenAI talks to it exactly as it talks to a real endpoint; replies come from a script.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from fastapi import FastAPI, Request

from tests.fakes.loopback import LoopbackServer

DEFAULT_REPLY = {
    "text": "Aww thank you for the message, you made my day 💕",
    "offer": None,
    "rationale": "a warm thank-you",
}


class FakeOpenAI:
    def __init__(self) -> None:
        self.replies: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.default = json.dumps(DEFAULT_REPLY)
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

    def script(self, *replies: dict[str, Any] | str) -> None:
        self.replies.clear()
        for r in replies:
            self.replies.append(r if isinstance(r, str) else json.dumps(r))

    async def _complete(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        self.requests.append(body)
        content = self.replies.popleft() if self.replies else self.default
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
