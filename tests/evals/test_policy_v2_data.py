"""The v2 policy training batches and the dev split are well-formed: every row parses with the schema's fields and
vocabulary, ids are unique, and the wide, red-team, thread and genre batches repeat no text of the others (a row in training and in dev would flatter
dev)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest

from evals.policy.run_v2 import DIRS, V2
from policies.semantic import TRAIN_SPLITS

# train_casebook and the held_* batches are held out of the fit (the unseen yardsticks), and checked like the batches
# that are fitted.
HELD_OUT = ("train_casebook", "held_agency")
BATCHES = (*TRAIN_SPLITS, *HELD_OUT, "dev")
CATEGORIES = {
    "off_platform_contact",
    "off_platform_payment",
    "meetup_in_person",
    "minors",
    "prohibited_content",
    "chargeback_fraud",
    "leaks",
    "internal_leakage",
}
CUES = {"minor", "self_harm", "threat", "chargeback"}
PLATFORMS = {"onlyfans", "fansly", "fanvue", "instagram", "reddit", "tiktok", "x", None}


def _rows(split: str, direction: str) -> list[dict[str, Any]]:
    with (V2 / split / f"{direction}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _key(text: str) -> str:
    # a text written only in symbols ("ⓢⓣⓞⓟ ⓨⓐ") is compared as NFKC reads it, not as an empty key
    key = re.sub(r"[\W_]+", "", text.casefold())
    return key or re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


@pytest.mark.parametrize("split", BATCHES)
def test_outbound_rows_follow_the_schema(split: str) -> None:
    rows = _rows(split, "outbound")
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert isinstance(r["text"], str) and r["text"].strip(), r["id"]
        assert r["lang"] in ("en", "fr", "es"), r["id"]
        assert r.get("platform") in PLATFORMS, r["id"]
        if r["label"] == "violation":
            assert r["category"] in CATEGORIES, r["id"]
        else:
            assert r["label"] == "benign" and r["category"] is None, r["id"]
            assert r.get("hard_negative_for") in CATEGORIES | {None}, r["id"]


@pytest.mark.parametrize("split", BATCHES)
def test_inbound_rows_follow_the_schema(split: str) -> None:
    rows = _rows(split, "inbound")
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert isinstance(r["text"], str) and r["text"].strip(), r["id"]
        assert r["lang"] in ("en", "fr", "es"), r["id"]
        want: dict[str, set[str | None]] = {
            "normal": {None},
            "handoff": set(CUES),
            "injection": {"injection"},
            "optout": {"optout"},
        }
        assert r["cue"] in want[r["label"]], r["id"]


def test_the_wide_batch_is_large_enough_and_in_three_languages() -> None:
    assert DIRS["wide"] == "train_wide"
    out, inb = _rows("train_wide", "outbound"), _rows("train_wide", "inbound")
    assert len(out) >= 800 and len(inb) >= 500
    for rows in (out, inb):
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.2 * len(rows), lang


def test_the_redteam_batch_is_large_enough_and_in_three_languages() -> None:
    assert DIRS["redteam"] == "train_redteam"
    out, inb = _rows("train_redteam", "outbound"), _rows("train_redteam", "inbound")
    assert len(out) >= 800 and len(inb) >= 600
    assert sum(r["label"] == "violation" and r["category"] == "internal_leakage" for r in out) >= 80
    for rows in (out, inb):
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.3 * len(rows), lang


@pytest.mark.parametrize("direction", ["outbound", "inbound"])
def test_the_redteam_batch_repeats_no_dev_text_and_no_training_text_under_another_label(
    direction: str,
) -> None:
    """Its spaced or dotted attempts may spell a training row's words ("s t o p texting me"), with the same label."""
    dev = {_key(r["text"]) for r in _rows("dev", direction)}
    assert [r["id"] for r in _rows("train_redteam", direction) if _key(r["text"]) in dev] == []
    labels = {
        _key(r["text"]): r["label"]
        for split in BATCHES
        if split not in ("train_redteam", "dev")
        for r in _rows(split, direction)
    }
    clash = [
        r["id"]
        for r in _rows("train_redteam", direction)
        if labels.get(_key(r["text"]), r["label"]) != r["label"]
    ]
    assert clash == []


def test_the_threads_batch_is_whole_threads_in_three_languages() -> None:
    assert DIRS["threads"] == "train_threads"
    out, inb = _rows("train_threads", "outbound"), _rows("train_threads", "inbound")
    assert len(out) >= 900 and len(inb) >= 700
    assert sum(r["label"] == "violation" and r["category"] == "internal_leakage" for r in out) >= 90
    assert sum(r["cue"] == "minor" for r in inb) >= 100
    for rows in (out, inb):
        assert all(isinstance(r.get("thread"), str) and r["thread"] for r in rows)
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.25 * len(rows), lang
    # the leak rows carry the creator's context, as the engine receives it for every draft
    assert all(r.get("other_fans") and r.get("private_terms") for r in out)


GENRES = {
    "outbound": {
        "welcome",
        "ppv_caption",
        "mass_message",
        "renewal_reminder",
        "custom_negotiation",
        "tip_thanks",
        "birthday_wish",
        "delay_apology",
        "schedule_announcement",
        "tour_announcement",
        "live_announcement",
        "bundle_offer",
        "after_purchase",
        "holiday_greeting",
        "wishlist_post",
        "boundary_reply",
        "chatter_reply",
        "long_message",
        "short_reply",
    },
    "inbound": {
        "rambling",
        "voice_dictation",
        "pasted_block",
        "forwarded_text",
        "fan_letter",
        "request_list",
        "complaint",
        "fan_chat",
        "short_fan",
    },
}


def test_the_genre_batch_is_written_by_genre_in_three_languages() -> None:
    assert DIRS["copy"] == "train_copy"
    out, inb = _rows("train_copy", "outbound"), _rows("train_copy", "inbound")
    assert len(out) >= 900 and len(inb) >= 700
    assert sum(r["label"] == "violation" and r["category"] == "internal_leakage" for r in out) >= 90
    assert sum(r["label"] == "benign" and bool(r.get("hard_negative_for")) for r in out) >= 400
    assert sum(r["cue"] == "minor" for r in inb) >= 120
    for direction, rows in (("outbound", out), ("inbound", inb)):
        assert {r["genre"] for r in rows} <= GENRES[direction]
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.3 * len(rows), lang
    assert all(r.get("other_fans") and r.get("private_terms") for r in out)


def test_the_pairs_batch_is_minimal_pairs_in_three_languages() -> None:
    """Each pair is a violation (or an inbound cue) and its hard negative: one of each side, same language."""
    assert DIRS["pairs"] == "train_pairs"
    out, inb = _rows("train_pairs", "outbound"), _rows("train_pairs", "inbound")
    assert len(out) >= 900 and len(inb) >= 600
    for rows, positive in ((out, "violation"), (inb, None)):
        pairs: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            if r.get("pair"):
                pairs.setdefault(r["pair"], []).append(r)
        assert len(pairs) >= 0.4 * len(rows)
        for pair, members in pairs.items():
            flagged = [r for r in members if (r["label"] == positive if positive else r["label"] != "normal")]
            assert len(members) == 2 and len(flagged) == 1, pair
            assert len({r["lang"] for r in members}) == 1, pair
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.3 * len(rows), lang


@pytest.mark.parametrize("direction", ["outbound", "inbound"])
def test_the_pairs_batch_repeats_no_dev_text(direction: str) -> None:
    dev = {_key(r["text"]) for r in _rows("dev", direction)}
    assert [r["id"] for r in _rows("train_pairs", direction) if _key(r["text"]) in dev] == []


def test_the_evasion_batch_covers_every_device_on_both_sides_in_three_languages() -> None:
    """Written evasion by evasion: most violations obfuscated, and innocent texts using the same devices, so that
    obfuscation alone is never the signal."""
    assert DIRS["evasion"] == "train_evasion"
    out, inb = _rows("train_evasion", "outbound"), _rows("train_evasion", "inbound")
    violations = [r for r in out if r["label"] == "violation"]
    benign = [r for r in out if r["label"] == "benign"]
    assert len(violations) >= 420 and len(benign) >= 450
    assert sum(r["evasion"] != "none" for r in violations) >= 0.6 * len(violations)
    assert sum(r["category"] == "prohibited_content" for r in violations) >= 110
    # A paraphrase of an innocent text is plain text: every other device is used on both sides.
    devices = {r["evasion"] for r in violations} - {"none", "paraphrase"}
    assert len(devices) >= 12 and devices <= {r["evasion"] for r in benign}
    assert sum(r["hard_negative_for"] in ("prohibited_content", "minors") for r in benign) >= 150
    for rows in (out, inb):
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.3 * len(rows), lang


def test_the_glossary_batch_is_mostly_benign_with_every_category_on_both_sides() -> None:
    """The everyday words of the trade used the ordinary way (no word of the trade a signal by itself), and inside
    violations too."""
    assert DIRS["glossary"] == "train_glossary"
    out, inb = _rows("train_glossary", "outbound"), _rows("train_glossary", "inbound")
    benign = [r for r in out if r["label"] == "benign"]
    assert len(benign) >= 700 and len(benign) >= 0.75 * len(out)
    for category in CATEGORIES:
        assert sum(r.get("category") == category for r in out) >= 15, category
    assert sum(r["label"] == "normal" for r in inb) >= 360
    assert {r["cue"] for r in inb if r["label"] != "normal"} >= CUES | {"injection", "optout"}
    for rows in (out, inb):
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.3 * len(rows), lang


def test_the_casebook_batch_is_half_reported_but_fine_and_held_out_of_the_fit() -> None:
    assert DIRS["casebook"] == "train_casebook" and "train_casebook" not in TRAIN_SPLITS
    out, inb = _rows("train_casebook", "outbound"), _rows("train_casebook", "inbound")
    fine = [r for r in out if r["label"] == "benign"]
    assert len(fine) >= 400 and sum(bool(r.get("hard_negative_for")) for r in fine) >= 0.9 * len(fine)
    assert sum(r.get("category") == "prohibited_content" for r in out) >= 160
    assert sum(r.get("cue") == "minor" for r in inb) >= 60
    for rows in (out, inb):
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in rows) >= 0.3 * len(rows), lang


def test_the_voices_niches_and_echo_batches_are_fitted_and_lean_where_they_were_written_to() -> None:
    assert {"train_voices", "train_niches", "train_echo"} <= set(TRAIN_SPLITS)
    voices = _rows("train_voices", "inbound")
    assert len(voices) >= 700 and sum(r["lang"] == "en" for r in voices) >= 0.45 * len(voices)
    assert sum(r["cue"] == "minor" for r in voices) >= 120
    niches = _rows("train_niches", "outbound")
    assert sum(r.get("category") == "prohibited_content" for r in niches) >= 100
    assert sum(r.get("hard_negative_for") == "prohibited_content" for r in niches) >= 150
    echo = _rows("train_echo", "outbound")
    assert sum(r.get("category") == "internal_leakage" for r in echo) >= 300
    assert sum(r.get("hard_negative_for") == "internal_leakage" for r in echo) >= 200


def test_the_boundaries_and_ladders_batches_are_fitted_and_mostly_hard_negatives() -> None:
    assert {"train_boundaries", "train_ladders"} <= set(TRAIN_SPLITS)
    for batch in ("train_boundaries", "train_ladders"):
        out = _rows(batch, "outbound")
        benign = [r for r in out if r["label"] == "benign"]
        assert len(out) >= 750 and len(benign) >= 0.4 * len(out), batch
        assert sum(bool(r.get("hard_negative_for")) for r in benign) >= 0.9 * len(benign), batch
        for lang in ("en", "fr", "es"):
            assert sum(r["lang"] == lang for r in out) >= 0.25 * len(out), (batch, lang)


def test_the_twelfth_round_batches_are_fitted_french_spanish_and_by_meaning() -> None:
    new = ("train_argot", "train_jerga", "train_shadows", "train_everyday", "train_pipeline")
    assert set(new) <= set(TRAIN_SPLITS)
    for batch in new:
        assert len(_rows(batch, "outbound")) >= 700 and len(_rows(batch, "inbound")) >= 150, batch
    assert all(r["lang"] == "fr" for d in ("outbound", "inbound") for r in _rows("train_argot", d))
    assert all(r["lang"] == "es" for d in ("outbound", "inbound") for r in _rows("train_jerga", d))
    shadows = [r for r in _rows("train_shadows", "outbound") if r["label"] == "violation"]
    hardest = {"prohibited_content", "leaks", "minors"}
    assert sum(r["category"] in hardest for r in shadows) >= 0.6 * len(shadows)
    everyday = _rows("train_everyday", "outbound")
    assert sum(r["label"] == "benign" for r in everyday) >= 0.65 * len(everyday)
    pipeline = [r for r in _rows("train_pipeline", "outbound") if r["label"] == "violation"]
    assert sum(r["category"] == "internal_leakage" for r in pipeline) >= 0.8 * len(pipeline)


def test_the_held_out_batches_are_registered_and_not_fitted() -> None:
    for batch in HELD_OUT:
        assert batch in DIRS.values() and batch not in TRAIN_SPLITS, batch
        assert len(_rows(batch, "outbound")) >= 100 and len(_rows(batch, "inbound")) >= 100, batch


def test_the_thirteenth_round_batches_are_fitted_and_shaped_as_described() -> None:
    new = ("train_replica", "train_plainspoken", "train_taboo", "train_ages", "train_inbox")
    assert set(new) <= set(TRAIN_SPLITS)
    replica = _rows("train_replica", "outbound")
    assert len(replica) >= 600 and len(_rows("train_replica", "inbound")) >= 300
    for lang in ("en", "fr", "es"):
        assert sum(r["lang"] == lang for r in replica) >= 0.25 * len(replica), lang
    plain = _rows("train_plainspoken", "outbound")
    assert len(plain) >= 700 and all(r["lang"] == "en" for r in plain)
    assert sum(r["label"] == "benign" for r in plain) >= 0.6 * len(plain)
    taboo = [r for r in _rows("train_taboo", "outbound") if r["label"] == "violation"]
    assert sum(r["category"] == "prohibited_content" for r in taboo) >= 0.7 * len(taboo)
    ages = _rows("train_ages", "inbound")
    assert sum(r.get("cue") == "minor" for r in ages) >= 200
    assert sum(r.get("hard_negative_for") == "handoff" for r in ages) >= 150
    inbox = _rows("train_inbox", "inbound")
    assert len(inbox) >= 650 and sum(r["label"] == "normal" for r in inbox) >= 0.55 * len(inbox)


def test_the_fifteenth_round_batches_are_fitted_and_shaped_as_described() -> None:
    new = ("train_dms", "train_world", "train_twins", "train_french", "train_unsaid", "train_support")
    assert set(new) <= set(TRAIN_SPLITS)
    twins = _rows("train_twins", "outbound")
    assert len(twins) >= 700 and abs(
        sum(r["label"] == "benign" for r in twins) - len(twins) / 2
    ) <= 0.05 * len(twins)
    french = [r for d in ("outbound", "inbound") for r in _rows("train_french", d)]
    assert len(french) >= 1000 and all(r["lang"] == "fr" for r in french)
    unsaid = _rows("train_unsaid", "outbound")
    assert all(r["hard_negative_for"] for r in unsaid if r["label"] == "benign")
    support = _rows("train_support", "inbound")
    assert len(support) >= 700 and sum(r["lang"] == "en" for r in support) >= 0.5 * len(support)
    agency = _rows("held_agency", "outbound")
    assert len(agency) >= 600 and sum(r["label"] == "benign" for r in agency) >= 0.55 * len(agency)


# The batches written for training after the first ones: none repeats a text of another batch or of dev (a row in
# training and in dev would flatter dev).
# (the first templated split and the first hand-written batches share texts with each other by design)
WRITTEN_APART = tuple(
    b
    for b in BATCHES
    if b not in {"train", "train_extra", "train_more", "train_redteam", "train_pairs", "dev"}
)


@pytest.mark.parametrize("direction", ["outbound", "inbound"])
@pytest.mark.parametrize("batch", WRITTEN_APART)
def test_a_batch_written_apart_repeats_no_text_of_the_others(batch: str, direction: str) -> None:
    others = {_key(r["text"]) for split in BATCHES if split != batch for r in _rows(split, direction)}
    assert [r["id"] for r in _rows(batch, direction) if _key(r["text"]) in others] == []


@pytest.mark.parametrize("split", ["test", "casebook", "agency"])
def test_the_sealed_and_held_out_splits_never_show_their_misses(split: str) -> None:
    from evals.policy.run_v2 import evaluate_v2

    with pytest.raises(ValueError, match=r"sealed|held out"):
        evaluate_v2(split, semantic=False, show_misses=True)
