"""A deterministic stand-in for a chat model that uses what its prompt gives it, served through FakeOpenAI.

It reads the DM prompt the way a model would read it: the fan's name, the memories listed (boundaries are
respected, never repeated), why we reply, the fan's message and the catalog. It greets the fan by name,
brings up the remembered fact that shares the most words with the fan's message, thanks for events, and
offers a catalog item the fan names and does not own, at its catalog price. Nothing else: when a prompt
stops carrying the memories or the catalog, the drafts lose them too. That is what lets the eval tests show
a broken prompt failing a suite.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WORD = re.compile(r"[a-z]{3,}")
_STOP = {
    "set",
    "the",
    "and",
    "you",
    "your",
    "for",
    "with",
    "has",
    "was",
    "are",
    "just",
    "this",
    "that",
    "what",
    "any",
}


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower())} - _STOP


def _section(prompt: str, start: str, end: str) -> str:
    if start not in prompt:
        return ""
    body = prompt.split(start, 1)[1]
    return body.split(end, 1)[0] if end in body else body


def grounded_reply(body: dict[str, Any]) -> str:
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")
    name = m.group(1) if (m := re.search(r"^Fan: (.+?) \(", prompt, re.M)) else "there"
    fan_text = _section(prompt, "<fan_message>", "</fan_message>").strip()
    reason = m.group(1) if (m := re.search(r"^Why we reply now: (.*)$", prompt, re.M)) else ""
    memories = [
        json.loads(line[2:])
        for line in _section(prompt, "What you remember about the fan:", "Recent conversation").splitlines()
        if line.startswith('- "')
    ]
    catalog = []
    # the fan's suggested price, when the template lists one after the list price, is read and not used: this
    # model offers at the list price, which the creator's bounds admit
    header = r"^PPV catalog \(id, title, price in cents(?:, suggested price for this fan)?\): (.*)$"
    if (m := re.search(header, prompt, re.M)) and m.group(1) != "(empty)":
        for item in m.group(1).split("; "):
            cid, title, price = (p.strip() for p in item.split(" | ")[:3])
            catalog.append((cid, title, int(price)))
    owned = m.group(1) if (m := re.search(r"^Already owned: (.*)$", prompt, re.M)) else ""
    parts = [f"Hey {name}!"]
    if "thank" in reason:
        parts.append("Thank you so much, that means a lot 💕")
    said = _words(fan_text)
    best = max(memories, key=lambda t: len(_words(t) & said), default=None)
    if best is not None:
        parts.append(f"I remember: {best.rstrip('.')}.")
    offer = None
    for cid, title, price in catalog:
        if cid not in owned and _words(title) & said:
            offer = {"catalog_id": cid, "price_cents": price}
            parts.append(f"My {title} is yours for ${price / 100:.2f} 😘")
            break
    return json.dumps({"text": " ".join(parts), "offer": offer, "rationale": "grounded in the prompt"})
