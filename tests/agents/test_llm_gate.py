"""The LLM factory's gate: one slot kept for live calls, live calls served first, and the chat model's HTTP calls
really pass it (against the fake endpoint on loopback)."""

from __future__ import annotations

import asyncio

from langchain_core.messages import HumanMessage

from agents import llm
from agents.llm import CallLane, SlotGate
from core.settings import Settings
from tests.fakes.openai_server import FakeOpenAI


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_batch_calls_never_take_the_last_slot_and_live_calls_go_first() -> None:
    gate = SlotGate(2)
    order: list[str] = []

    async def call(name: str, lane: CallLane, hold: asyncio.Event) -> None:
        await gate.acquire(lane)
        order.append(name)
        await hold.wait()
        gate.release(lane)

    holds = {n: asyncio.Event() for n in ("b1", "b2", "m1", "l1", "l2")}
    tasks = [asyncio.create_task(call("b1", CallLane.BATCH, holds["b1"]))]
    await _settle()
    tasks.append(asyncio.create_task(call("b2", CallLane.BATCH, holds["b2"])))
    tasks.append(asyncio.create_task(call("m1", CallLane.BACKGROUND, holds["m1"])))
    await _settle()
    assert order == ["b1"]  # one slot free, and it is kept for live work
    tasks.append(asyncio.create_task(call("l1", CallLane.LIVE, holds["l1"])))
    await _settle()
    assert order == ["b1", "l1"]
    tasks.append(asyncio.create_task(call("l2", CallLane.LIVE, holds["l2"])))
    await _settle()
    holds["b1"].set()  # a slot frees: the waiting live call goes before the background and batch ones
    await _settle()
    assert order == ["b1", "l1", "l2"]
    holds["l1"].set()  # not live: background before batch, and only one of them at a time
    await _settle()
    assert order == ["b1", "l1", "l2", "m1"]
    holds["l2"].set()
    await _settle()
    assert order == ["b1", "l1", "l2", "m1"]
    holds["m1"].set()
    await _settle()
    assert order == ["b1", "l1", "l2", "m1", "b2"]
    holds["b2"].set()
    await asyncio.gather(*tasks)
    assert (gate.busy, gate.busy_not_live) == (0, 0)


async def test_a_caller_cancelled_while_waiting_leaves_no_slot_taken() -> None:
    gate = SlotGate(1)
    await gate.acquire(CallLane.LIVE)
    waiter = asyncio.create_task(gate.acquire(CallLane.BATCH))
    await _settle()
    waiter.cancel()
    await _settle()
    gate.release(CallLane.LIVE)
    assert gate.busy == 0
    await gate.acquire(CallLane.LIVE)  # the slot is free again
    assert gate.busy == 1


async def test_the_chat_models_calls_pass_the_gate(fake_llm: FakeOpenAI, settings: Settings) -> None:
    model = llm.make_chat_model(settings.model_copy(update={"llm_slots": 2}))
    fake_llm.slots = 2
    fake_llm.hold("batch please")
    try:
        with llm.lane(CallLane.BATCH):
            batch = asyncio.create_task(model.ainvoke([HumanMessage("batch please")]))
            second = asyncio.create_task(model.ainvoke([HumanMessage("batch please, again")]))
        for _ in range(200):
            if fake_llm.draft_requests():
                break
            await asyncio.sleep(0.05)
        # the first batch call holds a slot at the engine; the second waits at the gate, not at the engine
        live = await model.ainvoke([HumanMessage("a fan says hi")])
        assert live.content
        assert len(fake_llm.draft_requests()) == 2  # the held batch call and the live one
        gate = llm.gate(2)
        assert (gate.busy, gate.busy_not_live) == (1, 1)
    finally:
        fake_llm.release_held()
        fake_llm.slots = None
    await asyncio.gather(batch, second)
    assert llm.gate(2).busy == 0
