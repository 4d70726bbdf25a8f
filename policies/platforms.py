"""What "off-platform" means depends on the fan's platform: naming Instagram in an Instagram DM sends nobody
elsewhere."""

from __future__ import annotations

import re

# How each platform's own name is written.
PLATFORM_NAMES = {
    "instagram": ("instagram", "insta", "ig"),
    "reddit": ("reddit",),
    "fansly": ("fansly",),
    "fanvue": ("fanvue",),
    "onlyfans": ("onlyfans", "only fans"),
    "tiktok": ("tiktok", "tik tok"),
    "x": ("twitter",),
}


def mask_platform(text: str, platform: str | None, *, keep_length: bool = False) -> str:
    """The text with the fan's own platform's name replaced by "here" (padded to the same length with
    keep_length, so that spans found in the masked text point at the same characters of the original)."""
    names = PLATFORM_NAMES.get((platform or "").lower())
    if not names:
        return text
    pattern = r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b"

    def here(m: re.Match[str]) -> str:
        n = len(m.group(0))
        return ("here".ljust(n) if n >= 4 else " " * n) if keep_length else "here"

    return re.sub(pattern, here, text, flags=re.IGNORECASE)
