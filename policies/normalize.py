"""Text normalisation so that matching survives simple obfuscation (NFKC, leetspeak, spacing)."""

from __future__ import annotations

import re
import unicodedata

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_WS = re.compile(r"\s+")


def fold(text: str) -> str:
    """NFKC, lower case, strip accents and zero-width characters."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = text.replace("\u200b", "").replace("\u200c", "").replace("\u200d", "").replace("\ufeff", "")
    return _WS.sub(" ", text.lower()).strip()


def deleet(text: str) -> str:
    return fold(text).translate(_LEET)


def squash(text: str) -> str:
    """Letters only: 'c a s h-a p p' and 'c.a.s.h.a.p.p' both become 'cashapp'."""
    return re.sub(r"[^a-z]", "", deleet(text))
