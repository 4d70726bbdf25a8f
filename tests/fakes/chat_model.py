"""A small scripted chat model that supports tools and structured output, for graph tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, ValidationError


class ScriptedChatModel(BaseChatModel):
    """Replies are taken in order: a str is content, a dict is JSON content, an AIMessage is used as is."""

    replies: list[Any]
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self) -> AIMessage:
        if not self.replies:
            raise RuntimeError("the script ran out of replies")
        r = self.replies.pop(0)
        if isinstance(r, AIMessage):
            return r
        if isinstance(r, Exception):
            raise r
        return AIMessage(content=r if isinstance(r, str) else json.dumps(r))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=self._next())])

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:  # type: ignore[override]
        self.bound_tools = [t.name if isinstance(t, BaseTool) else str(t) for t in tools]
        return self

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        def parse(messages: Any) -> Any:
            raw = self.invoke(messages)
            try:
                parsed: BaseModel | None = schema.model_validate_json(str(raw.content))
                err = None
            except ValidationError as exc:
                parsed, err = None, exc
            if include_raw:
                return {"raw": raw, "parsed": parsed, "parsing_error": err}
            if err:
                raise err
            return parsed

        return RunnableLambda(parse)
