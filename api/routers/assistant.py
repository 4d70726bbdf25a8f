"""The creator's assistant: a question in, an answer built from the agents' tool results out.

Each thread is a Temporal workflow (`assistant-<creator>-<thread>`); a request is its `ask` Update. Any member
may ask (viewers included). The answer's proposals are requests for existing endpoints; each says the role it
needs and whether the asker has it, and is executed only when a human sends it there (a campaign's messages are
then drafts that wait for approval). The assistant itself never writes to a fan."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.auth import ROLE_RANK, CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from core.types import Role
from workflows.assistant import assistant_workflow_id
from workflows.types import AssistantAsk, AssistantReply, AssistantThreadInput

router = APIRouter(prefix="/v1/assistant", tags=["assistant"])

# A thread completes after this long without a request (the next request starts it again, without history).
THREAD_IDLE_S = 3600.0


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="the creator's request")
    thread_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="continue this thread (default: a new one)",
    )

    @field_validator("text")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        if "\x00" in v:
            raise ValueError("text fields cannot contain NUL (\\u0000) characters")
        return v


class StepOut(BaseModel):
    agent: str
    tool: str
    args: dict[str, Any]
    summary: str
    mode: Literal["native", "json", "router"] = Field(
        description="how the tool was chosen: the model's tool call, its JSON choice, or the router's plan"
    )


class AskOut(BaseModel):
    thread_id: str
    answer: str = Field(description="only numbers that a tool returned (sentences with others are removed)")
    agents: list[str] = Field(description="the agents the supervisor delegated to, in order")
    steps: list[StepOut]
    proposals: list[dict[str, Any]] = Field(
        description="requests for existing endpoints that a human sends ({kind, summary, requires_role, request,"
        " allowed}); nothing is done until then"
    )


def _allowed(proposal: dict[str, Any], role: Role) -> dict[str, Any]:
    need = Role(proposal.get("requires_role", Role.OWNER))
    return {**proposal, "allowed": ROLE_RANK[role] >= ROLE_RANK[need]}


@router.post("/messages", response_model=AskOut, responses={422: {}, 503: {}})
async def ask(body: AskIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    """Ask the assistant. The supervisor picks the agents, each chooses its tools; the answer quotes tool results
    only. Waits for the answer (a local model may take minutes)."""
    thread = body.thread_id or uuid.uuid4().hex
    wid = assistant_workflow_id(who.creator_id, thread)
    req = AssistantAsk(who.creator_id, who.member_id, body.text)
    for _ in range(2):
        try:
            handle = await rt.temporal.start_workflow(
                "AssistantWorkflow",
                AssistantThreadInput(who.creator_id, thread, THREAD_IDLE_S),
                id=wid,
                task_queue=rt.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            reply: AssistantReply = await handle.execute_update("ask", req, result_type=AssistantReply)
            break
        except WorkflowUpdateFailedError as exc:
            raise ApiError(503, "assistant_failed", f"the assistant could not answer: {exc.cause}") from exc
        except RPCError as exc:
            last = exc  # the thread closed between the start and the update: start it again, once
    else:
        raise ApiError(503, "workflow_unavailable", "the workflow service is unreachable; retry") from last
    return AskOut(
        thread_id=reply.thread_id,
        answer=reply.answer,
        agents=reply.agents,
        steps=[StepOut(**s) for s in reply.steps],
        proposals=[_allowed(p, who.role) for p in reply.proposals],
    )
