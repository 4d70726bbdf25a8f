"""The fan's platform decides what a draft may carry besides words: a PPV offer, a link (the real Guard)."""

import pytest

from policies.engine import check_draft

OFFER = {"catalog_id": "c1", "price_cents": 1500}
BOUNDS = (500, 5000)


def test_an_offer_goes_to_an_onlyfans_fan() -> None:
    report = check_draft("new set just for you", offer=OFFER, price_bounds=BOUNDS, platform="onlyfans")
    assert report.outcome == "pass"
    assert "platform_offer" in report.rules_checked


def test_an_offer_to_an_instagram_fan_blocks_before_approval() -> None:
    report = check_draft("new set just for you", offer=OFFER, price_bounds=BOUNDS, platform="instagram")
    assert report.outcome == "block"
    assert [(f.rule, f.reason) for f in report.findings] == [
        ("platform_offer", "Instagram cannot carry a PPV offer: send it without the offer")
    ]
    # The same words without the offer go.
    assert check_draft("new set just for you", platform="instagram").outcome == "pass"


@pytest.mark.parametrize("link", ["https://example.com/me", "www.example.com", "example.com/mia"])
def test_a_link_is_redacted_on_onlyfans_and_kept_on_instagram(link: str) -> None:
    text = f"look at {link} later"
    on_of = check_draft(text, platform="onlyfans")
    assert on_of.outcome == "fix"
    rules = [f.rule for f in on_of.findings]
    # The classifier may read a link as contact elsewhere too: its finding points nowhere, the link's span is cut.
    assert rules[0] == "platform_links" and set(rules) <= {"platform_links", "off_platform_contact"}
    assert on_of.fix_text == "look at [removed] later"
    assert check_draft(text, platform="instagram").outcome == "pass"


def test_a_link_to_the_fans_own_platform_is_no_finding() -> None:
    assert check_draft("my page: onlyfans.com/mia", platform="onlyfans").outcome == "pass"


def test_an_unknown_platform_keeps_offers_and_links() -> None:
    report = check_draft("see example.com/x", offer=OFFER, price_bounds=BOUNDS, platform=None)
    assert report.outcome == "pass"
