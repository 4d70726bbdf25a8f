"""Fan-controlled text made safe to place in a prompt (the DM agent's and memory extraction's alike)."""

from __future__ import annotations

import json
import re

# Line breaks as str.splitlines() sees them (and a model reading the prompt would), with the spaces around them.
_BREAK = r"(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])"
_LINE_BREAKS = re.compile(rf"[ \t]*{_BREAK}(?:[ \t]*{_BREAK})*[ \t]*")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# The opening bracket of anything tag-shaped, in any case or spacing, ASCII or full-width: "</FAN_MESSAGE>",
# "< / fan_message >", "＜system＞". "<3" and "5 < 6" are not tags and stay.
_GAP = r"[\s\u200b-\u200f\u2060-\u2064\ufeff]*"  # spaces, and the invisible characters a tag may hide behind
_TAG_OPEN = re.compile(rf"[<\uff1c\ufe64](?={_GAP}[/\uff0f]?{_GAP}[^\W\d])")


def single_line(text: str) -> str:
    """Fan text made safe to place in a prompt: one line (line breaks become " / ", other control characters a
    space), every tag's opening bracket replaced by U+2039 (a single angle quotation mark), so it can neither end
    the block that quotes it nor start a line of its own."""
    text = _LINE_BREAKS.sub(" / ", text)
    text = _CONTROLS.sub(" ", text)
    return _TAG_OPEN.sub("\u2039", text)


def quoted(text: str) -> str:
    """Fan text as a quoted JSON string on one line: how a name, a memory or a history line enters a prompt."""
    return json.dumps(single_line(text), ensure_ascii=False)
