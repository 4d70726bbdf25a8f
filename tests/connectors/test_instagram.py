"""The Instagram connector's pure parts: Meta's signature, the messages payload, the message windows and the Send
API's answers (the live round trip is tests/api/test_instagram.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import SendContext, SendFailed
from connectors.instagram import (
    HUMAN_AGENT,
    PayloadError,
    _receipt,
    parse_messages,
    sign,
    verify_signature,
    window_rules,
)
from tests.fakes.graph import FakeGraph

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_the_signature_is_the_hmac_of_the_raw_body_with_the_app_secret() -> None:
    body, headers = FakeGraph("s3cret").user_writes("1", "u", "hi")
    assert verify_signature("s3cret", body, headers["X-Hub-Signature-256"])
    assert not verify_signature("other", body, headers["X-Hub-Signature-256"])
    assert not verify_signature("s3cret", body + b" ", headers["X-Hub-Signature-256"])
    assert not verify_signature("s3cret", body, None)
    assert not verify_signature("s3cret", body, headers["X-Hub-Signature-256"].removeprefix("sha256="))
    assert sign("k", b"{}").startswith("sha256=") and len(sign("k", b"{}")) == 7 + 64


def test_fan_messages_are_read_and_echoes_and_non_text_left_out() -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    body, _ = FakeGraph("s").user_writes("178", "igsid", "hello\u0000 there", at=at, mid="mid-1")
    doc = json.loads(body)
    items = doc["entry"][0]["messaging"]
    items.append({**items[0], "message": {"mid": "mid-2", "text": "from the app", "is_echo": True}})
    items.append({**items[0], "message": {"mid": "mid-3", "attachments": [{"type": "image"}]}})
    items.append({**items[0], "message": {"mid": "mid-4", "text": "gone", "is_deleted": True}})
    items.append(
        {"sender": {"id": "igsid"}, "recipient": {"id": "178"}, "timestamp": 1, "read": {"mid": "x"}}
    )
    [m] = parse_messages(json.dumps(doc).encode())
    assert (m.account_id, m.platform_fan_id, m.message_id, m.text, m.occurred_at) == (
        "178",
        "igsid",
        "mid-1",
        "hello there",
        at,
    )


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (b"not json", "not JSON"),
        ({"object": "page", "entry": []}, "object must be 'instagram'"),
        ({"object": "instagram", "entry": {}}, "entry must be a list"),
        ({"object": "instagram", "entry": [{"messaging": []}]}, "entry[0].id"),
        (
            {
                "object": "instagram",
                "entry": [{"id": "1", "messaging": [{"message": {"mid": "m", "text": "t"}}]}],
            },
            "entry[0].messaging[0].sender",
        ),
        (
            {
                "object": "instagram",
                "entry": [
                    {
                        "id": "1",
                        "messaging": [
                            {"sender": {"id": "u"}, "timestamp": "x", "message": {"mid": "m", "text": "t"}}
                        ],
                    }
                ],
            },
            "timestamp",
        ),
        (
            {
                "object": "instagram",
                "entry": [
                    {
                        "id": "1",
                        "messaging": [
                            {"sender": {"id": "u"}, "timestamp": 10**30, "message": {"mid": "m", "text": "t"}}
                        ],
                    }
                ],
            },
            "out of range",
        ),
    ],
)
def test_a_payload_that_is_not_the_documented_shape_says_which_part(doc: object, problem: str) -> None:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    with pytest.raises(PayloadError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_messages(raw)


@pytest.mark.parametrize(
    ("age", "human", "allowed", "tag", "why"),
    [
        (timedelta(hours=23), False, True, None, ""),
        (timedelta(hours=23), True, True, None, ""),
        (timedelta(hours=25), False, False, None, "24-hour"),
        (timedelta(hours=25), True, True, HUMAN_AGENT, ""),
        (timedelta(days=6, hours=23), True, True, HUMAN_AGENT, ""),
        (timedelta(days=7, hours=1), True, False, None, "7-day"),
        (None, True, False, None, "has not written"),
    ],
)
def test_the_windows(age: timedelta | None, human: bool, allowed: bool, tag: str | None, why: str) -> None:
    d = window_rules(SendContext(NOW, NOW - age if age is not None else None, human))
    assert (d.allowed, d.tag) == (allowed, tag)
    assert why in d.reason and (d.reason.startswith("held: ") or allowed)


def _answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_send_answers_become_a_receipt_or_a_failure_of_the_right_kind() -> None:
    assert _receipt(_answer(200, {"recipient_id": "u", "message_id": "mid.1"})).platform_message_id == "mid.1"
    cases = [
        (400, {"error": {"code": 190, "message": "bad token"}}, False, "access token"),
        (400, {"error": {"code": 10, "error_subcode": 2018278}}, False, "outside the messaging window"),
        (400, {"error": {"code": 613}}, True, "rate limit"),
        (429, {}, True, "rate limit"),
        (503, {}, True, "answered 503"),
        (400, {"error": {"code": 100}}, False, "error 100"),
        (200, {"unexpected": True}, False, "error 200"),
    ]
    for status, body, retryable, text in cases:
        with pytest.raises(SendFailed, match=text) as err:
            _receipt(_answer(status, body))
        assert err.value.retryable is retryable
        assert "bad token" not in str(err.value)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_item = st.fixed_dictionaries(
    {},
    optional={
        "sender": st.fixed_dictionaries({"id": _json}) | _json,
        "timestamp": st.integers() | _json,
        "message": st.fixed_dictionaries(
            {}, optional={"mid": _json, "text": st.text() | _json, "is_echo": _json}
        )
        | _json,
    },
)
_doc = st.fixed_dictionaries(
    {"object": st.just("instagram") | _json},
    optional={
        "entry": st.lists(
            st.fixed_dictionaries(
                {}, optional={"id": _json, "messaging": st.lists(_item, max_size=3) | _json}
            )
            | _json,
            max_size=3,
        )
        | _json
    },
)


@settings(max_examples=300, deadline=None)
@given(_doc)
def test_any_signed_body_is_read_or_refused_with_a_payload_error(doc: object) -> None:
    try:
        found = parse_messages(json.dumps(doc).encode())
    except PayloadError:
        return
    for m in found:
        assert m.text.strip() and "\x00" not in m.text and m.message_id and m.platform_fan_id
