"""The assistant suite's cases: enough of them, in English and French, each labelled with agents and tools
that exist (the tool's owner among the expected agents)."""

from __future__ import annotations

from agents.toolkits import AGENTS, tools_for
from evals.suite import SUITES_DIR, load_suite


def test_the_assistant_suite_is_labelled_with_real_agents_and_tools() -> None:
    suite = load_suite(SUITES_DIR / "assistant.yaml")
    assert len(suite.cases) >= 150
    langs = [c.tags[0] for c in suite.cases]
    assert langs.count("en") >= 60 and langs.count("fr") >= 60
    owner = {t.name: a for a in AGENTS for t in tools_for(a, "00000000-0000-0000-0000-000000000000")}
    for c in suite.cases:
        agents, tools = c.expect["agents"], c.expect["tools"]
        assert agents and set(agents) <= set(AGENTS), c.id
        for tool in tools:
            assert tool in owner and owner[tool] in agents, (c.id, tool)
    assert len({c.input["text"] for c in suite.cases}) == len(suite.cases)  # no duplicate request
