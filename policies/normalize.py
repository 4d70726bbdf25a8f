"""Text normalisation so that matching survives obfuscation (NFKC, accents, leetspeak, spacing), with a
map back to the original text so that every reported span points at what the human actually reads."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f", "\u20e3"}
# Look-alike letters (Cyrillic, Greek) and emoji used as letters, mapped to the Latin letter they imitate.
_CONFUSABLE = {
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "і": "i",
    "ј": "j",
    "ѕ": "s",
    "ԁ": "d",
    "ɡ": "g",
    "ո": "n",
    "ս": "u",
    "α": "a",
    "β": "b",
    "ε": "e",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "⭕": "o",
    "🅾": "o",
    "⚪": "o",
    "🔴": "o",
    "❌": "x",
    "✖": "x",
    "🅰": "a",
    "🅱": "b",
    "ℹ": "i",
    "Ⓜ": "m",
    "💲": "s",
    "🅿": "p",
    "＄": "s",
}
# Negative circled and negative squared letters ("🅟🅐🅨", "🅿🅰🆈"), which NFKC leaves as they are.
_CONFUSABLE.update({chr(base + i): chr(ord("a") + i) for base in (0x1F150, 0x1F170) for i in range(26)})
# Letters and digits that NFKC leaves as symbols or puts in brackets: regional indicators ("🇸🇳🇦🇵"), parenthesised
# letters ("⒮⒩⒜⒫", "🄐"), parenthesised digits and digits with a full stop ("⑴", "⒍"), dingbat circled digits ("❶",
# "➀", "➊"), small capitals ("ꜱɴᴀᴘ"). One character each, as the rules' spans need.
_CONFUSABLE.update({chr(0x1F1E6 + i): chr(ord("a") + i) for i in range(26)})
_CONFUSABLE.update({chr(base + i): chr(ord("a") + i) for base in (0x249C, 0x1F110) for i in range(26)})
_CONFUSABLE.update(
    {chr(base + i): str(i + 1) for base in (0x2474, 0x2488, 0x2776, 0x2780, 0x278A) for i in range(9)}
)
_CONFUSABLE.update(dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True)))


@dataclass(frozen=True)
class Normalised:
    text: str
    origin: tuple[int, ...]  # origin[i] = index in the original text of normalised character i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A span of the normalised text as a span of the original text."""
        if not self.origin or start >= len(self.origin):
            return (0, 0)
        return (self.origin[start], self.origin[max(start, end - 1)] + 1)


@lru_cache(maxsize=1024)
def normalise(text: str, *, leet: bool = True) -> Normalised:
    """NFKC, lower case, accents and invisible characters removed, runs of space folded, leet decoded.

    Cached: every validator reads the same draft, so one check normalises it once, not once per rule."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        for c in unicodedata.normalize(
            "NFKD", unicodedata.normalize("NFKC", _CONFUSABLE.get(ch.lower(), ch))
        ):
            if unicodedata.combining(c):
                continue
            c = c.lower()
            if leet:
                c = _LEET.get(c, c)
            if c.isspace():
                if not out or out[-1] == " ":
                    continue
                c = " "
            out.append(c)
            origin.append(i)
    while out and out[-1] == " ":
        out.pop()
        origin.pop()
    return Normalised("".join(out), tuple(origin))


def fold(text: str) -> str:
    """NFKC, lower case, no accents or invisible characters, single spaces (no leet decoding)."""
    return normalise(text, leet=False).text


def deleet(text: str) -> str:
    return normalise(text).text


def squash(text: str) -> str:
    """Letters only: 'c a s h-a p p' and 'c.a.s.h.a.p.p' both become 'cashapp'."""
    return re.sub(r"[^a-z]", "", deleet(text))


_SEPARATORS = " .-_*·•|/"
# Three or more single characters joined by one and the same separator ("c.h.a.r.g.e", "c a s h").
_SPLIT_LETTERS = re.compile(r"(?<![a-z0-9'])[a-z0-9]([ .\-_*·•|/])[a-z0-9](?:\1[a-z0-9])+(?![a-z0-9])")


def join_split_letters(norm: Normalised) -> Normalised:
    """'t r a n s f e r' and 't.r.a.n.s.f.e.r' become 'transfer' (runs of three or more single letters)."""
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for m in _SPLIT_LETTERS.finditer(norm.text):
        out.extend(norm.text[last : m.start()])
        origin.extend(norm.origin[last : m.start()])
        for k in range(m.start(), m.end()):
            if norm.text[k] not in _SEPARATORS:
                out.append(norm.text[k])
                origin.append(norm.origin[k])
        last = m.end()
    out.extend(norm.text[last:])
    origin.extend(norm.origin[last:])
    return Normalised("".join(out), tuple(origin))


def deleet_mixed_words(norm: Normalised) -> Normalised:
    """Decode leetspeak only in words that contain a letter, so 'w45 15' reads 'was 15' (ages stay numbers)."""
    words = re.split(r"( )", norm.text)
    decoded = ["".join(_LEET.get(c, c) for c in w) if any(c.isalpha() for c in w) else w for w in words]
    return Normalised("".join(decoded), norm.origin)


@lru_cache(maxsize=1024)
def variants(text: str) -> tuple[Normalised, ...]:
    """The readings a rule matches against: plain, de-leeted, de-leeted with split letters joined, and
    leet decoded inside words only."""
    plain = normalise(text, leet=False)
    leet = normalise(text)
    return (plain, leet, join_split_letters(leet), deleet_mixed_words(plain))


def clear_caches() -> None:
    """Forget cached readings (benchmarks clear them so every draft is measured as new text)."""
    normalise.cache_clear()
    variants.cache_clear()
