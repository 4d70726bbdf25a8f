"""What is worth remembering in a fan's message.

Boundaries ("no feet pics", "please don't send me voice notes") are found by deterministic rules first — like
every safety-relevant decision here, they must not depend on a model noticing them. The chat LLM then proposes
facts, preferences and life events through structured output. A weak model invents things, so a proposal is
kept only if it is grounded: it must share a content word with the message it came from, be written about the
fan (third person, no "I"/"you") and be short.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from core.failures import brief
from core.fan_text import single_line
from memory.store import MemoryIn

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(
    "the and for with that this have has had you your are was were not but just like love really what when"
    " his her him she who how why out got get all any can did one our its too lot lol yes day"
    " from they them then than there their about been into some more very much also would could should will"
    " fan fans likes loves wants does doesn't don't dont".split()
)

_TOPIC = r"(?P<topic>[a-z][a-z' -]{1,40}?)"
_MEDIA = r"(?:content|pics|pictures|photos|videos|vids|stuff|talk|messages|requests|sets)"
BOUNDARY_PATTERNS = [
    # "no feet pics", "no more voice notes please"
    re.compile(rf"\bno (?:more )?{_TOPIC} {_MEDIA}\b"),
    # "please don't send me voice notes", "never message me on sundays", "stop asking me for tips"
    re.compile(
        rf"\b(?:please )?(?:don'?t|do not|never|stop) (?:ever )?(?:send(?:ing)?|show(?:ing)?|message|messaging|"
        rf"text(?:ing)?|ask(?:ing)?|call(?:ing)?|mention(?:ing)?) (?:me )?{_TOPIC}(?:[.!,]|$| please)"
    ),
    # "i'm not into feet", "not comfortable with explicit talk"
    re.compile(
        rf"\b(?:i'?m not|i am not|not) (?:into|comfortable with|a fan of|ok with|okay with) {_TOPIC}(?:[.!,]|$)"
    ),
]


def boundaries_in(text: str) -> list[str]:
    """Boundary statements in a message, as short phrases quoted from it."""
    low = " ".join(text.lower().split())
    found: list[str] = []
    for pattern in BOUNDARY_PATTERNS:
        for m in pattern.finditer(low):
            phrase = m.group(0).strip(" .!,")
            if phrase not in found:
                found.append(phrase)
    return found


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP}


# A memory is a short statement about the fan in the third person; a model that answers the fan instead
# ("I'm sorry your dog missed you") is writing a reply, not a note.
_FIRST_OR_SECOND_PERSON = re.compile(r"\b(?:i|i'm|im|i'll|i've|me|my|we|you|you're|your|yours)\b", re.I)
MAX_MEMORY_WORDS = 20


def grounded(memory: str, source: str) -> bool:
    """Shares a content word with the message, reads as a note about the fan, and is short."""
    return (
        bool(_content_words(memory) & _content_words(source))
        and not _FIRST_OR_SECOND_PERSON.search(memory)
        and len(_WORD.findall(memory)) <= MAX_MEMORY_WORDS
    )


class ProposedMemory(BaseModel):
    kind: Literal["fact", "preference", "life_event"]
    text: str = Field(
        min_length=3, max_length=160, description="one short third-person statement about the fan"
    )
    importance: float = Field(ge=0, le=1)


class MemoryExtraction(BaseModel):
    memories: list[ProposedMemory] = Field(default_factory=list, max_length=4)


EXTRACT_SYSTEM = """You keep notes about a fan for a creator's chat team.
From the fan's message, write down only lasting facts about the fan (job, pets, family, where they live),
their preferences (what they like), and life events (birthday, moving, exams, illness). Ignore greetings,
small talk and anything about the creator. Each note is one short sentence about the fan in the third person,
using the fan's own words. If there is nothing lasting, answer with an empty list.
Answer with JSON only: {"memories": [{"kind": "fact" | "preference" | "life_event", "text": ..., "importance": 0 to 1}]}"""


async def extract(
    text: str,
    *,
    source_message_id: int | None,
    model: BaseChatModel | None,
    use_llm: bool = True,
    include_rules: bool = True,
    fan_id: str | None = None,
) -> list[MemoryIn]:
    """Memories from one fan message: rule-found boundaries (unless include_rules is off), plus grounded LLM
    proposals when enabled."""
    items = (
        [MemoryIn("boundary", f"Said: {b}", 1.0, source_message_id) for b in boundaries_in(text)]
        if include_rules
        else []
    )
    if not use_llm or model is None or len(_WORD.findall(text)) < 4:
        return items
    structured = model.with_structured_output(MemoryExtraction, method="json_schema")
    try:
        out = await structured.ainvoke(
            [
                SystemMessage(EXTRACT_SYSTEM),
                HumanMessage(f"<fan_message>\n{single_line(text)}\n</fan_message>"),
            ]
        )
    except Exception as exc:  # a weak, late or unavailable model: the rule-found boundaries still count
        log.info(
            "memory extraction%s: no usable answer from the model: %s",
            f" for fan {fan_id}" if fan_id else "",
            brief(exc),
        )
        return items
    proposals = out.memories if isinstance(out, MemoryExtraction) else []
    for p in proposals:
        if grounded(p.text, text):
            items.append(MemoryIn(p.kind, p.text.strip(), p.importance, source_message_id))
        else:
            log.info("dropped an ungrounded memory proposal: %r", p.text[:80])
    return items
