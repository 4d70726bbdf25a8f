"""The rules: deterministic checks of outbound drafts and inbound fan messages.

Each outbound rule returns findings with a reason and, where it can point at one, the span in the
original text. The policy engine (policies/engine.py) runs the outbound rules as guardrails-ai
validators. No LLM output can override a rule.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from core.types import InboundVerdict as InboundVerdict
from core.types import PolicyFinding as PolicyFinding
from policies import inbound_patterns, outbound_patterns
from policies.normalize import _CONFUSABLE as CONFUSABLE
from policies.normalize import fold, squash, variants

# --- outbound rules ---------------------------------------------------------------------------

_PAYMENT_WORDS = [
    "apple pay",
    "apple cash",
    "google pay",
    "friends and family",
    "skrill",
    "litecoin",
    "dogecoin",
    "usdc",
    "crypto wallet",
    "wallet address",
    "cashapp",
    "venmo",
    "paypal",
    "zelle",
    "westernunion",
    "moneygram",
    "revolut",
    "wise transfer",
    "gift card",
    "amazon card",
    "steam card",
    "bitcoin",
    "btc",
    "ethereum",
    "usdt",
    "crypto",
    "wire transfer",
    "bank transfer",
    "iban",
    "routing number",
]
_PAYMENT_SQUASHED = {"cashapp", "venmo", "paypal", "zelle", "giftcard", "bitcoin", "westernunion"}
# Paying into the creator's own account, whatever the bank: "wire the money to my bank account".
_DIRECT_TRANSFER = re.compile(
    r"(?<![a-z])(?:(?:send|wire|transfer|deposit|pay)(?: [a-z]+){0,3} (?:to|into|in) my (?:own )?(?:bank|account|bank account)"
    r"|my (?:bank account|account number|sort code|bank details)|(?:skip|avoid|save on|dodge) (?:the )?(?:site'?s?|platform'?s?|onlyfans|of|their) (?:fees|cut))"
)
_CASHTAG = re.compile(r"(?<![\w$])\$[A-Za-z][A-Za-z0-9_]{1,20}\b")
_CRYPTO_ADDR = re.compile(r"\b(?:bc1[a-z0-9]{20,60}|[13][a-km-zA-HJ-NP-Z1-9]{25,34}|0x[a-fA-F0-9]{40})\b")

_CONTACT_WORDS = [
    "my snap is",
    "my snap's",
    "snap me at",
    "snapchat",
    "snap me",
    "add my snap",
    "telegram",
    "whatsapp",
    "kik",
    "signal app",
    "instagram",
    "insta",
    "my ig",
    "dm me on",
    "discord",
    "facetime",
    "skype",
    "video call on",
    "zoom call",
    "wechat",
    "line app",
]
_CONTACT_SQUASHED = {"snapchat", "telegram", "whatsapp", "instagram"}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_EMAIL_SPELLED = re.compile(
    r"\b[\w.+-]+\s*(?:\(|\[)?\s*at\s*(?:\)|\])?\s*[\w-]+\s*(?:\(|\[)?\s*dot\s*(?:\)|\])?\s*"
    r"(?:com|net|org|io|me|co)\b",
    re.I,
)
_PHONE = re.compile(r"(?<!\d)(?:\+?\d[\s().-]*){9,15}(?!\d)")
# A date, a time of day or a percentage is no phone number: "2019-01-25 09:46:47", "12.09.2024 13:14",
# "2021-12-08T15:53:54.78Z", "at 21:30", "948455.25%". Read on the folded text; blanked (same length) before the phone readings, so "06 12 34 56 78" still is.
_TIME = r"(?:[01]?\d|2[0-3])[:h][0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?: ?(?:z|[+-](?:[01]\d|2[0-3]):?[0-5]\d))?"
_DAY_MONTH = r"(?:0?[1-9]|[12]\d|3[01])"
_STAMP = re.compile(
    rf"(?<![\d.:/-])(?:(?:19|20)\d\d([-/.]){_DAY_MONTH}\1{_DAY_MONTH}|{_DAY_MONTH}([-/.]){_DAY_MONTH}\2(?:19|20)\d\d)"
    rf"(?:(?:t|,? )(?:{_TIME}))?(?![\d:])"
    rf"|(?<![\d.:/-]){_TIME}(?![\d:])"
    r"|(?<!\d)\d+(?:[.,]\d+)? ?%",  # a percentage
    re.I,
)


def _unstamped(text: str) -> str:
    """The text with its dates, times of day and percentages blanked, positions kept."""
    return _STAMP.sub(lambda m: " " * len(m.group(0)), text)


def dates_said(text: str) -> str:
    """The text with each date or time of day said as "a date": what the classifiers read for a phone number in a
    timestamp ("2022-08-19T09:13:17+05:57" scored 0.87 as off-platform contact)."""
    return _STAMP.sub(lambda m: m.group(0) if "%" in m.group(0) else " a date ", text)


def data_row(text: str) -> bool:
    """A row of four or more figures with a date or time stamp among them and no word ("2448.5643.06.13,
    2022-08-19T09:13:17+05:57, 875, 4.1"): readings, not a number for the fan to call."""
    stamped = any("%" not in m.group(0) for m in _STAMP.finditer(text))
    return stamped and text.count(",") >= 3 and not re.search(r"[^\W\d_]", _unstamped(text))


_NUMBER_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{3,30}\b")
# "call me" / "text me" asks for a phone only with a when or a where ("call me tonight", "text me at ..."); "call
# me trouble" is a pet name and "text me back" means answer here.
_CALL_ME = re.compile(
    r"(?<![a-z])(?:call|text|ring|phone|facetime|whatsapp) me (?:at|on|tonight|later|now|anytime|when|after|"
    r"tomorrow|this (?:evening|weekend)|sometime|back on(?! here\b)|\+?\d)"
)
# A laugh before a no, and a question answered no at once ("bizum? lol no", "schoolgirl costume? no"): one reading
# for apps, age-play and meet-ups.
_LAUGH = r"(?:lol|mdr|jaja|haha|ptdr|lmao)"
_ASKED_NO = r"\?+\s*(?:" + _LAUGH + r" )?(?:no|non|nope|nah|never|jamais)\b"
# An app named only to refuse it: "i don't do snapchat", "no cashapp", "pas de paypal ni de virement".
_REFUSAL = re.compile(
    r"(?:\b(?:don'?t|do not|dont|never|no|not|nor|without|won'?t|can'?t|cannot|pas|jamais|ni|sans|aucun|aucune|sin|"
    r"nunca|tampoco|ni siquiera|nada|no longer|ya no|(?<!en )plus)"
    r"(?: (?:do|use|have|got|accept|take|give|give you|send|send me|you|me|demande|pido|doy|a|an|any|de|d'|du|la|le|"
    r"el|un|una|uso|tengo|acepto|j'utilise|utilise|hago|fais|les|los|las|"
    r"accepte|ai|of|my|mon|ma|mi|on|en|sur|por|par|estoy|suis|am|or|ni|o|nor|telegram|whatsapp|snapchat|paypal|"
    r"venmo|cashapp|zelle|ask|ask for|need|paiement|paiements|payment|payments|pago|pagos|tips|trato|tratos|"
    # another app named in the same refusal ("I don't use Snap or Telegram"), money sent ("never send me money on")
    r"snap|insta|ig|kik|discord|signal|skype|lydia|bizum|money|cash|argent|dinero|plata|"
    # "i dont use the yellow ghost app at all", "j'utilise pas du tout l'appli du fantôme", "no uso la del fantasmita"
    r"the|del|tout|du tout|l'appli|appli|app)){0,5} ?)$"
)
# ... or refused right after it: "Cash App? Nope", "Lydia, Paypal, crypto... non merci", "bizum? ni de coña".
_REFUSED_AFTER = re.compile(
    r"^(?:[\s,/]*(?:and |et |y |or |ou |o )?[a-z$']+){0,3}?[\s?!.,:…]*"
    r"(?:nope|no thanks|no thank you|non merci|no gracias|not for me|pas pour moi|no way|jamais de la vie|"
    r"no lo (?:doy|paso|comparto) nunca|nunca lo (?:doy|paso|comparto)|je n'en (?:donne|file) (?:pas|jamais)|"
    r"je (?:ne )?(?:le|la|l') (?:donne|file) (?:pas|jamais)|i (?:never|don'?t) give (?:it|that|those) out|"
    # ... or said not to exist: "my telegram? I don't have one", "mon telegram mais je n'en ai pas", "discord no uso."
    r"i (?:don'?t|do not) (?:have|use) (?:one|it)|je n'en ai (?:pas|plus)|no (?:tengo|uso|lo uso)(?=\s*(?:[,.!;]|$))|"
    # ... or left, or turned down when the fan offered it: "the yellow ghost? deleted ages ago", "¿el guasap? nada de
    # eso", "wanted to pay me with Lydia, I said no"
    r"(?:deleted|supprime|borrado|borre|lo borre|desinstalado|je l'ai supprime)(?! (?:you|your|ton|ta|tu)\b)|"
    r"nada de eso|none of that|rien de tout ca|i said no|j'ai dit non|(?:le |les )?dije que no|"
    r"(?:je )?connais pas|no (?:lo|la) conozco|never heard of (?:it|that)|"
    r"(?:c'?est|est|es|esta|is|are) (?:interdite?s?|prohibid[oa]s?|not allowed|forbidden)|"
    # "mon RIB? mdr non, tout se paye ici", "me preguntaron por Zelle jaja, no, solo aquí", "j'ai refusé", a name
    # ("lydia c'est le prénom de ma meilleure pote"), kept for family ("el wasap lo tengo solo para mi familia")
    r"(?:(?:mdr|lol|jaja|haha|ptdr) )?(?:non|no|nope)\b[^.!?]{0,30}\b(?:ici|aqui|here|por la (?:pagina|plataforma|app)|"
    r"sur la (?:page|plateforme)|on (?:the|this) (?:page|site|platform))\b|"
    + _LAUGH
    + r" (?:non|no|nope|nah)"
    r"(?=\s*[,.!;]|$)|j'ai refuse|i refused|lo rechace|"
    r"c'est (?:le|un) prenom|es (?:el|un) nombre|(?:lo )?(?:tengo|uso) solo (?:para|con) (?:mi familia|la familia|amigos)|"
    r"(?:with fans|con (?:los )?fans|avec les fans)[^.!?]{0,15}\b(?:only here|solo aqui|que ici)\b|"
    # "Mon RIB ? jamais", "¿mi CLABE? jamás": a never that ends its clause ("snap never sleeps" goes on)
    r"(?:jamais|jamas|never)(?=\s*(?:[,.!;]|$))|"
    # "snapchat isnt my thing", "télégram c'est non pour moi", "discord j'ai même pas de compte", "discord ni lo tengo",
    # "kik? eso todavía existe? jaja no", "telegram no, tuve problemas", "my discord got hacked lol so I'm off"
    r"(?:isn'?t|isnt|is not) my thing|c'?est pas mon truc|c'?est non\b|no es lo mio|"
    r"j'?(?:ai|en ai) (?:meme )?pas(?: de compte)?(?! (?:le temps|fini|vu|compris|encore))|je l'ai pas|ni lo tengo|no lo tengo|"
    r"no lo uso (?:para|con) (?:esto|eso|fans)|(?:todavia existe|existe encore|still exists?)\?[^.!?]{0,12}\b(?:no|non|nope|nah)|"
    r"nah\b|no(?=\s*,\s*(?:ni|tuve|j'ai|i had|merci|gracias|thanks|sorry|desolee?|perdon))|got hacked|s'est fait pirater|"
    r"me (?:lo|la) hackearon|i (?:really )?(?:never|don'?t|dont) give (?:it|that|those) out)\b"
    r"(?![\s,]+(?:not|pas|no|ni|nor)\b)"
)
# "add me on <anything but here>": whatever the app is called, the fan is being moved elsewhere.
_MOVE_ELSEWHERE = re.compile(
    r"(?<![a-z])(?:add|find|follow|hit|message|dm|msg|text|call|reach|catch|chat with) me(?: up)? (?:on|at|via|over on) "
    # ... not "find me on the internet": nowhere in particular
    r"(?!(?:here|this|the (?:page|site|app)|onlyfans|of|my (?:page|feed|story|wall|profile)|(?:the )?(?:internet|web)"
    r"|(?:my |the )?live|(?:my |the )?stream"
    r")\b)(?=[a-z0-9])"
    r"|(?:let'?s|we can|we should) (?:move|take|switch) (?:this|it|our chat|us|the chat) (?:to|over to) (?!here\b)"
)


def _word_hits(text: str, words: list[str]) -> list[tuple[str, tuple[int, int]]]:
    """Whole-word matches on the normalised text, so 'cashmere' never matches 'cash'.

    Spans are given in the original text."""
    hits: list[tuple[str, tuple[int, int]]] = []
    for norm in variants(text):
        for w in words:
            for m in _word_pattern(w).finditer(norm.text):
                if m.group(0) == "we chat":  # "we chat here" is no WeChat
                    continue
                hit = (w, norm.span(m.start(), m.end()))
                if hit not in hits:
                    hits.append(hit)
    return hits


_SEP = r"[\s.\-_*·•|/]?"


@lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern[str]:
    """Whole-word pattern; words of five letters or more also match with a separator between letters
    ('cash-app', 'snap.chat'). Short words match exactly, so 'i ban' is not 'iban'."""
    letters = word.replace(" ", "")
    if len(letters) >= 5:  # and its plural: "gift cards", "cryptos"
        body = _SEP.join(re.escape(c) for c in letters) + "s?"
    elif (
        letters.isdigit() and len(letters) >= 3
    ):  # a house number given in parts ("4 4 1 7", "44-17"; not 44.17)
        return re.compile(r"(?<![\d.,])" + r"[\s\-]?".join(letters) + r"(?![a-z\d]|[.,]\d)")
    else:
        body = re.escape(word)
    return re.compile(r"(?<![a-z])" + body + r"(?![a-z])")


def _spelled_digits(text: str) -> int:
    """Longest run of digits, counting spelled-out digit words ('five five five one ...')."""
    best = 0
    # Plain digits, and words whose leetspeak hides a digit word ("f1v3").
    for reading in (fold(text), " ".join(_deleet_word(w) for w in fold(text).split())):
        run = 0
        for tok in re.findall(r"[a-z]+|\d", reading):
            if tok.isdigit() or tok in _NUMBER_WORDS:
                run += 1
                best = max(best, run)
            else:
                run = 0
    return best


def _deleet_word(word: str) -> str:
    """Decode leetspeak only inside words that mix letters and digits, so '555' stays digits."""
    if word.isdigit() or not any(c.isdigit() for c in word):
        return word
    return variants(word)[1].text


def _extra_matches(text: str, pattern: re.Pattern[str]) -> list[tuple[str, tuple[int, int]]]:
    """Matches on the folded and the de-leeted-and-joined readings, but not an app's nickname in a draft that sends
    nobody there ("drew a little yellow ghost on my coffee cup")."""
    out: list[tuple[str, tuple[int, int]]] = []
    for reading in (variants(text)[0], variants(text)[2]):
        for m in pattern.finditer(reading.text):
            span = reading.span(m.start(), m.end())
            if span in {s for _, s in out}:
                continue
            if _NICKNAME.fullmatch(m.group(0)) and not _NICKNAME_CUE.search(reading.text):
                continue
            out.append((m.group(0).strip(), span))
    return out


# Between two apps of one list: "no Snap or Telegram", "nunca pido Bizum, PayPal ni tarjetas regalo".
_LIST_GLUE = re.compile(
    r"[\s,/]*(?:(?:or|nor|and|ni|ou|o|y|et|de|d'|du|la|le|el|my|mon|ma|mes|mi|mis|your|any|des|les|los|las)\b[\s,]*)*"
)


def _refusals(text: str, hits: list[tuple[str, tuple[int, int]]]) -> list[bool]:
    """Whether each app named is refused (`_refused`), or follows a refused one in the same list ("I never ask for
    PayPal, Cash App or gift cards"), the hits taken in the order of the text."""
    order = sorted(range(len(hits)), key=lambda i: hits[i][1])
    out = [False] * len(hits)
    last: tuple[int, int] | None = None
    for i in order:
        span = hits[i][1]
        listed = last is not None and bool(_LIST_GLUE.fullmatch(fold(text[last[1] : span[0]])))
        out[i] = _refused(text, span) or listed
        if out[i]:
            last = span
    return out


def _refused(text: str, span: tuple[int, int]) -> bool:
    """The app at `span` is named only to be refused ("no cashapp", "i don't use paypal"), left ("I deleted
    Snapchat"), or in someone else's dealings ("my sister paid me back on venmo")."""
    before = fold(text[max(0, span[0] - 40) : span[0]])
    after = fold(text[span[1] : span[1] + 50])
    return bool(
        _REFUSAL.search(before[-30:])
        or _REFUSED_AFTER.search(after)
        or _ABANDONED.search(before)
        or _THIRD_PARTY.search(before)
        or _OWN_BILLS.search(before)
        or _AS_A_STYLE.match(after)
        or _kept_here(text, before, after)
        or _OTHERS_AFTER.match(after)
    )


# An app the fan asked about, or the creator's own account there kept for something else, in a draft that keeps
# the fan here and invites nowhere: "mi insta es solo para promo, aquí es donde respondo", "I've had people ask for
# my discord 5 times today lol, same answer, only here".
_ASKED_ABOUT = re.compile(
    r"\b(?:ask(?:s|ed|ing)?(?: me)? (?:for|about)|(?:me )?demand\w*(?: pour| de)?|(?:tu )?parles? de|"
    r"(?:me )?(?:preguntaste|preguntan|pregunto|pidio|piden|pedia|mencionaste)(?: por)?|mention(?:ed|s)?)"
    r"(?: (?:my|mon|ma|mi|your|ton|ta|tu|el|la|le|l'))?\s*$"
)
_KEPT_APART = re.compile(
    r"^\s*(?:c'?est|est|es|is|it'?s) (?:(?:only|just|juste|seulement|solo) )?(?:pour|para|for) (?:ma|mi|my|la|the|mes|mis) "
    r"(?:famille|familia|family|potes|amis|amigos|friends|proches)\b"
    r"|^(?:'s)?\s*(?:account |page |compte |cuenta )?(?:is |es |est |c'?est |it'?s )?(?:just |only |juste |que |"
    r"seulement |solo |solamente |uniquement )(?:for|pour|para|de|du|des|la|el|le)\b"
)
_HERE_ANCHOR = re.compile(r"\b(?:(?:only|just|right|over) here|here is where|ici|aqui|aca)\b")
_INVITES = re.compile(
    r"\b(?:add|follow|dm|find|write|message|text|hit|join|sub(?:scribe)?) me\b|\b(?:ajoute|suis|ecris|rejoins)[sz]?-moi\b"
    r"|\b(?:agregame|sigueme|escribeme|mandame|pasate|come (?:see|find|check)|viens (?:me )?voir)\b"
)


def _kept_here(text: str, before: str, after: str) -> bool:
    plain = fold(text)
    if not _HERE_ANCHOR.search(plain) or _INVITES.search(plain):
        return False
    return bool(_ASKED_ABOUT.search(before[-30:]) or _KEPT_APART.match(after))


# ... an app in someone else's hands, said after it: "darle mi iban al casero", "the app the family group is on".
_OTHERS_AFTER = re.compile(
    r"^\W*(?:(?:eso|ca|that|is that) )?(?:todavia existe|existe encore|still exists?|still a thing)\?[^.!?]{0,12}\b(?:no|non|nope|nah)\b"
    r"|^\s*(?:al|to (?:my|the)|au|a mi|a mon) (?:casero|landlord|proprio|proprietaire|banco|bank|employer|jefe|patron|boss)\b"
    r"|^[^.!?]{0,40}\b(?:grupo de (?:la )?familia|family (?:group|chat)|groupe (?:de )?(?:la )?famille)\b"
)


# An app's name made an adjective: "my telegram-style short replies", "a snapchat-like filter".
_AS_A_STYLE = re.compile(r"(?:-(?:style|like|esque|ish)|\s(?:style|esque))\b")


# An app the creator left: "I deleted Snapchat years ago", "je laisse tomber instagram", "dejé instagram".
_ABANDONED = re.compile(
    r"\b(?:deleted|quit|left|uninstalled|gave up(?: on)?|stopped using|laisse tomber|lache|quitte|supprime|desinstalle|"
    r"deje|borre|abandone|sali de)(?: (?:my|mon|ma|mi|el|la|le|l'|de|del|the|that|little|petit|l'appli|appli|app|au)){0,3} ?$"
)
# A payment between other people, or paid back to the creator by them: "my sister finally paid me back on venmo",
# "ma coloc m'a enfin remboursé sur lydia", "mi hermana por fin me pagó por bizum".
_THIRD_PARTY = re.compile(
    r"\b(?:paid me back|m'a (?:enfin )?rembourse\w*|me (?:ha )?pag(?:o|ado)|me devolvi\w*)"
    r"(?: [a-z']+){0,2} (?:on|sur|en|por|via|with|avec|con)? ?$"
    # ... owed to the creator or asked of her by them: "mi amiga me debe un bizum", "ma pote m'a fait découvrir WhatsApp"
    r"|\b(?:me debe|me pidio|me doit|m'a fait decouvrir)(?: (?:un|una|el|la|une|le|du|des))? ?$"
    # ... a relative calling, texting or paying the creator there: "my mom still calls me on facetime", "mi madre me
    # hizo un bizum por mi cumple"; a bill split with a roommate; a salary paid in
    r"|\b(?:mom|mum|dad|nan|nana|grandma|grandpa|abuela|abuelo|mere|madre|padre|mamie|papi|sister|brother|soeur|"
    r"hermana|hermano)\b[^.!?]{0,20}\b(?:calls?|texts?|facetimes?|me hizo|m'a fait|sent me|m'envoie|me manda)"
    r"(?: me)?(?: (?:un|une|a|on|sur|por|en|via))* ?$"
    r"|\bsplit\b[^.!?]{0,30}\bwith (?:my )?(?:roommate|roomie|friend|sister|brother|mom|coloc|pote)\b(?: (?:on|sur|por|en|via))? ?$"
    r"|\b(?:salaire|salary|nomina|paycheck|sueldo)\b[^.!?]{0,25}(?:par|por|via|by|en) ?$"
)
# The creator's own bills, paid: "paid my rent with PayPal", "j'ai payé mon loyer par virement", "pagué la renta por
# transferencia" ("pay my rent on PayPal" asks the fan).
_OWN_BILLS = re.compile(
    r"\b(?:(?<!you )(?<!u )paid|i pay|i'?m paying|ai paye|je paie|je paye|pague|ya pago|ayer pago) "
    r"(?:my|mon|ma|mes|mi|mis|la|el) (?:own )?"
    r"(?:rent|loyer|renta|alquiler|bills?|factures?|facturas?|phone bill|electricity|electricite|luz)"
    r"(?: [a-z']+){0,2}(?: (?:on|sur|en|por|via|with|avec|con|par))? ?$"
)
# Someone using the creator's name on another app, to warn the fan: "someone's pretending to be me on Telegram,
# report them", "nos llegan mensajes de WhatsApp con estafas usando nuestro nombre". Such a draft names the app to
# keep the fan here; its handles, numbers and addresses still count.
_IMPERSONATION = re.compile(
    r"\b(?:pretend(?:s|ing)? to be me|impersonat\w*|scam(?:s|mer|mers)?|fake (?:account|profile)s?|in my name|"
    r"report (?:them|it)|se fai(?:t|sant|saient) passer pour moi|arnaque\w*|faux (?:compte|profil)s?|en mon nom|"
    r"estafa\w*|haciendose pasar por|se hacen? pasar por|en mi nombre|usando (?:mi|nuestro) nombre|no somos nosotr[oa]s|not me|c'est pas moi|"
    r"no soy yo)\b"
)


# A gift card is a payment where the draft has the fan pay, send, buy or redeem one, or offers one as a way to pay
# ("send a gift card and I'll unlock it", "steam gift cards work too", "the gift card trick"), read in its sentence
# (and the answer to it when it asks: "got an amazon gift card? that works"); one had or talked about is none ("I got a gift card for my
# birthday", "I've been meaning to ask for a gift card").
_GIFT_CARD_ASKED = re.compile(
    r"\b(?:send\w*|sent|buy\w*|bought|pay\w*|paid|codes?|works?|accept\w*|takes?|trick|unlock\w*|fees?|tips?|"
    r"spoil\w*|instead|redeem\w*|scratch\w*|envoi\w*|achet\w*|pai\w*|manda\w*|envia\w*|compra\w*|paga\w*|"
    r"codigos?)\b"
    r"|\b(?:give|get|grab|gimme)(?: me| us)?(?: a| an| one| some)?(?: \$?\d+\$?)?(?: [a-z]+)? gift ?cards?\b"
)


def _gift_card_asked(text: str, span: tuple[int, int]) -> bool:
    start = max(text.rfind(c, 0, span[0]) for c in ".!?\n") + 1
    ends = [i for i in (text.find(c, span[1]) for c in ".!?\n") if i >= 0]
    end = min(ends) + 1 if ends else len(text)
    if text[end - 1 : end] == "?":  # a question and its answer: "got an amazon gift card? that works"
        after = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
        end = min(after) + 1 if after else len(text)
    window = text[start:end]
    return any(_GIFT_CARD_ASKED.search(v.text) for v in variants(window))


def check_payment(text: str) -> list[PolicyFinding]:
    warning = bool(_IMPERSONATION.search(fold(text)))
    hits, extra = _word_hits(text, _PAYMENT_WORDS), _extra_matches(text, _PAYMENT_EXTRA)
    gift_cards_had = [h for h in hits if h[0] == "gift card" and not _gift_card_asked(text, h[1])]
    hits = [h for h in hits if h not in gift_cards_had]
    refused = _refusals(text, hits + extra)
    out = [
        PolicyFinding("off_platform_payment", f"mentions off-platform payment ({w})", span)
        for (w, span), no in zip(hits, refused[: len(hits)], strict=True)
        if not no and not warning
    ]
    out += [
        PolicyFinding("off_platform_payment", "contains a $cashtag", (m.start(), m.end()))
        for m in _CASHTAG.finditer(text)
    ]
    plain = variants(text)[0]
    out += [
        PolicyFinding(
            "off_platform_payment", "asks for payment outside the platform", plain.span(m.start(), m.end())
        )
        for m in _DIRECT_TRANSFER.finditer(plain.text)
    ]
    out += [
        PolicyFinding("off_platform_payment", "contains a crypto address", (m.start(), m.end()))
        for m in _CRYPTO_ADDR.finditer(text)
    ]
    out += [
        PolicyFinding("off_platform_payment", f"asks for payment outside the platform ({w})", span)
        for (w, span), no in zip(extra, refused[len(hits) :], strict=True)
        if not no and not warning
    ]
    if out or warning or gift_cards_had or any(refused):
        return out
    return _squashed(text, "off_platform_payment", "obfuscated payment app", _PAYMENT_SQUASHED)


def check_contact(text: str) -> list[PolicyFinding]:
    warning = bool(_IMPERSONATION.search(fold(text)))
    hits, extra = _word_hits(text, _CONTACT_WORDS), _extra_matches(text, _CONTACT_EXTRA)
    refused = _refusals(text, hits + extra)
    out = [
        PolicyFinding("off_platform_contact", f"moves the fan off platform ({w})", span)
        for (w, span), no in zip(hits, refused[: len(hits)], strict=True)
        if not no and not warning
    ]
    # On the plain normalised reading (full-width and look-alike characters folded), spans mapped back.
    plain = variants(text)[0]
    for pattern, reason in (
        (_EMAIL, "contains an e-mail address"),
        (_EMAIL_SPELLED, "contains a spelled-out e-mail address"),
        (_HANDLE, "contains a social handle"),
        (_MOVE_ELSEWHERE, "asks the fan to talk on another app"),
        (_CALL_ME, "asks the fan to call or text outside the platform"),
    ):
        out += [
            PolicyFinding("off_platform_contact", reason, plain.span(m.start(), m.end()))
            for m in pattern.finditer(plain.text)
        ]
    if not data_row(plain.text):
        out += [
            PolicyFinding("off_platform_contact", "contains a phone number", plain.span(m.start(), m.end()))
            for m in _PHONE.finditer(_unstamped(plain.text))
        ]
    out += [
        PolicyFinding("off_platform_contact", f"moves the fan to another channel ({w})", span)
        for (w, span), no in zip(extra, refused[len(hits) :], strict=True)
        if not no
    ]
    if _CRISIS_LINE.search(plain.text) or _CRISIS_LINE_NUMBER.search(plain.text):
        # a crisis line's number for a fan in distress moves nobody to the creator elsewhere
        out = [f for f in out if "phone number" not in f.reason]
    elif (
        not data_row(plain.text)
        and _spelled_digits(_unstamped(fold(text))) >= 7
        and not any(f.reason == "contains a phone number" for f in out)
    ):
        out.append(PolicyFinding("off_platform_contact", "contains a spelled-out phone number"))
    if out or warning or any(refused):
        return out
    return _squashed(text, "off_platform_contact", "obfuscated messaging app", _CONTACT_SQUASHED)


def _squashed(text: str, rule: str, label: str, words: set[str]) -> list[PolicyFinding]:
    """Last resort when nothing else matched: the letters-only reading ('c-a$h a.p.p'); no span to point at."""
    # '1' stands for 'i' or 'l' ("ze11e"): read it both ways.
    flats = (squash(text), squash(text.replace("1", "l")))
    return [PolicyFinding(rule, f"{label} ({w})") for w in sorted(words) if any(w in f for f in flats)]


def check_offer(offer: dict[str, Any] | None, bounds: tuple[int, int] | None) -> list[PolicyFinding]:
    if not offer or bounds is None:
        return []
    price = int(offer.get("price_cents", 0))
    lo, hi = bounds
    if not lo <= price <= hi:
        return [
            PolicyFinding(
                "ppv_price_bounds", f"PPV price {price} cents is outside the creator's bounds {lo}-{hi}"
            )
        ]
    return []


# Phrase rules on the normalised text. Each pattern is whole-word; the comment-free lists are data.
_PHRASE_RULES: dict[str, tuple[str, list[str]]] = {
    "meetup_in_person": (
        "suggests meeting in person",
        [
            r"meet (?:up|you|me|in person|irl|in real life|for (?:a )?(?:drink|drinks|coffee|dinner))",
            r"come (?:over|visit|see me|to my place|to my (?:house|apartment|flat|hotel))",
            r"(?:visit|see) (?:me|you) in person",
            r"in person",
            r"irl",
            r"in real life",
            r"(?:want|wanna|like|love|ready|able|dying|going) to meet(?! (?:your|my|the|a|his|her|our|their)\b)",
            r"(?:visit|come see|come and see|fly out to see|drive to see) you",
            r"see each other (?:in person|irl|in real life|for real|face to face)",
            r"(?:finally )?meet (?:each other|face to face)",
            r"my (?:address|hotel room)",
            r"(?:your|my) place tonight",
            r"hook ?up (?:tonight|this weekend|irl)",
            r"where (?:do )?you live",
            r"(?:grab|get) (?:a )?(?:drink|drinks|coffee|dinner) (?:together|with me)",
        ],
    ),
    "minors": (
        "involves minors or age-play",
        [
            r"(?:i'?m|i am|im|i was|she was|he was|she'?s|he'?s|just turned|only) (?:1[0-7]|[5-9])(?! ?(?:min|mins|minutes|hours|days|weeks|pm|am|\$|%|k))(?!['’\"]\s?\d|[.,]\d|\s?(?:ft|feet|foot|cm|kg|kgs|lbs?)\b)\b",
            r"(?:1[0-7]|[5-9]) ?(?:yo|y/o|yrs? old|years? old)",
            r"(?:i'?m|i am|im) 1 [0-7]",
            r"(?:i'?m|i am|im|i was|she'?s|he'?s|she is|he is|is|was|only|just turned) (?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)",
            r"(?:1[0-7]|[5-9]) ?y\.o\.?",
            r"(?:friend|girlfriend|bestie|sister|brother|cousin|niece|nephew|daughter|son|kid|neighbou?r)(?:'s| is| who'?s| who is) (?:only |just )?(?:1[0-7]|[1-9])(?! ?(?:min|mins|minutes|hours|days|weeks|pm|am|%|k))\b",
            r"(?:[1-9]|1[0-2])(?:st|nd|rd|th) grade(?:r)?",
            r"my (?:little |baby |younger )?(?:sister|brother|daughter|son|niece|nephew|cousin|kid)'?s? (?:is |who'?s |who is )?(?:only )?(?:1[0-7]|[1-9])\b",
            r"under ?age",
            r"underaged?",
            r"minors",
            r"(?:you'?re|you are|i'?m|i am|she'?s|he'?s|is) a minor(?! (?:update|change|fix|issue|detail|edit|tweak|thing|problem|note))",
            r"teen(?:s|ager|agers|y)?",
            r"school ?girl",
            r"school ?boy",
            r"high ?school(?:er)?",
            r"middle school",
            r"barely legal",
            r"jail ?bait",
            r"lolita",
            r"little girl",
            r"little boy",
            r"daddy'?s little",
            r"young (?:girl|boy)",
            r"with (?:a|your) (?:child|kid)",
            r"kiddie",
        ],
    ),
    "prohibited_content": (
        "non-consent, violence, incest, bestiality or self-harm",
        [
            r"rape[sd]?",
            r"raping",
            r"non ?-?con(?:sensual)?",
            r"against (?:your|her|his|my) will",
            r"forced? (?:you|sex|her|him)",
            r"forc(?:e|ed|ing) (?:me|you|her|him|them)",
            r"drug(?:s|ging)? (?:me|you|her|him)",
            r"(?:hurt|harm|kill|cut|starve) (?:yourself|urself|ur self|your self)",
            r"(?:my|your|her|his) (?:dad|father|mom|mother|brother|sister|cousin|uncle|aunt|son|daughter)(?: [a-z']+){0,3} (?:join(?:s|ed)?|watch(?:es|ed|ing)?) (?:us|in)",
            r"(?:video|sex|fuck\w*|session)(?: [a-z']+){0,2} with (?:a|an|the|my) (?:horse|pony|goat|donkey|animal)s?",
            r"choke (?:me|you|her|him) (?:out|until|till)",
            r"even (?:when|if|though) (?:i|you|she|he) (?:say|said|says|beg|begs) (?:no|stop)",
            r"pretend(?:ing)? (?:to be|i'?m|you'?re|she'?s) (?:passed out|asleep|unconscious|drugged|drunk)",
            r"(?:and|then|while) (?:you|he|they) take advantage",
            r"my (?:brother|sister|dad|father|mom|mother|cousin|uncle|aunt) (?:join(?:s|ed)? (?:in|us)|could join|watch(?:es|ing)? us)",
            r"drugged",
            r"(?:while|when) (?:you'?re|you are|she'?s) (?:asleep|sleeping|unconscious|passed out)",
            r"unconscious",
            r"incest",
            r"step ?-?(?:sis|sister|bro|brother|mom|mother|dad|father|daughter|son)(?!'s (?:wedding|birthday|graduation|baby|kids?|party|funeral|new (?:job|house|baby))\b)"
            # ... not a step-parent in ordinary life: "my stepmom is visiting this weekend", "my stepdad fixed my car"
            r"(?!(?: is| was)? (?:visiting|coming (?:over|to)|came (?:over|to)|honestly|the nicest|fixed|cooked|helped|called|drove|bought)\b)",
            r"bestiality",
            r"zoophil\w*",
            r"(?:sex|fuck\w*) (?:with )?(?:an? |my |the )?(?:animal|dog|horse|pet)s?",
            r"kill (?:yourself|urself)",
            r"kys",
            r"cut (?:yourself|urself)",
            r"self ?-?harm",
            r"suicide",
            r"choke you (?:out|until)",
            r"beat you (?:up|until)",
        ],
    ),
    "chargeback_fraud": (
        "encourages chargebacks or refund fraud",
        [
            r"charge[ .\-_]?back",
            r"(?:report|mark|flag|claim) (?:it|the charge|the payment|this|that) as (?:unauthori[sz]ed|fraud(?:ulent)?|stolen)",
            r"(?:say|tell them|claim) (?:that )?you (?:never|didn'?t|did not) (?:make|made|authori[sz]e|buy|bought|order|ordered) (?:the|it|this|that)",
            r"file (?:a|the) dispute",
            r"(?:didn'?t|did not|never) authori[sz]e (?:it|the charge|the payment|that)",
            r"(?:tell|call|say to|ask) your (?:bank|card company|credit card|card issuer|card)(?: company)? (?:it|that|you)",
            r"(?:it|that|the charge) was fraud",
            r"(?:tell|call) your bank (?:it|that|the card)",
            r"dispute (?:the|your) (?:charge|payment)",
            r"(?:ask|tell) your bank for (?:a|your money)",
            r"refund (?:trick|hack|scam)",
            r"get (?:a|your) refund from (?:your|the) bank",
            r"claim (?:it|the card) (?:was|is) stolen",
        ],
    ),
}
_COMPILED_PHRASES = {
    rule: (
        reason,
        re.compile(
            r"(?<![a-z0-9])(?:"
            + "|".join([*pats, *outbound_patterns.EXTRA_PHRASES.get(rule, [])])
            + r")(?![a-z])"
        ),
    )
    for rule, (reason, pats) in _PHRASE_RULES.items()
}
_PAYMENT_EXTRA = re.compile(outbound_patterns.PAYMENT_EXTRA)
_CONTACT_EXTRA = re.compile(outbound_patterns.CONTACT_EXTRA)
_NICKNAME = re.compile(outbound_patterns.NICKNAME)
_NICKNAME_CUE = re.compile(outbound_patterns.NICKNAME_CUE)
PHRASE_RULES = list(_PHRASE_RULES)


# "I don't meet fans in person" declines a meet-up. Only meet-ups honour a negation: for minors or
# prohibited content a negated mention still needs a human's eyes.
_NEGATED = re.compile(
    r"(?:don'?t|do not|never|can'?t|cannot|won'?t|will not|not|no|pas|jamais|nunca|nada|wish we could)(?: [a-z'-]+){0,3} $"
)
_HONOURS_NEGATION = {"meetup_in_person"}
# A chargeback asked not to be made: "pas de chargeback stp", "please don't do a chargeback", "no hagas contracargo".
_CHARGEBACK_REFUSED = re.compile(
    r"\b(?:pas de|no more|never|don'?t|do not|dont|ne fais pas|ne faites pas|fais pas|no hagas|no hagan|nada de)"
    r"(?: (?:do|file|make|a|an|any|un|une|de|d'|el|la|faire|ever))*\s*$"
)
# "nice to meet you" greets; it invites nobody anywhere.
_GREETING = re.compile(
    r"(?:nice|good|great|glad|happy|pleased|lovely|pleasure|so nice) to (?:finally |properly |officially )?$"
)
# A title with "teen" in it ("teen wolf", "teen titans") names a show, not an age.
_TITLE_AFTER_TEEN = re.compile(
    r"\s*(?:wolf|titans?|spirit|choice|vogue|drama|mom|beach movie|movies?|films?|flicks?|comed(?:y|ies)|romcoms?|classics?"
    r"|series|shows?)\b"
)
# A film genre written before "teen" ("une peli teen", "un film teen"), and an adult looking back on school.
_GENRE_BEFORE_TEEN = re.compile(
    r"(?:peli|pelicula|serie|film|movie|comedia|comedie|comedy) $|(?:help|aide|ayuda a) (?:your|my|ton|ta|tu|mi) $|(?:feel|feels|feeling|felt|make you feel|makes me feel) (?:like )?(?:a |an )?$"
)
# "teen me would be shocked": the speaker's own past; "'teen' in my old video titles", "the 'barely legal' title" with an
# adult age said: a tag.
_SELF_AFTER_TEEN = re.compile(r"(?:age)? me\b")
_TAG_AFTER = re.compile(
    r"['’\"]?\s*(?:in (?:my |the )?(?:[a-z]+ ){0,2})?(?:titles?|tags?|titres?|titulos?|etiquetas?)\b"
)
_ADULT_SCHOOL = re.compile(
    r"(?:my old|back in|way back in|since|went to|after|when i was in|cuando iba a la|quand j'etais au"
    # "cuando estaba en 4º de la ESO", "I had braces in middle school too", "mi primer beso fue en la secundaria",
    # "profe de secundaria"
    r"|cuando estaba en(?: la| el)?|quand j'etais en|i (?:had|failed|hated|loved|took|got|did|met|played|learned)(?: [a-z']+){0,3} in"
    r"|(?:my first|mi primer[oa]?|mon premier|ma premiere) [a-z]+ (?:was|fue|c'etait) (?:in|en|au)(?: la| el)?"
    r"|(?:profe|profesora?|maestra?|maestro|prof|professeure?) (?:de|du|en|au)(?: la| el)?"
    # "you coach high school soccer?", "mis años de secundaria", "i remember my teacher in 11th grade", "mon vieux
    # bulletin de 3ème"
    r"|coach(?:es|ed|ing)?|mis anos de|mes annees de|my years (?:in|at)|i remember\b[^.!?]{0,30}|je me souviens\b[^.!?]{0,30}"
    r"|recuerdo\b[^.!?]{0,30}|(?:mon vieux|ma vieille|my old|mi viej[oa]) \w+ (?:de|from|of)) $"
)
# ... or its staff ("ur a high school teacher?"; not with a pupil in the sentence: "a school teacher and you're my
# student").
_SCHOOL_REUNION = re.compile(
    r"\s*(?:reunion|sweetheart|diploma|years|graduation|(?:teachers?|staff|principal|nurse|counselor)\b(?![^.!?]{0,60}\bstudent))\b"
)
# ... as one looking back on themselves at school ("I was such a nerd in high school"; "I was still in 10th grade
# when I shot it" is no look back), or teaching there ("I used to teach 2nd grade").
_PAST_SELF_AT_SCHOOL = re.compile(
    r"(?:\bi was|\bj'etais|\byo era|\bi used to be) (?!still\b|encore\b|todavia\b|aun\b)(?:[a-z'-]+ ){1,5}"
    r"(?:in|at|au|en) $"
    r"|\b(?:yo )?era (?:(?:re|muy|super|un|una|bien) )?[a-z]+ (?:en|a) (?:la |el )?$"
    r"|\b(?:teach|taught|teaching|enseignais|enseigne|enseignes|enseignez|ensenaba|ensenar|ensenas|"
    r"(?:doy|das|da|daba|dabas) clases?)(?: (?:in|at|en|au))?(?: [\w']+)? $"
)
# ... or said right after it: "back in 9th grade i was such a nerd", "en 3ème j'étais une intello", "en la secundaria
# era la más callada".
_PAST_AFTER_SCHOOL = re.compile(r"\s*,?\s*(?:i was|j'?etais|yo era|era|je voulais|i wanted|queria)\b")
# An adult now, said beside the school: "found my middle school pics? yes i had braces, im 30 now", "we're all 29 now",
# "graduated high school over a decade ago", "ya pasaron 10 años".
_ADULT_NOW = re.compile(
    r"\b(?:(?:i'?m|im|i am|we'?re|we are)(?: all)? (?:[2-9]\d) now|(?:hoy|ahora) tengo [2-9]\d|j'ai [2-9]\d ans "
    r"maintenant|(?:years|a decade|decades|\d+ ans|ans) ago|(?:[a-z]+|\d+) years? ago|il y a (?:plus de )?(?:\d+|[a-z]+) ans"
    r"|hace (?:mas de )?(?:\d+|[a-z]+) anos|ya pasaron (?:\d+|[a-z]+) anos|(?:en|in) (?:19\d\d|200\d))\b"
)
# ... or the fan's adult age said beside it: "t'as 19 ans et tu viens d'avoir ton bac".
_FAN_ADULT = re.compile(
    r"\b(?:t'as|tu as|you'?re|you are|ur|tienes) (?:1[89]|[2-9]\d)\b(?! ?(?:min|h\b|\$|%|k\b))"
)
# ... or someone else's school: "my brother's graduating high school", "ton fils entre en seconde", "mi primo empieza
# la secundaria".
_RELATIVE_AT_SCHOOL = re.compile(
    r"\b(?:my|mon|ma|mi) (?:little|younger|petit|petite) (?:brother|sister|frere|soeur|hermano|hermana)(?: just)? "
    r"(?:graduated|finished|a fini|termino) $|"
    r"\b(?:my|your|his|her|ton|ta|mon|ma|mi|tu|su) (?:son|daughter|brother|sister|cousin|nephew|niece|kids?|child|"
    r"fils|fille|frere|soeur|cousine?|neveu|hij[oa]s?|herman[oa]|prim[oa]|sobrin[oa])(?:'s)?(?: [a-z']+){0,3} $"
)
# A school named as a place (a grade, "10th grade", says an age more than a place does).
_SCHOOL_PLACE = re.compile(r"school|secundaria|lycee|college|colegio|prepa|instituto|liceo")
_SCHOOL_WORD = re.compile(
    r"school|grade|secundaria|eso\b|3e|3eme|troisieme|4e|quatrieme|seconde|\bbac\b|brevet|lycee|college|colegio|prepa|insti"
)
# A school costume for an adult set with the adult age or "all adults" said ("mon costume de lycéenne est pour un
# set 100 % adultes, j'ai 27 ans"), or age-play declined ("the schoolgirl costume request is a no from me", "I won't
# cosplay underage characters"); an age under 18 anywhere still counts.
_COSTUME = re.compile(r"school ?girl|colegiala|lyceenne|collegienne")
_ADULT_SAID = re.compile(
    r"\b(?:j'ai|j'avais|tengo|tenia|i'?m|i am|im|i was) (?:a )?(?:1[89]|[2-9]\d)\b(?! ?(?:min|h\b|\$|%))"
    r"|\b(?:1[89]|[2-9]\d)[ -]?(?:ans|anos|years?[ -]old)\b"
    r"|mayores de edad|100 ?% adultes?|all adults|(?:only|solo|que des) (?:adults|adultos|adultes)"
    # "everyone in it is 25", "todas tenemos 25", "at 24 lol", "a mis 24"
    r"|\b(?:everyone|all of us|both of us|todas|todos|tout le monde)\b[^.!?]{0,20}\b(?:is|are|tenemos|somos|a|ont|avons)"
    r" (?:1[89]|[2-9]\d)\b|\b(?:at|a mis|a mes) (?:1[89]|[2-9]\d)\b(?! ?(?:h\b|pm|am|:|min|\$|%|euros?|dollars?))"
    r"|\btiene (?:1[89]|[2-9]\d)\b|\b(?:1[89]|2[01]) ?\+"
    # "all models 25+", "toutes les modèles ont 20+"
    r"|\b(?:models?|modeles?|modelos?|girls|everyone|all)\b[^.!?]{0,15}\b(?:1[89]|[2-9]\d) ?\+"
)
_UNDER_AGE_SAID = re.compile(
    r"(?<![\d,.])(?:1[0-7]|[5-9]) ?(?:ans|anos|y/?o|yrs?|years?)\b|\b(?:1[0-7]) ?(?:ans|anos)?\b"
)
_DECLINED_AFTER = re.compile(
    r"^[^.!?]{0,40}?\b(?:is|es|c'est|est) (?:a |un |une )?(?:no|non|hard no)\b|^[^.!?]{0,30}?\bhard no\b"
    # asked and turned down at once: "schoolgirl costume? no sorry", "¿disfraz de colegiala? no, eso no lo hago"
    r"|^[^.!?]{0,25}(?:"
    + _ASKED_NO
    + r"|\?+\s*(?:sorry|desolee?|lo siento)\b[^.!?]{0,15}\b(?:no|not|don'?t|can'?t|pas|nada)\b)"
    r"(?! (?:problem|prob|worries|te preocupes|hay problema|soucis?|pasa nada)\b)"
    # a limit: "consensual non-con is a hard limit for me", "the non-con stuff isn't for me"
    r"|^[^.!?]{0,30}?\b(?:hard limit|isn'?t for me|is not for me|not my thing|n'est pas pour moi|pas mon truc|"
    r"no es lo mio|no va conmigo)\b"
    r"|^[^.!?]{0,60}?\b(?:i don'?t do|no hago|je ne fais)\b"
    r"|^[^.!?]{0,30}?\b(?:c'?est pas mon (?:style|truc|genre)|(?:is|'s) not my (?:style|thing|vibe)|no es lo mio"
    r"|no es mi (?:estilo|rollo))\b"
)
_DECLINED_BEFORE = re.compile(
    r"\bnot (?:a |an |as a |as an )?$|"
    r"(?:won'?t|will not|don'?t|do not|never|refuse to|no hago|je ne fais (?:pas|jamais)|jamais de)"
    r"(?: (?:do|cosplay|play|shoot|film|dress up as|dress as|any|anything|roleplay|de|el|la))+ $"
)
# A meet-up "here": a live show or a date on the platform itself ("on se retrouve ce soir à 21 h ici pour le live",
# "nos vemos en el directo del domingo", "we'll meet you right here Friday at 8 for the couple live").
_ONLINE_HERE = re.compile(
    r"\b(?:live|livestream|stream|directo|vivo|en direct|ici|ici meme|aqui|aca|right here|on here|in (?:the|this) chat"
    r"|in (?:my|the|your) (?:dms?|inbox)"
    # "on se retrouve sur le chat ce soir", "nos vemos en el próximo post", "rdv demain 20h pour le nouveau PPV", "nos
    # vemos del otro lado de la pantalla"
    r"|(?:sur|dans|en|on|por) (?:le |el |the )?chat|(?:prochain|nouveau|proximo|nuevo|next|new) (?:post|ppv|video)|ppv"
    r"|(?:otro lado|l'autre cote|other side) de(?: la|l'| l')? ?(?:pantalla|ecran)|other side of the screen"
    # a date kept online: "virtual dinner date", "un verre virtuel", "sexting ce soir à 22h?", "rdv dans tes mp"
    r"|virtual|virtuel(?:le)?|virtuales?|sexting|sexteo|(?:dans|en) (?:tes |mes |les )?mp|(?:por|par|by|via|in) dms?)\b"
)
# A place of one's own: a "live" there is a show in person ("cáete a mi depto y te hago el show en
# vivo").
_IN_PERSON_PLACE = re.compile(
    r"(?<!desde )(?<!from )(?<!depuis )(?<!en )(?<!in )"  # a live from my flat is still online
    r"\b(?:(?:mi|tu) (?:depto|departamento|depa|casa|piso|hotel)|chez (?:moi|toi)"
    r"|(?:my|your) (?:place|apartment|flat|hotel(?: room)?)|(?:mon|ton) (?:appart|appartement|hotel)|a la maison)\b"
)
# An appointment with a professional is no date: "mon rendez-vous chez le dentiste", "una cita con el médico".
_APPOINTMENT = re.compile(
    r"\s*(?:chez (?:le |la |mon |ma )?|con (?:el |la |mi )?|at the |with (?:my |the )?)(?:dentiste?|medecin|docteur|"
    r"doctor|medico|coiffeur|coiffeuse|peluquer[oa]|banque|banco|bank|gyneco|ginecologo|kine|psy|notaire|notario)"
)
# A date the creator had, told as past news: "tuve una cita horrible el sábado", "j'ai eu un rencard nul hier".
_OWN_PAST_DATE = re.compile(r"\b(?:tuve|j'ai eu|i had|i went on) $")
# A meet-up declined in the same sentence: "I know you'd love to see me in real life, but that's a line I don't cross".
_MEETUP_DECLINED_AFTER = re.compile(
    r"^\s*" + _ASKED_NO + r"(?=\s*(?:[,.!;]|$|thanks|merci|gracias))"
    # "tu voudrais qu'on se voie? c'est mignon mais non", "wanna meet? that's sweet but no"
    r"|^\s*\?+\s*(?:c'?est |it'?s |that'?s |que )?(?:trop |so |muy )?(?:mignon|cute|sweet|lindo|tierno|adorable|chou)"
    r"\s+(?:mais|but|pero)\s+(?:non|no|nope)\b"
    r"|^[^.!?]{0,40}?\b(?:but|mais|pero)\b[^.!?]{0,25}\b(?:line i don'?t cross|limite|no cruzo|a no\b|un no\b|non\b)"
    r"|^[^.!?]{0,60}?\bi'?d (?:probably )?be too shy\b"
    # wished and refused: "j'aimerais bien te voir en vrai mais c'est impossible", "me encantaría verte en persona
    # pero no puede ser", "quand je serai à Montréal je posterai des photos, mais pas de rencontres"
    r"|^[^.!?]{0,50}?\b(?:but|mais|pero)\b[^.!?]{0,20}\b(?:c'?est impossible|impossible|no puede ser|no es posible|"
    r"not possible|can'?t happen|pas de rencontres?|no (?:hago )?(?:encuentros|citas)|no meetups?|no meeting)\b"
    # or said off limits right after it, with no way around in the sentence: "IRL is off limits", "my address: private"
    # ("private" only as what is said of it: "rdv privé" is a private date)
    r"|^\s*(?:(?:is|are|es|est|:|-)?\s*(?:off limits|off the table|not happening|a hard no|never happening|"
    r"hors limites?|hors de question|exclue?s?|fuera de (?:mis )?limites)"
    r"|(?:is|are|es|est|:|-)\s*(?:private|privad[oa]s?|prive(?:e|s|es)?))\b"
    r"(?![^.!?]*\b(?:unless|except|but for you|sauf|excepte|salvo|excepto|a menos|menos para ti|sauf pour toi)\b)"
)


def check_phrases(text: str, rule: str) -> list[PolicyFinding]:
    reason, pattern = _COMPILED_PHRASES[rule]
    seen: set[tuple[int, int]] = set()
    out = []
    # Plain and de-leeted readings, so "m33t 1rl" is caught while "I'm 25" is not re-read as letters.
    readings = variants(text)
    plain = readings[0].text  # ages are read here: the de-leeted reading reads "30" as "eo"
    for candidate in readings:
        for m in pattern.finditer(candidate.text):
            before = candidate.text[max(0, m.start() - 40) : m.start()]
            if rule in _HONOURS_NEGATION and (_NEGATED.search(before) or _GREETING.search(before)):
                continue
            if (
                rule == "minors"
                and "teen" in m.group(0)
                and (
                    _TITLE_AFTER_TEEN.match(candidate.text, m.end())
                    or _GENRE_BEFORE_TEEN.search(before)
                    or _SELF_AFTER_TEEN.match(candidate.text, m.end())
                )
            ):
                continue
            if (
                rule == "minors"
                and _SCHOOL_PLACE.search(m.group(0))
                and (_ADULT_SCHOOL.search(before) or _SCHOOL_REUNION.match(candidate.text, m.end()))
            ):
                continue
            if (
                rule == "minors"
                and _SCHOOL_WORD.search(m.group(0))
                and (
                    _PAST_SELF_AT_SCHOOL.search(before)
                    or _PAST_AFTER_SCHOOL.match(candidate.text, m.end())
                    or _RELATIVE_AT_SCHOOL.search(before)
                    or (
                        (_ADULT_NOW.search(plain) or _FAN_ADULT.search(plain))
                        and not _UNDER_AGE_SAID.search(plain)
                    )
                )
            ):
                continue
            if rule == "minors" and _minor_declined_or_adult(candidate.text, m, plain):
                continue
            if rule == "minors" and _age_of_a_pet_or_thing(candidate.text, m):
                continue
            if rule == "meetup_in_person" and _meetup_here_or_declined(candidate.text, m):
                continue
            if rule == "chargeback_fraud" and _CHARGEBACK_REFUSED.search(before):
                continue
            if (
                rule == "prohibited_content"
                and _CRISIS_LINE.search(candidate.text)
                and "suicid" in m.group(0)
            ):
                continue
            if (
                rule == "prohibited_content"
                and _PET_IN_PASSING.search(candidate.text)
                and _PET.search(m.group(0))
            ):
                continue
            if rule == "prohibited_content" and (
                _REQUEST_TURNED_DOWN.search(candidate.text)
                or _DECLINED_AFTER.search(candidate.text[m.end() :])
                or _NOTHING_WITH_BEFORE.search(before)
                or _MEDICINE_AFTER.match(candidate.text, m.end())
            ):
                continue
            span = candidate.span(m.start(), m.end())
            if span not in seen:
                seen.add(span)
                out.append(PolicyFinding(rule, f"{reason} ({m.group(0)})", span))
    return out


# A pet that only passes through a shoot: "mon chien va sûrement passer dans la vidéo, il est toujours derrière moi",
# "mi perro se coló en la foto", "no animals in my content ever, my dog gets locked in the bedroom during shoots".
_PET = re.compile(r"\b(?:dog|perro|chien|chat|gato|pet)\b")
_PET_IN_PASSING = re.compile(
    r"\b(?:participe pas|no participa|doesn'?t take part|isn'?t in (?:it|them)|stays in the other room|reste dans l'autre piece|"
    r"se queda en (?:la )?otra (?:habitacion|pieza|cuarto)|background|en el fondo|au fond|dans le fond|derriere moi|detras de mi|se colo|se cuela|photobomb\w*|"
    r"locked|enferme|encerrad[oa]|no animals|pas d'animaux|sin animales|toujours derriere|siempre esta detras|"
    r"(?:passer|passe) dans (?:la video|le champ)|sale en (?:el|la) (?:video|foto))"
)
# Nothing done with it, said before it: "no i don't do anything with animals, ever", "non je fais rien avec les
# animaux", "nunca hago nada con animales".
_NOTHING_WITH_BEFORE = re.compile(
    r"\b(?:don'?t|do not|never|no|rien|nada|jamais|nunca)\b[^.!?]{0,25}\b(?:with|avec|con) (?:les |los |las |any )?$"
)
# Medicine taken for a cold: "i was so drugged up on cold meds all week".
_MEDICINE_AFTER = re.compile(
    r"\s*(?:up )?(?:on|with|de|con|avec) (?:cold|flu|allergy|hay ?fever|rhume|grippe|gripe|resfriado)\b"
    r"|\s*(?:up )?(?:on|with) (?:cough|sinus|sleeping) (?:meds|medicine|syrup|pills)\b"
)
# A fan's request for forbidden content, turned down: "if you ask me for anything involving drugs, the answer is no",
# "tu m'as demandé un truc avec un inconnu qui sait pas qu'il est filmé. je fais pas ça", "me pediste algo con drogas.
# eso no lo hago" (not "I won't do that for free").
_REQUEST_TURNED_DOWN = re.compile(
    r"\b(?:you asked|if you ask|asked me (?:for|to)|(?:guy|man|fan|someone) (?:asked|was asking|keeps asking)|"
    r"tu m'?as demande|si tu me demandes|(?:mec|type|fan|quelqu'?un) (?:me )?demandait|me demandait|me pediste|"
    r"si me pides|me pidio|me pedia)\b"
    r"[^|]{0,160}?\b(?:the answer is no|i won'?t do (?:that|it|this)|i will not do (?:that|it)|i don'?t do (?:that|it)|"
    r"hard no|no way|non categorique|la reponse est non|je (?:ne )?(?:le )?fais pas (?:ca|ce genre)|jamais de la vie|"
    r"la respuesta es no|eso no lo hago|no lo hago|ni hablar)\b"
    r"(?! (?:for free|gratis|gratuitement|sans payer|sin pagar|unless|sauf si|a menos que|sin propina|without a tip))"
)


# The creator stopping a fan who may be a minor: "sophomore in high school? I can only talk with adults here",
# "en troisième ? je ne peux pas parler avec des mineurs", "¿en 3º de la ESO? aquí solo mayores de edad".
_MINOR_TURNED_AWAY = re.compile(
    r"\b(?:only (?:talk|chat|speak) (?:with|to) adults|adults only|(?:can'?t|cannot) (?:talk|chat|speak) (?:with|to) "
    r"(?:minors|you)|je ne peux pas (?:parler|discuter) avec (?:des mineurs|toi|vous)|(?:reserve|interdit) aux mineurs"
    r"|(?:solo|solamente) (?:para )?mayores de edad|no puedo (?:hablar|seguir hablando) contigo"
    r"|no (?:hablo|puedo hablar) con menores"
    # the chat stopped, the page said to be for adults: "you mentioned high school, so I have to end the chat here",
    # "si t'es mineur, on arrête tout de suite", "nadie menor de 18, jamás"
    r"|(?:we|i'?m (?:gonna|going to)|i'?ll|i (?:have|need) to|gotta) (?:stop|end) (?:here|right here|(?:the|this) "
    r"(?:chat|convo|conversation))|(?:have|need|got) to end (?:the|this) (?:chat|convo|conversation)"
    r"|this (?:convo|conversation|chat|page|account) (?:isn'?t|is not|n'?est pas|no es) (?:for you|pour toi|para ti)"
    r"|(?:page|compte|cuenta|account) (?:is|c'?est|est|es) (?:18 ?\+|adults only|pour adultes|para adultos)"
    r"|(?:i'?m )?ending (?:this|the) (?:chat|convo|conversation)|je (?:ferme|termine) (?:cette|la) conversation"
    r"|(?:cierro|termino) (?:esta|la) conversacion|too young for this (?:page|chat|account)|not allowed here"
    r"|(?:nobody|no one|personne|nadie|no (?:explicit )?(?:chat|talk|content) with anyone) (?:de moins de |menor de |"
    r"under )18|on arrete (?:tout|la|ici)|j'?arrete (?:la|ici|tout)|(?:paramos|lo dejamos|termino) aqui"
    # "this conversation ends here", "no content for minors", "you're not old enough for this account", "come back on
    # your 18th", "blocked and reported", "je préfère arrêter là", "no le vendo nada a estudiantes de secundaria"
    r"|(?:this|the|then this|so this) (?:conversation |convo |chat )?ends (?:here|now)|(?:no|not|nothing) "
    r"(?:content|subs?|messages?|pics?|photos?|sales?|stuff)[^.!?]{0,20}\bfor (?:minors|anyone under 18|under ?18s?)"
    r"|(?:you'?re|you are|ur|t'es|tu es|tu n'es|eres|no eres) (?:not |pas |no )?(?:old enough|assez (?:grand|age)e?|"
    r"mayor de edad|majeure?)(?! (?:to|pour|para)\b)(?!\s*\?)|come back (?:on|when|after|once) (?:your 18(?:th)?|you'?re 18|you turn 18)"
    r"|reviens (?:a tes|quand tu (?:auras|seras)) (?:18|majeur)|vuelve cuando (?:tengas|cumplas|seas) (?:18|mayor)"
    r"|(?:blocked|blocking you|bloque|bloquee|bloqueado|bloqueada)(?: (?:and|et|y) (?:reported|signale|signalee|"
    r"reportado|reportada|denunciado))|(?:prefere|vais|dois|dois|prefiero|voy a|tengo que) (?:arreter|parar|cortar) "
    r"(?:la|ici|aqui|aca)|i don'?t (?:talk|chat|speak) (?:to|with) anyone (?:still )?in (?:high|middle) school"
    r"|(?:don'?t|won'?t|never|no le|no les|je ne) (?:sell|vend\w*)(?: (?:anything|nada|rien))? (?:to|a|aux?) "
    r"(?:minors|menores|mineurs|high schoolers|estudiantes de secundaria|lyceens|collegiens)"
    r"|(?:cette|ce) (?:page|compte|conversation|chat) n'?est pas pour toi|(?:esta|este) (?:pagina|cuenta|chat) no es "
    r"para ti|(?:page|account|chat) (?:isn'?t|is not) for you"
    # "if ur only 17 we have to stop here", "then u cant be here, please log off", "no puedes estar aquí", "t'es trop
    # jeune pour ce compte"
    r"|(?:we|i) (?:have|need|got) to stop (?:here|now|this|right)|we gotta stop|(?:you|u) (?:can'?t|cannot|cant) be "
    r"(?:here|on here|on this (?:page|account))|please log off|no puedes estar aqui|tu (?:ne )?peux pas etre ici"
    r"|t'?es trop jeune pour (?:ce|cette|ici|etre))\b"
    r"(?!.{0,60}?\b(?:but|unless|except|mais|sauf|pero|salvo|excepto|jk|just kidding)\b)"
)


# An age that belongs to an animal or a thing is no minor's: "my 10 year old cat", "my car is 15 years old", "a
# 12-year-old whisky", "mon chat de 10 ans", "mi perro tiene 10 años", and "I have a new cat. He's 10" (the last
# animal or thing named before a he/she/it, with no person named between).
THING = (
    r"(?:cats?|kittens?|kitty|dogs?|pupp(?:y|ies)|pups?|pets?|horses?|ponies|pony|bunn(?:y|ies)|rabbits?|parrots?|"
    r"birds?|fish|hamsters?|turtles?|tortoises?|snakes?|lizards?|cars?|trucks?|bikes?|motorbikes?|whiske?y|scotch|"
    r"bourbon|wines?|rum|cognac|tequila|guitars?|pianos?|laptops?|phones?|house|trees?|plants?|bonsai|couch|sofa|"
    r"chats?|chatons?|chiens?|chiots?|chevaux|cheval|lapins?|perroquets?|oiseaux?|poissons?|tortues?|voitures?|motos?|"
    r"velos?|vins?|rhum|guitares?|maisons?|arbres?|plantes?|mascotas?|perr[oa]s?|perrit[oa]s?|gat[oa]s?|gatit[oa]s?|"
    r"caballos?|conejos?|loros?|pajaros?|pez|peces|tortugas?|coches?|carros?|bicis?|vinos?|ron|guitarras?|casas?|"
    r"arboles?|plantas?)"
)
_THING_AFTER = re.compile(rf"[ -]?(?:[a-z']+ )?{THING}\b")
_THING_BEFORE = re.compile(
    rf"\b{THING}(?:'s| is| was| turned| turns| just turned| (?:de|a|tiene|cumple|cumplio))? $"
)
_PRONOUN_AGE = re.compile(r"\b(?:he|she|it)(?:'s| is| was| turned| turns| just turned)? $|^(?:he|she|it)\b")
_THING_NAMED = re.compile(rf"\b{THING}\b")
_PERSON = re.compile(
    r"\b(?:i'?m|i am|sister|brother|sons?|daughters?|kids?|child|children|niece|nephew|cousin|friend|girl|boy|"
    r"baby|student|fan|soeur|frere|fils|fille|enfant|cousine|amie?|hermana|hermano|hij[oa]|nin[oa]|sobrin[oa]|"
    r"prim[oa]|amig[oa])\b"
)


def _age_of_a_pet_or_thing(text: str, m: re.Match[str]) -> bool:
    """Whether the age read in `m` is that of an animal or a thing named beside it, or just before a he/she/it."""
    before = text[max(0, m.start() - 40) : m.start()]
    if _THING_BEFORE.search(before) or (m.group(0).endswith("old") and _THING_AFTER.match(text, m.end())):
        return True
    if _PRONOUN_AGE.search(before) or _PRONOUN_AGE.match(m.group(0)):
        earlier = text[max(0, m.start() - 150) : m.start()]
        things = list(_THING_NAMED.finditer(earlier))
        return bool(things) and not _PERSON.search(earlier[things[-1].end() :])
    return False


# Age-play made younger still: "barely legal? nah this one's even younger".
_YOUNGER = re.compile(
    r"\b(?:younger|plus jeune|plus jeunes|mas joven|mas chic[oa]|mas pequen[oa]|short of)\b"
)


def _minor_declined_or_adult(text: str, m: re.Match[str], plain: str) -> bool:
    """A school costume in a set the draft says is for adults, or age-play the draft declines, or a fan who may be a
    minor turned away; a costume or age-play never when an age under 18 is said. The ages are read on the plain
    reading (`plain`): a de-leeted one reads "23" as "2e"."""
    if _MINOR_TURNED_AWAY.search(text) or _MINOR_TURNED_AWAY.search(plain):
        return True
    if _UNDER_AGE_SAID.search(text) or _UNDER_AGE_SAID.search(plain):
        return False
    before = text[max(0, m.start() - 40) : m.start()]
    declined = (
        _DECLINED_AFTER.search(text[m.end() :]) or _DECLINED_BEFORE.search(before)
    ) and not _YOUNGER.search(text)
    costume = (_COSTUME.fullmatch(m.group(0)) or _TAG_AFTER.match(text, m.end())) and (
        _ADULT_SAID.search(text) or _ADULT_SAID.search(plain)
    )
    return bool(declined or costume)


def _meetup_here_or_declined(text: str, m: re.Match[str]) -> bool:
    """A meet-up phrase for a show on the platform ("on se retrouve ce soir ici pour le live") or one the draft
    declines in the same sentence."""
    # An ellipsis goes on with the same thought ("on se voit ce soir... en live 😏 21h ici").
    ends = [e.end() for e in _SENTENCE_END.finditer(text, 0, m.start())]
    start = ends[-1] if ends else 0
    stop = _SENTENCE_END.search(text, m.end())
    sentence = text[start : stop.start() if stop else len(text)]
    if stop and stop.group(0) == "?" and _HERE_AFTER_QUESTION.match(fold(text[stop.end() :])):
        return True  # "on se voit dimanche ? en live évidemment"
    return bool(
        (
            (_ONLINE_HERE.search(sentence) or _only_posted_from_a_trip(sentence))
            and not _IN_PERSON_PLACE.search(fold(sentence))
        )
        or _MEETUP_DECLINED_AFTER.search(text[m.end() :])
        or _APPOINTMENT.match(text, m.end())
        or _OWN_PAST_DATE.search(text[max(0, m.start() - 20) : m.start()])
    )


# A trip the fan only sees in pictures: "when im in ur city ill post pics from there", "my tour stop in austin is the
# 14th, ill post pics after", "quand je passe dans ta ville jte poste des photos".
_POSTED_FROM_THERE = re.compile(
    r"\b(?:i'?ll|ill|i will|i'?m gonna|gonna|je|jte|j'te|je te|te|voy a|les|te las|te los) (?:post|share|drop|poste|posterai|"
    r"partage|partagerai|subo|subire|subir|comparto|compartire|mandare)\b[^.!?]{0,30}\b(?:pics|photos?|fotos?|a set|"
    r"un set|videos?|vids?|backstage|stories|content|contenu|contenido)\b"
)
_TRIP = re.compile(
    r"city|ville|ciudad|tour|gira|passe (?:a|dans|par)|pass(?:ing)? through|in town|en tu ciudad"
)


def _only_posted_from_a_trip(sentence: str) -> bool:
    """The sentence's only meet-up phrases are a trip of the creator's, and what the fan gets from it is pictures."""
    folded = fold(sentence)
    phrases = [x.group(0) for x in _COMPILED_PHRASES["meetup_in_person"][1].finditer(folded)]
    return (
        bool(_POSTED_FROM_THERE.search(folded))
        and all(_TRIP.search(x) for x in phrases)
        and not _COME_OVER.search(folded)
    )


_COME_OVER = re.compile(
    r"\b(?:come|coming|say hi|see (?:you|u|ya)|meet|hang|viens|venez|passe me voir|on se voit|ven|vente|venite|nos vemos"
    r"|saludame|te veo)\b"
)


_HERE_AFTER_QUESTION = re.compile(
    r"^\s*(?:en live|en el directo|en directo|en vivo|on (?:the )?live|in (?:the|my) live|(?:right )?here|ici|aqui)\b"
)
_SENTENCE_END = re.compile(r"(?<!\.)[.!?](?!\.)")


def declined(text: str, category: str) -> bool:
    """Whether the draft names the category's trigger only as the rules read a refusal of it: every payment or
    messaging app it names refused, left, warned about or someone else's ("Nada de PayPal ni Bizum, todo pasa por la
    app"), a fan who may be a minor turned away ("I can only talk with adults here"), a date for a show on the
    platform itself ("¿quedamos aquí el viernes a las 22 para el directo?"), a fan's request for forbidden content
    turned down ("you asked for something with drugs: the answer is no"). The engine holds a classifier's
    spanless finding of that category to it."""
    if category in ("off_platform_payment", "off_platform_contact"):
        hits = _word_hits(text, _PAYMENT_WORDS if category == "off_platform_payment" else _CONTACT_WORDS)
        return bool(hits) and all(_refusals(text, hits))
    if category == "minors":
        return bool(_MINOR_TURNED_AWAY.search(fold(text)))
    if category == "meetup_in_person":
        plain = fold(text)
        told_as_past = _TOLD_AS_PAST.search(plain) and not _AHEAD_OR_INVITED.search(plain)
        return bool(told_as_past or _ONLINE_HERE.search(plain)) and not _IN_PERSON_PLACE.search(plain)
    if category == "prohibited_content":
        return bool(_REQUEST_TURNED_DOWN.search(fold(text)))
    return False


# A night out told as past news, with nothing ahead and nobody invited: "the venue was packed last night".
_TOLD_AS_PAST = re.compile(
    r"\b(?:last (?:night|week|weekend|time|year|month)|yesterday|the other (?:day|night)|hier|l'autre (?:soir|jour)"
    r"|la semaine derniere|anoche|ayer|el otro dia|la semana pasada)\b"
)
_AHEAD_OR_INVITED = re.compile(
    r"\?|\b(?:tonight|tomorrow|next|soon|come|coming|let'?s|lets|wanna|want to|we could|we should|you and me|u and me"
    r"|join|see you|see u|meet|ce soir|demain|prochaine?|viens|venez|on se|on pourrait|esta noche|manana|proxim[oa]|ven"
    r"|vente|vamos|podriamos|nos vemos|quedamos)\b"
)


_CRISIS_LINE_NUMBER = re.compile(
    r"\b(?:gratuit|free|gratis|toll[- ]free)\b[^.!?]{0,40}\b(?:24/7|jour et nuit|ouvert tout le temps|day and night|"
    r"las 24 horas|dia y noche)\b|\b(?:24/7|jour et nuit|ouvert tout le temps|day and night|las 24 horas)\b[^.!?]{0,40}"
    r"\b(?:gratuit|free|gratis)\b"
)
# A crisis line given to a fan in distress: "appelle le 3114, c'est le numéro national de prévention du suicide".
_CRISIS_LINE = re.compile(
    r"\b(?:suicide prevention|prevention du suicide|prevencion del suicidio|crisis (?:text )?line|lifeline|"
    r"ligne d'ecoute|linea de (?:crisis|ayuda|prevencion)|numero national de prevention)\b"
)


def check_forbidden(text: str, words: list[str]) -> list[PolicyFinding]:
    return [
        PolicyFinding("forbidden_words", f"creator's forbidden word ({w})", span)
        for w, span in _word_hits(text, [fold(w) for w in words if w.strip()])
    ]


# --- leaks: other fans' data, the creator's private data ------------------------------------------

# Another fan (not the recipient) named by role together with what they spent: "my top fan spent $900".
_FAN_NOUN = r"(?:fan|sub|subscriber|supporter|guy|dude|customer|client|follower|buyer|whale|simp|regular)s?"
_OTHER_FAN = (
    r"(?:(?:one|some|a few|two|three) of my (?:" + _FAN_NOUN + r")"
    r"|(?:another|other|some|this one|that) (?:" + _FAN_NOUN + r")"
    r"|my (?:[a-z']+ ){0,2}(?:fan|sub|subscriber|supporter|guy|customer|client|follower|buyer|whale|simp|regular)(?!s)"
    r"|an? (?:fan|sub|subscriber|guy|regular|customer|client|supporter|whale|follower) of mine)"
)
_SPEND = r"(?:spent|spends|spending|paid|pays|tipped|tips|bought|buys|unlocked|dropped|sent me|blew|gave me)"
_MONEY = r"(?:\$\s?\d[\d,.]*k?|\d[\d,.]*k?\s?(?:\$|dollars?|bucks|usd|grand)|\d+k\b|(?:a|two|three|five) (?:grand|thousand|hundred))"
_SPEND_LEAK = re.compile(
    r"(?<![a-z])" + _OTHER_FAN + r"\b[^.!?\n]{0,60}?\b" + _SPEND + r"\b[^.!?\n]{0,40}?" + _MONEY
)
_TOKEN = re.compile(r"@?\w[\w.'\-]*")


_POSSESSIVE = re.compile(r"['’]s$")
# A capitalised word after a name makes it someone else's full name or a title ("Marcus Rashford", "Hunter S.
# Thompson", "Jessica Rabbit"), unless it is a word that starts a sentence or a greeting.
_SURNAME = re.compile(r"\s+(?:[A-Z]\.|[A-Z][a-z]{1,}(?:-[A-Z][a-z]+)?\b|[xX]\s+[A-Z][a-z]+\b)")
_NOT_SURNAMES = frozenset(
    "I I'm I'll I've I'd A An The This That These Those It It's He She We You They Your My Our His Her Their Me "
    "And But Or So If When Then Also Just Yes No Not Hi Hey Hello Thanks Thank Love Babe Baby Have Has Had Is Are "
    "Was Were Do Does Did Can Could Will Would Should Sent Bought Paid Tipped Said Says Asked Told Wants Spent "
    "Et Mais Ou Donc Oui Non Merci Bisous Il Elle On Tu Je Nous Vous Ils Le La Les Un Une Des Ce Cette "
    "Y Pero Si Gracias Besos El Ella Yo Tu Los Las Una Es Está Ya".split()
)


_NEXT_WORD = re.compile(r"\s*([^\s.,;:!?]*)")
_TITLE_BEFORE = re.compile(r"[A-Z][a-z]+\s+[xX]\s+$")


def _part_of_longer_name(text: str, end: int, start: int | None = None) -> bool:
    """Whether the capitalised word after `end` (or a title's "Name x" before `start`) makes the name there part of
    another person's or thing's name."""
    if start is not None and _TITLE_BEFORE.search(text[max(0, start - 40) : start]):
        return True
    m = _SURNAME.match(text, end)
    return m is not None and m.group(0).strip().split()[-1] not in _NOT_SURNAMES


def _letters(text: str) -> str:
    """The text with each character read as the letter it shows, one for one (spans stay the same): full-width,
    circled and other compatibility forms as NFKC reads them (a handle in full-width letters, a name in circled ones),
    look-alike Cyrillic and Greek letters as Latin ones; capitals stay capitals."""
    out = []
    for c in text:
        if c.isascii():
            out.append(c)
            continue
        n = unicodedata.normalize("NFKC", c)
        n = n if len(n) == 1 else c
        lower = CONFUSABLE.get(n.lower())
        out.append(n if lower is None else (lower.upper() if n.isupper() else lower))
    return "".join(out)


# Letters with a diacritic and the same letters in lower case without it: a name written in styled or spelt-out letters
# often loses its accent ("ｅｌｏｄｉｅ" for Élodie). The same pair of strings is Postgres' translate() in the store's
# lookup and its index (policies/scoped.py, migration 0046), so both sides drop the same accents.
# Capitals too: Postgres' lower() leaves them as they are under the C locale.
_ACCENTED_LOWER = "àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżž"
_PLAIN_LOWER = "aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz"
ACCENTED = _ACCENTED_LOWER + _ACCENTED_LOWER.upper()
UNACCENTED = _PLAIN_LOWER * 2
_UNACCENT = str.maketrans(ACCENTED, UNACCENTED)


def unaccented(lower: str) -> str:
    """A name in lower case without the accents of ACCENTED."""
    return lower.translate(_UNACCENT)


@lru_cache(maxsize=64)
def _identity_index(
    other_fans: tuple[str, ...],
) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """Handles (lower case, no '@'), display names, the display names in lower case, and those without accents,
    built once per creator's list, not once per draft."""
    handles = frozenset(
        h.strip().lower().lstrip("@") for h in other_fans if h.strip() and " " not in h.strip()
    )
    names = frozenset(n.strip() for n in other_fans if len(n.strip()) >= 3 and n.strip()[0].isupper())
    lower = frozenset(n.lower() for n in names)
    return handles, names, lower, frozenset(unaccented(n) for n in lower)


# Letters written one by one with a separator between them ("H u n t e r", "m.a.r.c.u.s", "D-a-v-e").
_SPACED_LETTERS = re.compile(r"(?<!\w)(?:[^\W\d_][ .\-_*·]){2,}[^\W\d_](?!\w)")
# What a fan does that a draft would tell about, right after a name written in lower case ("marcus tipped me").
_DEEDS = (
    _SPEND
    + r"|asked|asks|said|says|told|tells|wants|wanted|messaged|texted|dm'?d|subscribed|renewed|requested|"
    r"ordered|sent|m'a|a (?:paye|achete|dit|demande|envoye|tipe|donne|pris)|me (?:mando|pidio|dijo|envio|escribio)|"
    r"pago|compro|mando|dio|gasto"
)
_FAN_DEED = re.compile(r"\s+(?:" + _DEEDS + r")\b")
# After a name in styled letters, a deed or a verb that makes it someone's ("ⓢⓤⓝⓝⓨ también está...", not "ⓢⓤⓝⓝⓨ day").
_STYLED_DEED = re.compile(
    r"\s+(?:"
    + _DEEDS
    + r"|too|also|aussi|tambien|is|was|has|had|est|etait|a|es|esta|era|ha|already|deja|ya|just)\b"
)
# Where a lower-case name can start a clause: the draft's start, after punctuation or an emoji, or after a word
# that joins clauses ("a bargain hunter bought it" has a noun before "hunter").
_CLAUSE_START = re.compile(
    r"(?:^|[^\w\s'’]\s*|\b(?:and|but|so|then|like|even|also|cause|because|cuz|bc|since|lol|et|mais|donc|meme|y|pero|"
    r"incluso|que|qu')\s+)$"
)


def _name_readings(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Other ways a draft writes a name, each as (the name in lower case, its span): letters spelt out one by one,
    a name in styled letters (full-width, circled: the writer chose no case), a name in lower case followed by
    what the fan did ("marcus tipped me"). Compared with the names in lower case, with or without accents, by
    `check_other_fans`."""
    letters = _letters(text)
    out = [
        (re.sub(r"[ .\-_*·]", "", m.group(0)).lower(), m.span()) for m in _SPACED_LETTERS.finditer(letters)
    ]
    folded = fold(letters)
    tokens = [(m.group(0), m.start()) for m in _TOKEN.finditer(letters)]
    for i in range(len(tokens)):
        for width in (3, 2, 1):
            if i + width > len(tokens):
                continue
            group = tokens[i : i + width]
            start, end = group[0][1], group[-1][1] + len(group[-1][0])
            phrase = " ".join(t for t, _ in group)
            styled = any(not c.isascii() for c in text[start:end]) and _STYLED_DEED.match(folded, end)
            in_lower = phrase == phrase.lower() and phrase.isascii()
            deed = in_lower and _FAN_DEED.match(folded, end) and _CLAUSE_START.search(folded[:start])
            if styled or deed:
                out.append((phrase.lower(), (start, end)))
    return out


def identity_phrases(text: str) -> list[str]:
    """Every 1-3 token phrase of `text` that `check_other_fans` compares with other fans' identities (names as
    they are, handles lower-cased without '@', and the names it reads other ways): a store can look up only the
    identities that could match."""
    phrases: set[str] = set()
    for source in dict.fromkeys((text, _letters(text))):
        tokens = [m.group(0).rstrip(".'") for m in _TOKEN.finditer(source)]
        phrases.update(
            " ".join(tokens[i : i + width])
            for i in range(len(tokens))
            for width in (1, 2, 3)
            if i + width <= len(tokens)
        )
    phrases.update(name for name, _ in _name_readings(text))
    return sorted(phrases)


def check_other_fans(text: str, other_fans: list[str] | tuple[str, ...]) -> list[PolicyFinding]:
    """Another fan's identity or spending in a draft to this fan.

    `other_fans` are the creator's other fans' display names and platform handles (never the
    recipient's). Handles match case-insensitively with or without '@'; display names match as proper
    nouns (same capitalisation, whole words), so a fan called "Hunter" does not block "a bargain hunter".
    What another fan spent is a leak even unnamed ("my top fan spent $900 on me")."""
    out: list[PolicyFinding] = []
    plain = variants(text)[0]
    for m in _SPEND_LEAK.finditer(plain.text):
        out.append(
            PolicyFinding(
                "other_fan_data",
                f"tells this fan what another fan spent ({m.group(0)})",
                plain.span(m.start(), m.end()),
            )
        )
    if other_fans:
        handles, names, lower_names, plain_names = _identity_index(tuple(other_fans))
        tokens = [
            (_POSSESSIVE.sub("", m.group(0)).rstrip(".'"), m.start()) for m in _TOKEN.finditer(_letters(text))
        ]
        for i, (tok, start) in enumerate(tokens):
            for width in (3, 2, 1):  # the longest name first: "Big Dave" before "Dave"
                if i + width > len(tokens):
                    continue
                group = tokens[i : i + width]
                phrase = " ".join(t for t, _ in group)
                end = group[-1][1] + len(group[-1][0])
                if (phrase in names and not _part_of_longer_name(text, end, group[0][1])) or (
                    width == 1 and tok.startswith("@") and tok.lower().lstrip("@") in handles
                ):
                    out.append(PolicyFinding("other_fan_data", f"names another fan ({phrase})", (start, end)))
                    break
                bare_handle = not tok.isalpha() and any(c.isalpha() for c in tok)
                if width == 1 and len(tok) >= 4 and bare_handle and tok.lower() in handles:
                    # a bare handle such as "tommy_b88"; an all-letters one is matched only with '@'
                    out.append(PolicyFinding("other_fan_data", f"names another fan ({tok})", (start, end)))
                    break
        for name, span in _name_readings(text):
            known = name in lower_names or unaccented(name) in plain_names
            if known and not any(f.span and f.span[0] <= span[0] < f.span[1] for f in out):
                out.append(
                    PolicyFinding("other_fan_data", f"names another fan ({text[span[0] : span[1]]})", span)
                )
    return out


def check_private(text: str, private_terms: list[str] | tuple[str, ...]) -> list[PolicyFinding]:
    """The creator's private data (legal name, city, address, other accounts), obfuscation-tolerant, whole or in
    part: the legal first name alone, the house number of the address (`_private_parts`)."""
    terms = [fold(w) for w in private_terms if w.strip()]
    words = list(dict.fromkeys([*terms, *(p for t in terms for p in _private_parts(t))]))
    found: list[PolicyFinding] = []
    for w, span in _word_hits(text, words):
        if w not in terms and w.isalpha() and _part_of_longer_name(text, span[1]):
            after = fold(m.group(1)) if (m := _NEXT_WORD.match(text, span[1])) else ""
            if not any(p != w and p.startswith(after) for t in terms if w in t.split() for p in t.split()):
                continue  # "Jessica Rabbit" is someone else; "Jessica M." is still the creator
        if w not in terms and w.isdigit() and _an_amount(text, span):
            continue  # "4417 cents", "$4417", "4417 views": a number that happens to be the house number
        if not any(f.span and f.span[0] <= span[0] and span[1] <= f.span[1] for f in found):
            found.append(
                PolicyFinding("creator_private_data", f"reveals the creator's private data ({w})", span)
            )
    return found


_UNIT_AFTER = re.compile(
    r"\s*(?:[€$£%]|(?:cents?|eur|euros?|usd|dollars?|bucks|tokens?|k|pts|points|likes|views|fans|subs|subscribers|"
    r"followers|abonnes|abonnés|seguidores|vues|vistas|messages|msgs|tips|centimes|centavos)\b)",
    re.IGNORECASE,
)
_CURRENCY_BEFORE = re.compile(r"[$€£]\s*$")


def _an_amount(text: str, span: tuple[int, int]) -> bool:
    """Whether the number at `span` is an amount or a count: a unit after it, a currency sign before it."""
    return bool(
        _UNIT_AFTER.match(text, span[1]) or _CURRENCY_BEFORE.search(text[max(0, span[0] - 3) : span[0]])
    )


# Words of an address or a name that say nothing about whose they are.
_COMMON_PARTS = frozenset(
    "street avenue road lane drive boulevard place square court rue allee chemin impasse calle avenida plaza paseo "
    "camino north south east west nord sud est oeste norte".split()
)


def _private_parts(term: str) -> list[str]:
    """The parts of a private term of several words that give it away alone: a word of five letters or more that no
    address or name shares ("jessica" of "jessica moreno"), a number of three digits or more ("4417" of "4417 elm
    street")."""
    parts = term.split()
    if len(parts) < 2:
        return []
    return [
        p
        for p in parts
        if (p.isalpha() and len(p) >= 5 and p not in _COMMON_PARTS) or (p.isdigit() and len(p) >= 3)
    ]


# --- inbound checks ---------------------------------------------------------------------------


_MEETUP_DEMAND = re.compile(
    r"\b(?:meet (?:up|in person|irl)|where do you live|your address|"
    r"come (?:over|to my place))\b"
)
_HANDOFF_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("possible_minor", inbound_patterns.MINOR),
    ("self_harm", inbound_patterns.SELF_HARM),
    ("threat", inbound_patterns.THREAT),
    ("legal_or_chargeback", inbound_patterns.CHARGEBACK),
    ("meetup_demand", _MEETUP_DEMAND),
]


# What each inbound classifier label means for the decision.
_SEMANTIC_HANDOFF = {
    "minor": "possible_minor",
    "self_harm": "self_harm",
    "threat": "threat",
    "chargeback": "legal_or_chargeback",
}


def check_inbound(text: str, *, semantic: bool | None = None) -> InboundVerdict:
    """Checks on a fan message that never involve the LLM: the rules, then the semantic layer (classifiers over
    the message's meaning), either of which can flag. semantic: default the `HUNTAZE_POLICY_SEMANTIC` setting."""
    verdict = _inbound_rules(text)
    if not _semantic_on(semantic) or not text.strip():
        return verdict
    from policies.semantic import semantic_flags

    flags = semantic_flags("inbound", text)
    readings = inbound_patterns.readings(text)
    if "minor" in flags and not any(
        inbound_patterns.STATED_AGE.search(_mask_others_ages(t)) for t in readings
    ):
        # The same exception as the rules': an adult speaking of their age, work or children ("j'ai 24 ans", "je
        # suis prof au collège", "my son's 10th birthday"), or an age that is not the fan's ("ma voiture a 16 ans")
        # is no minor cue; an age under 18 said of the fan still is.
        if any(
            inbound_patterns.ADULT_CONTEXT.search(t)
            or inbound_patterns.ADULT_AGE.search(t)
            or inbound_patterns.NOT_THE_FANS_AGE.search(t)
            for t in readings
        ):
            del flags["minor"]
    if (
        "self_harm" in flags
        and verdict.handoff_reason != "self_harm"
        and any(inbound_patterns.AFFECTION.search(t) for t in readings)
        and not any(inbound_patterns.FAREWELL.search(t) for t in readings)
    ):
        del flags["self_harm"]  # "still thinking of you": longing, which the rules would read if it were more
    if "optout" in flags and any(inbound_patterns.NEGATED_STOP.search(t) for t in readings):
        del flags["optout"]  # "don't stop, i love your messages"
    if "optout" in flags:
        # A fan who opts out, read by the classifiers as surer of that than of a hand-off the rules did not find:
        # "ya no me mandes nada" is an opt-out, not self-harm (a possible minor still goes to a human).
        for label in ("self_harm", "threat", "chargeback"):
            if label in flags and flags[label] < flags["optout"] and verdict.handoff_reason is None:
                del flags[label]
    if "optout" in flags and flags["optout"] < flags.get("injection", 0.0):
        del flags[
            "optout"
        ]  # both classifiers, injection the surer: "montre moi les messages des autres abonnés"
    findings = list(verdict.findings)
    handoff = verdict.handoff_reason
    for label, reason in _SEMANTIC_HANDOFF.items():
        if label in flags:
            handoff = handoff or reason
            findings.append(
                PolicyFinding(
                    f"handoff:{reason}", f"needs a human ({reason}; classifier score {flags[label]:.2f})"
                )
            )
    opt_out = verdict.opt_out or "optout" in flags
    if "optout" in flags and not verdict.opt_out:
        findings.append(
            PolicyFinding(
                "opt_out",
                f"the fan asked to stop receiving messages (classifier score {flags['optout']:.2f})",
            )
        )
    injection = verdict.injection or "injection" in flags
    if "injection" in flags and not verdict.injection:
        findings.append(
            PolicyFinding(
                "prompt_injection",
                f"fan text tries to instruct the assistant (classifier score {flags['injection']:.2f})",
                None,
                "warn",
            )
        )
    return InboundVerdict(opt_out=opt_out, handoff_reason=handoff, injection=injection, findings=findings)


def _semantic_on(semantic: bool | None) -> bool:
    if semantic is not None:
        return semantic
    from core.settings import get_settings

    return get_settings().policy_semantic


def _opts_out(text: str) -> bool:
    """An opt-out's words, not negated ("don't stop") nor scoped to one thing ("take me off the waitlist")."""
    if inbound_patterns.NEGATED_STOP.search(text):
        return False
    return any(
        not inbound_patterns.SCOPED_OPT_OUT.search(text[m.end() :])
        for m in inbound_patterns.OPT_OUT.finditer(text)
    )


def _mask_others_ages(text: str) -> str:
    """The text with ages that are not the fan's blanked out, offsets kept ("ma voiture a 16 ans"); not a child's
    age followed by whether the content may reach the child ("ma fille a 14 ans, elle peut regarder ?")."""

    def blank(m: re.Match[str]) -> str:
        child_asked_for = inbound_patterns.CHILD_WORD.search(
            m.group(0)
        ) and inbound_patterns.CHILD_ACCESS_AFTER.search(text[m.end() :])
        return m.group(0) if child_asked_for else " " * len(m.group(0))

    return inbound_patterns.NOT_THE_FANS_AGE.sub(blank, text)


def _inbound_rules(text: str) -> InboundVerdict:
    readings = [n for n in variants(text) if n is not None]
    # folded; de-leeted with split letters joined ("s t o p", "🅿️r⭕Ⓜ️🅿️t"); leet decoded inside words only
    texts = [
        (r, r.text.replace("\u2019", "'").replace("`", "'")) for r in (readings[0], readings[2], readings[3])
    ]
    findings: list[PolicyFinding] = []
    opt_out = any(_opts_out(t) for _, t in texts)
    if opt_out:
        findings.append(PolicyFinding("opt_out", "the fan asked to stop receiving messages"))
    handoff = None
    # An adult's context, or the adult age the fan states: school and family cues are not the fan's age.
    adult = any(
        inbound_patterns.ADULT_CONTEXT.search(t) or inbound_patterns.ADULT_AGE_SAID.search(t)
        for _, t in texts
    )
    for reason, pattern in _HANDOFF_PATTERNS:
        if reason == "possible_minor" and adult:
            pattern = inbound_patterns.STATED_AGE
        for reading, t in texts:
            m = pattern.search(_mask_others_ages(t) if reason == "possible_minor" else t)
            if m:
                handoff = handoff or reason
                findings.append(
                    PolicyFinding(
                        f"handoff:{reason}", f"needs a human ({reason})", reading.span(m.start(), m.end())
                    )
                )
                break
    injection = any(
        inbound_patterns.INJECTION.search(t) for _, t in texts
    ) or inbound_patterns.hidden_instructions(text)
    if injection:
        findings.append(
            PolicyFinding("prompt_injection", "fan text tries to instruct the assistant", None, "warn")
        )
    return InboundVerdict(opt_out=opt_out, handoff_reason=handoff, injection=injection, findings=findings)
