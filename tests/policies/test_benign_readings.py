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
]

STILL_BLOCKED = [
    ("off_platform_contact", "call me on 06 12 34 56 78 tonight"),
    ("off_platform_contact", "mon numéro : 06.12.34.56.78, écris-moi"),
    ("off_platform_contact", "mi número es 612 345 678, escríbeme el 2024-05-01 a las 21:30"),
    ("off_platform_contact", "2024-05-01 21:30, 06 12 34 56 78"),
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_shapes_pass_the_rules(text: str) -> None:
    report = check_draft(text, semantic=False)
    assert report.outcome == "pass", report.findings


@pytest.mark.parametrize(("rule", "text"), STILL_BLOCKED)
def test_violating_twins_still_block(rule: str, text: str) -> None:
    report = check_draft(text, semantic=False)
    assert report.outcome != "pass" and rule in {f.rule for f in report.findings}, report.findings
