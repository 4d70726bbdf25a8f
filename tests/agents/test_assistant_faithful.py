"""The answer's numbers must come from a tool's result: the digits inside an id support nothing."""

from __future__ import annotations

from agents.assistant import faithful, supported_numbers
from agents.tool_loop import Step


def test_the_digits_of_an_id_support_no_number() -> None:
    step = Step(
        "dm",
        "search_catalog",
        {},
        result={
            "items": [
                {"id": "9f0aba4a-c7d1-4508-8e3e-3cca65eb5c2b", "title": "Gym video", "price_cents": 2500}
            ]
        },
    )
    supported = supported_numbers([step], "what do I sell?")
    assert "7" not in supported and "4508" not in supported
    assert {"2500", "25"} <= supported  # the price, in cents and in units
    kept, removed = faithful("You sell one gym video for 25.00 and 7 others.", supported)
    assert (kept, removed) == ("", ["7"])  # the sentence goes, for its one unsupported number


def test_an_id_quoted_in_a_text_states_no_number() -> None:
    step = Step(
        "dm", "search_catalog", {}, result={"items": [{"id": "85a913a2-2ace-460b-8dcf-8730fd6586c8"}]}
    )
    supported = supported_numbers([step], "what do I sell?")
    text = 'items: [{"id": "85a913a2-2ace-460b-8dcf-8730fd6586c8", "price_cents": 1500}]'
    assert faithful(text, supported | {"1500"}) == (text, [])
    assert faithful(text, supported)[1] == ["1500"]  # the price is still a figure to support
