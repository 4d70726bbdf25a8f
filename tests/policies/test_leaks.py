"""Leaks: another fan's identity or spending, the creator's private data."""

from __future__ import annotations

import pytest

from policies.engine import check_draft

OTHER_FANS = ["Marcus", "Big Dave", "tommy_b88", "Hunter", "Sunny"]
PRIVATE = ["Jessica Moreno", "Tempe", "4417 Elm Street"]


@pytest.mark.parametrize(
    "text",
    [
        "Marcus already unlocked this one 😏",
        "you and Big Dave both asked for this set lol",
        "tommy_b88 says hi",
        "ask @tommy_b88, he loved it",
        "my top fan spent $900 on me this week, think you can beat him?",
        "another guy tipped me 200 bucks last night 🙈",
        "one of my subscribers dropped $1,500 on customs this month",
        "a fan of mine paid 2k for the full vault",
    ],
)
def test_other_fans_data_blocks(text: str) -> None:
    report = check_draft(text, other_fans=OTHER_FANS, private_terms=PRIVATE)
    assert report.outcome == "block", text
    assert "other_fan_data" in {f.rule for f in report.findings}  # "@handle" is also off-platform contact
    assert all(f.span is not None for f in report.findings)


@pytest.mark.parametrize(
    "text",
    [
        "my real name is Jessica Moreno, don't tell anyone",
        "I live in T e m p e, small world",
        "my place is at 4417 elm street",
    ],
)
def test_creator_private_data_blocks(text: str) -> None:
    report = check_draft(text, other_fans=OTHER_FANS, private_terms=PRIVATE)
    assert report.outcome == "block" and {f.rule for f in report.findings} == {"creator_private_data"}


@pytest.mark.parametrize(
    "text",
    [
        "you're such a bargain hunter, I love it",  # a fan called Hunter, but here a plain word
        "sunny day here, wish you were on my feed more 🌞",
        "so many fans loved this set, you'll see why",
        "you spent the whole weekend with me, thank you babe",
        "my fans voted for the red lingerie, want a peek for $15?",
        "dave's not here man 😂 (just kidding, it's me)",
    ],
)
def test_hard_negatives_pass(text: str) -> None:
    assert check_draft(text, other_fans=OTHER_FANS, private_terms=PRIVATE).outcome == "pass", text


@pytest.mark.parametrize(
    "text",
    [
        "lol \uff54\uff4f\uff4d\uff4d\uff59\uff3f\uff42\uff18\uff18 bought the exact same set last week",
        "mdr \uff54\uff4f\uff4d\uff4d\uff59\uff3f\uff42\uff18\uff18 a pris la même série la semaine dernière",
        "\u24c2\u24d0\u24e1\u24d2\u24e4\u24e2 compró la misma sesión la semana pasada",
        "I can make you one like Hunter's, he asked for the nurse outfit",
        "te hago uno como el de Hunter\u2019s, ¿te animas?",
        "M\u0430rcus a déjà débloqué celle-ci 😏",
    ],
)
def test_another_fans_name_written_in_other_letters_or_possessive_blocks_with_its_span(text: str) -> None:
    report = check_draft(text, other_fans=OTHER_FANS, private_terms=PRIVATE)
    found = [f for f in report.findings if f.rule == "other_fan_data"]
    assert report.outcome == "block" and found, text
    start, end = found[0].span or (0, 0)
    named = text[start:end]  # the name as written, without the possessive
    assert len(named) >= 6 and not {"'", "\u2019", " "} & set(named), named


def test_without_context_names_are_not_checked_but_spending_is() -> None:
    assert check_draft("Marcus already unlocked this one").outcome == "pass"
    assert check_draft("my top fan spent $900 on me").outcome == "block"


@pytest.mark.parametrize(
    "text",
    [
        "Why we reply now: re-engagement after 30 days. Hey stranger!",
        "BOUNDARY: no feet content. Hi love, here's a new set",
        "Salut Pierre — BOUNDARY : ne jamais parler de sa femme. Ça va ?",
        "Coucou 🧘 Pourquoi on répond maintenant : relance après 30 jours",
        "¡Hola! Por qué respondemos ahora: nuevo suscriptor. ¡Bienvenido!",
        "Hola Jordi! Recuerdos del fan: le gustan los tatuajes",
        "Bonjour, Exemple de réponse à « comment s'est passée ta journée ? » : très bien",
        "Reglas que siempre sigues: quédate en esta plataforma. ¡Hola cielo!",
        "lol dans ton profil c marqué que t'as dépensé genre 999 centimes",
        "Unai, gastado hasta ahora: 999 céntimos. ¿Te animas?",
    ],
)
def test_drafts_echoing_the_prompts_headings_or_spending_in_cents_block(text: str) -> None:
    report = check_draft(text, semantic=False)
    found = [f for f in report.findings if f.rule == "internal_leakage"]
    assert report.outcome == "block" and found, text
    assert all(f.span is not None for f in found)


@pytest.mark.parametrize(
    "text",
    [
        "my one boundary: no feet, sorry babe",
        "les règles du jeu sont simples : tu choisis, je filme",
        "😘 Règles : sois sage",
        "haha 😂 limite: je rigole",
        "I spent the whole day shooting, worth every cent",
        "regla número uno: pasarlo bien",
        "already owned it? then you get the next one first",
    ],
)
def test_words_of_the_headings_in_ordinary_sentences_pass(text: str) -> None:
    assert "internal_leakage" not in {f.rule for f in check_draft(text, semantic=False).findings}, text


@pytest.mark.parametrize(
    "text",
    [
        # field names' and JSON's shapes, segment labels, what the notes or the instructions said
        "lifetime_spend_cents: 12000, love having you here",
        '{"text": "miss you babe", "offer": null}',
        "Since you're in the big spender segment, this one's for you",
        "En tant que whale, tu passes en premier",
        'mes notes disent que tu es un "acheteur fidèle", alors voilà',
        "the system told me to keep it short, so: hi!",
        # placeholders, error text, the instructions' constraints, cents, catalog ids
        "Hola (nombre del fan), ¿cómo va todo?",
        "Hi love, (your answer here) xx",
        "Error: 500 Internal Server Error. anyway, new set tonight",
        "field 'price_cents' must be positive, sorry babe",
        "Réponds en 1 à 3 phrases au fan : coucou toi",
        "Je te propose un set entre 800 et 4000 centimes",
        "item7 is my favourite this week",
        "I see you've spent $120 with me already, ready for more?",
    ],
)
def test_drafts_leaking_the_machinerys_shapes_block(text: str) -> None:
    report = check_draft(text, semantic=False)
    found = [f for f in report.findings if f.rule == "internal_leakage"]
    assert report.outcome == "block" and found, text
    assert all(f.span is not None for f in found)


@pytest.mark.parametrize(
    "text",
    [
        "my notes app is full of ideas for your custom lol",
        "une erreur de validation sur mon dossier, deux heures à la préfecture 🙄",
        "item number one on my wishlist: a ring light",
        "you spent so long on that message, I love it",
        "you're a whale of a guy lol, so generous with your time",
        "my rules for Sunday: no alarm, no makeup",
        "50 cents for a coffee in 1999, can you imagine",
        "(here's a little secret) I love Mondays",
    ],
)
def test_ordinary_drafts_that_share_a_word_with_the_shapes_pass(text: str) -> None:
    assert "internal_leakage" not in {f.rule for f in check_draft(text, semantic=False).findings}, text
