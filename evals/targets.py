"""What a suite's cases run against. Each target takes a case's inputs and returns a JSON-able output for the
graders. Targets run the project's real code: the supervisor's routing function, the policy engine, the
embedder, the BG/NBD fit and the segmentation refresh, and the whole supervisor graph (routing, DM agent with
its tools over Postgres, outbound policy) against the configured LLM.

Suites for agents that are not built yet name a target listed in NOT_BUILT; loading them fails with a clear
message rather than pretending to grade something.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from evals.suite import Case, Suite, SuiteError

if TYPE_CHECKING:
    from agents.supervisor import FollowupOutcome, FollowupRequest

# Targets whose agents are not built yet (none at the moment; a suite naming one fails with the reason).
NOT_BUILT: dict[str, str] = {}


@dataclass
class RunContext:
    """What targets share within one run: the scratch database (when a suite needs one)."""

    database_url: str | None = None
    scratch: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    needs_database: bool
    needs_llm: bool

    async def setup(self, suite: Suite, ctx: RunContext) -> None: ...

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]: ...


class RoutingTarget:
    """The supervisor's routing decision for a batch of events and a fan's state (no I/O)."""

    needs_database = False
    needs_llm = False

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        return None

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        from agents.supervisor import route_batch

        fan_in = case.input.get("fan", {})
        now = datetime.now(UTC)
        fan = {
            "opted_out_at": now if fan_in.get("opted_out") else None,
            "handoff_at": now if fan_in.get("handoff_reason") else None,
            "handoff_reason": fan_in.get("handoff_reason"),
            "spent_cents": int(fan_in.get("spent_cents", 0)),
            "handoff_spend_cents": fan_in.get("handoff_spend_cents"),
        }
        events = [
            {"kind": e["kind"], "payload": {k: v for k, v in e.items() if k != "kind"}}
            for e in case.input["events"]
        ]
        decision = route_batch(fan, events)
        return {
            "route": str(decision.route),
            "route_reason": decision.reason,
            "inbound": decision.inbound.to_json() if decision.inbound else {},
            "followups": {"start": decision.followups.start, "stop": decision.followups.stop},
        }


class PolicyTarget:
    """The policy engine: outbound drafts (pass/fix/block) and inbound messages (normal/handoff/injection/optout)."""

    needs_database = False
    needs_llm = False

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        return None

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        from policies.check import inbound_decision
        from policies.engine import check_draft
        from policies.rules import check_inbound

        text = str(case.input["text"])
        if case.input.get("direction", "outbound") == "inbound":
            return {"policy_decision": inbound_decision(check_inbound(text))}
        report = await asyncio.to_thread(
            check_draft,
            text,
            other_fans=case.input.get("other_fans", []),
            private_terms=case.input.get("private_terms", []),
        )
        return {"policy_decision": report.outcome, "rules": sorted({f.rule for f in report.findings})}


class MemoryTarget:
    """The configured embedder ranking the retrieval set's memories for each fan message (evals/memory)."""

    needs_database = False
    needs_llm = False

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.vectors: Any = None

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        import numpy as np

        from evals.memory.run import load
        from memory.embed import embedder

        memories, _ = load()
        self.ids = [m["id"] for m in memories]
        vecs = np.asarray(await asyncio.to_thread(embedder().embed, [m["text"] for m in memories]))
        self.vectors = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        import numpy as np

        from memory.embed import embedder

        q = np.asarray(await asyncio.to_thread(embedder().embed, [str(case.input["text"])]))[0]
        sims = self.vectors @ (q / np.linalg.norm(q))
        order = np.argsort(-sims, kind="stable")[:10]
        return {"ranked": [self.ids[i] for i in order]}


class SegmentationTarget:
    """`cdnow`: the BG/NBD + Gamma-Gamma fit on the CDNOW sample shipped with `lifetimes`; `seeded`: a seeded
    business segmented in the scratch database, summarised per seed archetype."""

    needs_database = True
    needs_llm = False

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        return None

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        kind = case.input.get("kind")
        if kind == "cdnow":
            return await asyncio.to_thread(_cdnow_fit)
        if kind == "seeded":
            return await _seeded_labels(case, ctx)
        raise SuiteError(f"case {case.id}: input.kind must be cdnow or seeded, not {kind!r}")


def _cdnow_fit() -> dict[str, Any]:
    """Through the same path as `huntaze segments fit`: the sample as a fan_id,occurred_at,amount CSV."""
    import importlib.resources
    import io
    from datetime import date

    from agents.segmentation.fit_file import fit_file

    try:
        raw = (importlib.resources.files("lifetimes") / "datasets" / "CDNOW_sample.txt").read_text()
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "the CDNOW sample ships with the `lifetimes` package: pip install -e '.[dev]'"
        ) from exc
    csv = io.StringIO()
    csv.write("fan_id,occurred_at,amount\n")
    for line in raw.splitlines():
        parts = line.split()
        if parts:
            csv.write(f"{parts[0]},{parts[2]},{parts[4]}\n")
    csv.seek(0)
    fit = fit_file(csv, date(1997, 9, 30), "weeks")
    return {"numbers": {"customers": float(fit["customers"]), **fit["bgnbd"], **(fit["gamma_gamma"] or {})}}


async def _seeded_labels(case: Case, ctx: RunContext) -> dict[str, Any]:
    from datetime import date

    from agents.segmentation.refresh import refresh_segments
    from core import db
    from devstack.seed import seed_business

    assert ctx.database_url
    until = date.fromisoformat(str(case.input.get("until", "2026-06-01")))
    handle = f"eval-seg-{uuid.uuid4().hex[:8]}"
    res = await asyncio.to_thread(
        seed_business,
        ctx.database_url,
        fans=int(case.input.get("fans", 400)),
        days=int(case.input.get("days", 180)),
        seed=int(case.input.get("seed", 7)),
        until=until,
        handle=handle,
    )
    as_of = datetime(until.year, until.month, until.day, 23, 59, 59, tzinfo=UTC)
    async with db.pool().connection() as conn:
        async with conn.transaction():
            await refresh_segments(conn, res.creator_id, as_of=as_of)
        cur = await conn.execute(
            "SELECT f.display_name, f.subscription_status, s.segment, s.value_tier FROM fan_scores s"
            " JOIN fans f ON f.id = s.fan_id WHERE s.creator_id = %s",
            [res.creator_id],
        )
        rows = await cur.fetchall()
    by_arch: dict[str, list[dict[str, Any]]] = {}
    for r in rows:  # the seed writes each fan's archetype into its display name: "Name (archetype)"
        by_arch.setdefault(r["display_name"].split("(")[-1].rstrip(")"), []).append(r)

    def share(arch: str, test: Any) -> float:
        group = by_arch.get(arch, [])
        return round(sum(bool(test(r)) for r in group) / len(group), 4) if group else 0.0

    top = ("whale", "big_spender")
    return {
        "numbers": {
            "fans": float(len(rows)),
            "whales_in_top_tiers": share("whale", lambda r: r["value_tier"] in top),
            "regulars_in_top_tiers": share("regular", lambda r: r["value_tier"] in top),
            "never_spenders_in_spending_tiers": share("never_spender", lambda r: r["value_tier"] != "none"),
            "expired_labelled_expired": round(
                sum((r["subscription_status"] == "expired") == (r["segment"] == "expired") for r in rows)
                / max(len(rows), 1),
                4,
            ),
            "churners_expired": share("churner", lambda r: r["subscription_status"] == "expired"),
        }
    }


class AnomaliesTarget:
    """The analytics agent's anomaly detector on a labelled synthetic series (agents/analytics/anomalies.py)."""

    needs_database = False
    needs_llm = False

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        return None

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        from agents.analytics.anomalies import detect, synthetic_series

        series = synthetic_series(int(case.input["seed"]), kind=str(case.input.get("kind", "amount")))
        found = detect(series.values)
        return {"flagged": [a.index for a in found], "directions": [a.direction for a in found]}


class PricingTarget:
    """The DM agent's price suggestion backtested on held-out purchases against the creator's median price
    (evals/pricing.py), on a seeded business or a generated history in the scratch database."""

    needs_database = True
    needs_llm = False

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        return None

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        from evals.pricing import run_case

        assert ctx.database_url
        try:
            return await run_case(dict(case.input), ctx.database_url)
        except ValueError as exc:
            raise SuiteError(f"case {case.id}: {exc}") from exc


class FollowupTarget:
    """The follow-up agent's rules (agents/followup): what a batch of events starts and stops (through the
    supervisor's routing, so opt-outs and hand-offs count), whether a later event stops a running sequence, the
    steps a sequence is planned with for a fan's segment, and when a step's message may go out."""

    needs_database = False
    needs_llm = False

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        return None

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        from agents.followup import rules
        from agents.followup.config import FollowupConfig

        inp = case.input
        check = inp["check"]
        if check == "directives":
            routed = await RoutingTarget().run(case, ctx)
            return {"start": routed["followups"]["start"], "stop": sorted(routed["followups"]["stop"])}
        if check == "stop":
            return {"stop_reason": rules.stop_reason_since(inp["kind"], inp["later_events"])}
        config = FollowupConfig.from_stored(inp.get("config"))
        if check == "plan":
            key = config.tuning_key(inp["kind"], inp.get("segment", "regular"), inp.get("value_tier", "none"))
            return {"after_hours": [s.after_hours for s in config.steps_for(inp["kind"], key)]}
        if check == "timing":
            at = rules.next_best_time(
                datetime.fromisoformat(inp["now"]),
                inp.get("timezone", "UTC"),
                inp.get("best_hours"),
                inp.get("default_hours", config.default_best_hours),
            )
            return {"send_at": at.astimezone(UTC).isoformat()}
        raise SuiteError(f"case {case.id}: unknown follow-up check {check!r}")


async def _sequences_not_run(req: FollowupRequest) -> FollowupOutcome:
    """The drafting suite measures drafts: a case's subscription does not start a follow-up sequence (those are
    Temporal workflows, measured by the followup suite), and the outcome says that none started or stopped."""
    from agents.supervisor import FollowupOutcome

    return FollowupOutcome(started=[], stopped=[])


class DraftingTarget:
    """The whole supervisor graph for one fan: each case's creator, catalog, fan, history, purchases and
    memories are written to the scratch database, its events stored, then routing → DM agent (tools over
    Postgres, the configured LLM, structured output) → outbound policy run as they do in the worker."""

    needs_database = True
    needs_llm = True

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        return None

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        from agents.dm import voice_examples_limit
        from agents.supervisor import SupervisorSteps, build_supervisor_graph

        fixture = await write_fixture(case)
        graph = build_supervisor_graph(SupervisorSteps(sync_followups=_sequences_not_run)).compile()
        start = {"creator_id": fixture.creator_id, "fan_id": fixture.fan_id, "event_ids": fixture.event_ids}
        state = await graph.ainvoke(start)
        routing, drafting, policy = state["routing"], state.get("drafting"), state.get("policy")
        out = {
            "route": str(routing.route),
            "route_reason": routing.reason,
            "draft": self._draft(drafting, fixture),
            "failure": drafting.failure if drafting else None,
            "policy": policy.to_json() if policy else None,
        }
        if "voice_history" in case.input:
            # the same graph on the same world, the DM prompt without the creator's past replies: the baseline
            # the voice graders compare with
            with voice_examples_limit(0):
                bare = await graph.ainvoke(start)
            out["baseline_draft"] = self._draft(bare.get("drafting"), fixture)
            out["voice_examples"] = fixture.voice_examples
        return out

    @staticmethod
    def _draft(drafting: Any, fixture: Fixture) -> dict[str, Any] | None:
        draft = asdict(drafting.draft) if drafting and drafting.draft else None
        if draft and draft["offer"]:
            offer = draft["offer"]
            offer["catalog_id"] = fixture.catalog_names.get(offer["catalog_id"], offer["catalog_id"])
        return draft


class AssistantTarget:
    """The creator's assistant (supervisor graph, the four agents' tool loops, the checked answer) on one seeded
    business, against the configured LLM in the configured tool-calling mode. Each case is one request; the
    output says which agents and tools ran, how many calls were invalid, the answer with its supporting numbers,
    and whether any row that reaches a fan (campaign, draft, outbox, event, follow-up) appeared."""

    needs_database = True
    needs_llm = True
    # what would reach a fan: none of these may grow while the assistant answers
    SEND_TABLES = ("campaigns", "drafts", "outbox", "events", "followups")

    async def setup(self, suite: Suite, ctx: RunContext) -> None:
        from agents.router import router_for
        from agents.segmentation.refresh import refresh_segments
        from agents.tool_loop import tool_mode
        from core import db
        from core.settings import get_settings
        from devstack.seed import seed_business

        assert ctx.database_url
        until = datetime.now(UTC).date() - timedelta(days=1)
        seeded = await asyncio.to_thread(
            seed_business, ctx.database_url, fans=300, days=120, seed=29, until=until, handle="assistant-eval"
        )
        async with db.pool().connection() as conn, conn.transaction():
            await refresh_segments(conn, seeded.creator_id)
        ctx.scratch["assistant_creator"] = seeded.creator_id
        ctx.scratch["assistant_rows"] = await self._rows(seeded.creator_id)
        # the router (json mode) is fitted or loaded before the first case, not inside its time
        await asyncio.to_thread(router_for, tool_mode(get_settings()))

    async def _rows(self, creator_id: str) -> dict[str, int]:
        from core import db

        out = {}
        async with db.pool().connection() as conn:
            for table in self.SEND_TABLES:
                cur = await conn.execute(
                    f"SELECT count(*) AS n FROM {table} WHERE creator_id = %s", [creator_id]
                )
                out[table] = int((await cur.fetchone() or {"n": 0})["n"])
        return out

    async def run(self, case: Case, ctx: RunContext) -> dict[str, Any]:
        from zoneinfo import ZoneInfo

        from agents import llm
        from agents.assistant import ask, supported_numbers
        from agents.router import router_for
        from agents.tool_loop import tool_mode
        from core.settings import get_settings

        settings = get_settings()
        mode = tool_mode(settings)
        creator_id = ctx.scratch["assistant_creator"]
        text = str(case.input["text"])
        answer = await ask(
            creator_id,
            llm.chat_model(),
            mode,
            text,
            today=datetime.now(ZoneInfo("UTC")).date(),
            timezone="UTC",
            max_steps=int(case.input.get("max_steps", settings.agent_max_steps)),
            attempts=settings.llm_attempts,
            router=router_for(mode),
        )
        rows = await self._rows(creator_id)
        before = ctx.scratch["assistant_rows"]
        return {
            "agents": answer.agents,
            "tools": [s.tool for s in answer.steps],
            "steps": [{**s.public(), "error": s.error} for s in answer.steps],
            "invalid_calls": answer.invalid_calls,
            "supervisor_error": answer.supervisor_error,
            "routed_by": answer.routed_by,
            "answer": answer.answer,
            "supported_numbers": sorted(supported_numbers(answer.steps, text)),
            "removed_numbers": answer.removed_numbers,
            "proposals": len(answer.proposals),
            "new_rows": {t: rows[t] - before[t] for t in rows if rows[t] != before[t]},
        }


@dataclass
class Fixture:
    creator_id: str
    fan_id: str
    event_ids: list[int]
    catalog_names: dict[str, str]  # database uuid -> the case's catalog id
    voice_examples: int = 0  # past exchanges of the creator indexed as voice examples


async def write_fixture(case: Case) -> Fixture:
    """One case's world in the scratch database: a fresh creator per case, so cases never see each other."""
    from core import db
    from memory.embed import embedder
    from memory.store import MemoryIn, remember

    inp = case.input
    creator = inp.get("creator", {})
    fan = inp.get("fan", {})
    now = datetime.now(UTC)
    creator_id, fan_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO creators (id, handle, display_name, persona, timezone, ppv_min_cents, ppv_max_cents)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                creator_id,
                f"eval-{creator_id[:8]}",
                creator.get("name", "Mia"),
                creator.get("persona", "warm, playful, a little teasing"),
                creator.get("timezone", "UTC"),
                int(creator.get("ppv_min_cents", 500)),
                int(creator.get("ppv_max_cents", 5000)),
            ],
        )
        by_name: dict[str, str] = {}
        for item in inp.get("catalog", []):
            cid = str(uuid.uuid4())
            by_name[str(item["id"])] = cid
            await conn.execute(
                "INSERT INTO catalog (id, creator_id, title, description, price_cents) VALUES (%s, %s, %s, %s, %s)",
                [cid, creator_id, item["title"], item.get("description", ""), int(item["price_cents"])],
            )
        await conn.execute(
            "INSERT INTO fans (id, creator_id, platform_fan_id, display_name, timezone, subscription_status,"
            " subscribed_at, opted_out_at, handoff_at, handoff_reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                fan_id,
                creator_id,
                f"pf-{fan_id[:8]}",
                fan.get("name", "fan"),
                fan.get("timezone", "UTC"),
                fan.get("subscription", "active"),
                now - timedelta(days=int(fan.get("subscribed_days", 30))),
                now if fan.get("opted_out") else None,
                now if fan.get("handoff_reason") else None,
                fan.get("handoff_reason"),
            ],
        )
        history = inp.get("history", [])
        for i, m in enumerate(history):
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, %s, %s, %s)",
                [
                    creator_id,
                    fan_id,
                    m["direction"],
                    m["text"],
                    now - timedelta(minutes=10 * (len(history) - i)),
                ],
            )
        for i, p in enumerate(inp.get("purchases", [])):
            await conn.execute(
                "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, occurred_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    creator_id,
                    fan_id,
                    p.get("kind", "ppv"),
                    int(p["amount_cents"]),
                    by_name.get(str(p.get("catalog_id"))) if p.get("catalog_id") else None,
                    now - timedelta(days=i + 1),
                ],
            )
        # The creator's past replies (voice cases): each exchange with a past fan of hers, a day apart, before
        # this fan's conversation; indexed as the service indexes sent replies.
        past = inp.get("voice_history", [])
        for i, ex in enumerate(past):
            past_fan = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO fans (id, creator_id, platform_fan_id, display_name, subscription_status)"
                " VALUES (%s, %s, %s, %s, 'active')",
                [past_fan, creator_id, f"past-{past_fan[:8]}", f"past fan {i + 1}"],
            )
            at = now - timedelta(days=len(past) - i + 1)
            for direction, text, t in (
                ("in", ex["fan"], at),
                ("out", ex["reply"], at + timedelta(minutes=5)),
            ):
                await conn.execute(
                    "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, %s, %s, %s)",
                    [creator_id, past_fan, direction, text, t],
                )
        memories = inp.get("memories", [])
        if memories:
            items = [MemoryIn(m["kind"], m["text"], float(m.get("importance", 0.6))) for m in memories]
            await remember(conn, creator_id, fan_id, items, embedder())
        event_ids = []
        for i, e in enumerate(inp.get("events", [])):
            payload = {k: v for k, v in e.items() if k != "kind"}
            cur = await conn.execute(
                "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                [creator_id, fan_id, f"eval-{i}", e["kind"], _json(payload), now],
            )
            row = await cur.fetchone()
            assert row is not None
            event_ids.append(int(row["id"]))
            if e["kind"] == "message":
                await conn.execute(
                    "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at, event_id)"
                    " VALUES (%s, %s, 'in', %s, %s, %s)",
                    [creator_id, fan_id, e.get("text", ""), now, row["id"]],
                )
    indexed = 0
    if inp.get("voice_history"):
        from memory.voice import index_creator

        async with db.pool().connection() as conn:
            indexed = await index_creator(conn, creator_id, embedder())
    return Fixture(creator_id, fan_id, event_ids, {v: k for k, v in by_name.items()}, indexed)


def _json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


TARGETS: dict[str, type[Any]] = {
    "routing": RoutingTarget,
    "policy": PolicyTarget,
    "memory": MemoryTarget,
    "segmentation": SegmentationTarget,
    "drafting": DraftingTarget,
    "anomalies": AnomaliesTarget,
    "followup": FollowupTarget,
    "assistant": AssistantTarget,
    "pricing": PricingTarget,
}


def make_target(suite: Suite) -> Target:
    if suite.target in NOT_BUILT:
        raise SuiteError(f"suite {suite.name}: target {suite.target!r}: {NOT_BUILT[suite.target]}")
    if suite.target not in TARGETS:
        raise SuiteError(
            f"suite {suite.name}: unknown target {suite.target!r}; known: {', '.join(sorted(TARGETS))}"
        )
    target: Target = TARGETS[suite.target]()
    return target
