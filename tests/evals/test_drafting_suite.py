"""The drafting suite end to end through `huntaze eval run`: the supervisor graph, the DM agent's tools over a
scratch Postgres database and an OpenAI-compatible endpoint on loopback. With the built-in prompts the run
passes; a deliberately broken prompt (its user template drops the memories and the catalog) makes the same
run exit non-zero, and `huntaze eval compare` names what regressed."""

from __future__ import annotations

import asyncio
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_openai.chat_models._client_utils import _cached_async_httpx_client

from agents.prompts import set_dm_templates
from cli.main import main
from core import db
from core.settings import Settings
from tests.fakes.grounded_model import grounded_reply
from tests.fakes.openai_server import FakeOpenAI

BROKEN_PROMPTS = """\
user: |
  Fan: {fan_name} (subscription: {subscription})
  Why we reply now: {reason}
  <fan_message>
  {fan_text}
  </fan_message>
"""


@pytest.fixture
def eval_env(
    settings: Settings, fake_llm: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    assert settings.database_url
    fake_llm.responder = grounded_reply
    for key, value in {
        "DATABASE_URL": settings.database_url,
        "LLM_BASE_URL": fake_llm.base_url,
        "LLM_MODEL": "grounded-fake",
        "HUNTAZE_DATA_DIR": str(tmp_path / "data"),
        "HUNTAZE_MEMORY_LLM_EXTRACTION": "false",
    }.items():
        monkeypatch.setenv(key, value)
    yield_env = {"url": settings.database_url, "tmp": tmp_path}
    return yield_env


async def _cli(*argv: str) -> int:
    """The command in a thread with its own event loop; the test's pool is handed back and reopened after."""
    url = os.environ["DATABASE_URL"]  # the test database (eval_env points the command at it)
    await db.close_pool()
    try:
        return await asyncio.to_thread(main, list(argv))
    finally:
        set_dm_templates(None, None)
        # langchain-openai caches one async HTTP client per endpoint; the command's was bound to its own event
        # loop, which is gone: drop it so the next test's model connects afresh
        _cached_async_httpx_client.cache_clear()
        await db.open_pool(url, 5)


async def _eval(*args: str) -> int:
    return await _cli("eval", "run", "--quiet", *args)


def _databases(url: str) -> set[str]:
    """The cluster's databases but the tests' own (earlier tests' are dropped in the background meanwhile)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname !~ '^t_[0-9a-f]{12}$'").fetchall()
        return {r[0] for r in rows}


async def test_drafting_suite_passes_with_the_built_in_prompts_and_fails_with_a_broken_one(
    eval_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp: Path = eval_env["tmp"]
    before = _databases(eval_env["url"])
    good = tmp / "good"
    assert await _eval("--suite", "drafting", "--out", str(good)) == 0
    result = json.loads((good / "results.json").read_text())
    suite = result["suites"][0]
    assert result["passed"] and suite["counts"]["cases"] == 38, suite["counts"]
    assert suite["metrics"]["grader:must_mention"] == 1.0
    # the judge is not configured: reported as skipped, never counted
    judge = next(t for t in suite["thresholds"] if t["key"] == "grader:llm_judge")
    assert judge["passed"] is None
    dog = next(c for c in suite["cases"] if c["id"] == "memory-dog")
    assert "Max" in dog["output"]["draft"]["text"]
    upsell = next(c for c in suite["cases"] if c["id"] == "upsell-named-item")
    offer = upsell["output"]["draft"]["offer"]
    assert {k: offer[k] for k in ("catalog_id", "price_cents")} == {
        "catalog_id": "red-dress",
        "price_cents": 2500,
    }
    # the fan's suggested price for the item rides beside the chosen one (agents/pricing.py)
    assert isinstance(offer["suggested_price_cents"], int), offer
    # a voice case drafts with the creator's indexed past replies and again without them; this model ignores
    # them, so the two drafts and their chrF are the same, and the judge (not configured) is skipped
    voice = next(c for c in suite["cases"] if c["id"] == "voice-kat-1")
    assert voice["output"]["voice_examples"] == 14
    assert voice["output"]["baseline_draft"]["text"] == voice["output"]["draft"]["text"]
    assert voice["grades"]["voice_reference"]["passed"] and "skipped" in voice["grades"]["voice_pairwise"]
    metrics = suite["metrics"]
    assert metrics["voice:cases"] == 18 and metrics["voice:chrf_delta"] == 0.0
    assert metrics["voice:chrf_with"] == metrics["voice:chrf_without"] > 0
    # the local authorship judge, validated on the held-out replies, sees two identical drafts: a tie each time
    assert metrics["voice:local_judge_acc"] == 1.0 and metrics["voice:local_judge_informative"] == 1.0
    assert metrics["voice:pairwise_local"] == 0.5 and voice["grades"]["voice_pairwise_local"]["passed"]
    minor = next(c for c in suite["cases"] if c["id"] == "minor-handoff")
    assert minor["output"]["route"] == "handoff" and minor["output"]["draft"] is None
    # the scratch database of the fixtures is gone; nothing was written into the configured database's creators
    assert _databases(eval_env["url"]) == before
    with psycopg.connect(eval_env["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM creators").fetchone() == (0,)
        assert conn.execute("SELECT passed FROM eval_runs WHERE id = %s", [result["run_id"]]).fetchone() == (
            True,
        )

    prompts = tmp / "broken.yaml"
    prompts.write_text(BROKEN_PROMPTS)
    bad = tmp / "bad"
    capsys.readouterr()
    code = await _eval(
        "--suite", "drafting", "--prompts", str(prompts), "--out", str(bad), "--baseline", str(good)
    )
    assert code == 1
    out = capsys.readouterr().out
    broken = json.loads((bad / "results.json").read_text())
    assert not broken["passed"] and broken["prompts"] == "broken.yaml"
    failed = {t["key"] for t in broken["suites"][0]["thresholds"] if t["passed"] is False}
    assert "grader:must_mention" in failed, failed
    assert broken["suites"][0]["metrics"]["pass_rate"] < suite["metrics"]["pass_rate"]
    regressed = {r["case"] for r in broken["comparison"]["regressed"]}
    # (memory-dog and memory-nurse are no regressions to look for: their good drafts, "I remember: Has a golden
    # retriever named Max.", say a memory line back as it is stored, which the leakage classifier blocks in both runs)
    assert {"memory-birthday", "memory-travel", "upsell-named-item"} <= regressed, regressed
    assert "REGRESSED" in out and json.loads(out.strip().splitlines()[-1])["passed"] is False
    # JUnit shows the failing thresholds as failures
    root = ET.parse(bad / "junit.xml").getroot()
    failures = {tc.get("name") for tc in root.iter("testcase") if tc.find("failure") is not None}
    assert "grader:must_mention" in failures and "memory-dog" in failures

    capsys.readouterr()
    assert await _cli("eval", "compare", result["run_id"], str(bad)) == 0
    diff = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {r["case"] for r in diff["regressed"]} == regressed


async def test_a_prompt_with_an_unknown_placeholder_is_refused_before_anything_runs(
    eval_env: dict[str, Any],
) -> None:
    with pytest.raises(SystemExit, match=r"--tag: no case of --suite 'drafting' has the tag 'nope'"):
        await _eval("--suite", "drafting", "--tag", "nope")
    prompts = eval_env["tmp"] / "typo.yaml"
    prompts.write_text("system: 'You write for {creator}.'\n")
    with pytest.raises(
        SystemExit, match=r"--prompts: .*typo.yaml: system prompt: unknown placeholder\(s\) \['creator'\]"
    ):
        await _eval("--suite", "drafting", "--prompts", str(prompts))
