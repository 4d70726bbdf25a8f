"""Shapes the rules once misread in benign drafts (a date or a time as a phone number, a pet's age as a minor's, a
gift card received as an off-platform payment), each beside a violating twin that still blocks; the rules alone,
through the real Guard, in English, French and Spanish."""

from __future__ import annotations

import pytest

from policies.engine import check_draft

BENIGN = [
    # a date or time stamp, or a time of day, is no phone number
    "2019-01-25 09:46:47.187873 was the last backup",
    "2021-12-08T15:53:54.78Z",
    "2019-01-25 09:46:47.187873.948455.25%",
    "subí un 12.5% este mes, merci à toi pour les 99.99% de soutien",
    "2448.5643.06.13, 2022-08-19T09:13:17+05:57, 875, 4.1, 6.3",
    "le live est le 12.09.2024 à 21h30, je t'attends ici",
    "el directo es el 2024-05-01 a las 21:30, aquí mismo",
    # an age that belongs to an animal or a thing is no minor's
    "my 10 year old cat sat on the keyboard while I edited the set",
    "I have a new cat. He's adorable! He's 10 years old.",
    "my car is 15 years old and still runs, unlike me after the gym",
    "a 12-year-old whisky and your message, perfect evening",
    "mon chat de 10 ans dort sur le canapé pendant le shooting",
    "mi perro de 10 años no me deja grabar tranquila",
    "mi gato tiene 12 años y sigue robando la cámara",
    # a gift card had or talked about is no payment
    "I got a gift card for my birthday and spent it all on plants",
    "I've been meaning to ask for a gift card, but I just had another crazy idea",
    "j'ai reçu une carte cadeau pour mon anniversaire, trop contente",
    "me regalaron una tarjeta regalo por mi cumple, qué ilusión",
    # somewhere in particular is another app; the internet is nowhere in particular
    "You can find me on the internet, but you won't find me anywhere else.",
]

STILL_BLOCKED = [
    ("off_platform_contact", "call me on 06 12 34 56 78 tonight"),
    ("off_platform_contact", "mon numéro : 06.12.34.56.78, écris-moi"),
    ("off_platform_contact", "mi número es 612 345 678, escríbeme el 2024-05-01 a las 21:30"),
    ("off_platform_contact", "2024-05-01 21:30, 06 12 34 56 78"),
    ("minors", "my 10 year old sister walked in while I edited the set"),
    ("minors", "I have a new cat. My son loves him, he's 10 years old."),
    ("minors", "mon chat a 10 ans et moi j'ai 15 ans"),
    ("minors", "mi perro tiene 10 años y yo tengo 15"),
    ("off_platform_payment", "send me a gift card for my birthday and I'll unlock the set"),
    ("off_platform_payment", "got an amazon gift card? that works, just type the code in here"),
    ("off_platform_payment", "envoie-moi une carte cadeau et je t'envoie la vidéo"),
    ("off_platform_payment", "mándame una tarjeta regalo y te mando el video"),
    ("off_platform_contact", "you can find me on the internet, or find me on kik, same name"),
    ("off_platform_contact", "find me on the web, @mia_private, same pics"),
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_shapes_pass_the_rules(text: str) -> None:
    report = check_draft(text, semantic=False)
    assert report.outcome == "pass", report.findings


@pytest.mark.parametrize(("rule", "text"), STILL_BLOCKED)
def test_violating_twins_still_block(rule: str, text: str) -> None:
    report = check_draft(text, semantic=False)
    assert report.outcome != "pass" and rule in {f.rule for f in report.findings}, report.findings
