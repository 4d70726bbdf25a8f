"""What a direct message may carry on each platform besides words (links, a PPV offer), and the check the outbound
policy runs with it. Kept apart from `platforms.py`, whose text keys the fitted classifiers' cache."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from core.types import PolicyFinding
from policies.platforms import PLATFORM_NAMES


@dataclass(frozen=True)
class PlatformRules:
    """What a direct message may carry on one platform, besides words: links, and a PPV offer (paid media the
    fan unlocks). The outbound policy flags a draft that carries what its fan's platform cannot."""

    links: bool
    offers: bool


# A subscription platform sells PPV in its DMs and a link there leads the fan off it; Instagram, Reddit, TikTok
# and X have no paid media in DMs and take links. A platform not listed allows both (the bridge's adapter knows
# its platform best).
PLATFORM_RULES = {
    "onlyfans": PlatformRules(links=False, offers=True),
    "fansly": PlatformRules(links=False, offers=True),
    "fanvue": PlatformRules(links=False, offers=True),
    "instagram": PlatformRules(links=True, offers=False),
    "reddit": PlatformRules(links=True, offers=False),
    "tiktok": PlatformRules(links=True, offers=False),
    "x": PlatformRules(links=True, offers=False),
}
_ANY = PlatformRules(links=True, offers=True)
_DISPLAY = {"onlyfans": "OnlyFans", "tiktok": "TikTok", "x": "X"}

# A link: a scheme or www., or a bare domain with a path (example.com/me).
_LINK = re.compile(r"\b(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/\S*", re.IGNORECASE)
LINK = _LINK  # the engine reads a link the platform keeps as a link, not as contact elsewhere


def platform_rules(platform: str | None) -> PlatformRules:
    return PLATFORM_RULES.get((platform or "").lower(), _ANY)


def platform_name(platform: str | None) -> str:
    p = (platform or "").lower()
    return _DISPLAY.get(p, p.title() or "this platform")


def check_platform(
    text: str, offer: dict[str, Any] | None, platform: str | None, what: Literal["offer", "links"]
) -> list[PolicyFinding]:
    """What the draft carries that the fan's platform cannot: an offer (blocks: the send would fail), a link
    other than to the platform itself (redactable)."""
    rules, name = platform_rules(platform), platform_name(platform)
    out: list[PolicyFinding] = []
    if what == "offer" and offer and not rules.offers:
        out.append(
            PolicyFinding("platform_offer", f"{name} cannot carry a PPV offer: send it without the offer")
        )
    if what == "links" and not rules.links:
        own = PLATFORM_NAMES.get((platform or "").lower(), ())
        out += [
            PolicyFinding("platform_links", f"{name} DMs take no links ({m.group(0)})", (m.start(), m.end()))
            for m in _LINK.finditer(text)
            if not any(n.replace(" ", "") in m.group(0).lower() for n in own)
        ]
    return out
