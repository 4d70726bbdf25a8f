"""An OpenAI-compatible chat endpoint on loopback: the edge double for the LLM in workflow/API tests.

ChatOpenAI talks to it exactly as it talks to a real endpoint; replies come from a script.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

DEFAULT_REPLY = {"text": "Aww thank you for the message, you made my day 💕", "offer": None,
                 "rationale": "a warm thank-you"}


class FakeOpenAI:
    def __init__(self) -> None:
        self.replies: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.default = json.dumps(DEFAULT_REPLY)
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._complete)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)

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
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
