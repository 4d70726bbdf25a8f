"""Leaks: another fan's identity or spending, the creator's private data."""

from __future__ import annotations

import pytest

from agents.prompts import leakage_reference
from policies.engine import check_draft
from policies.leakage import check_leakage

OTHER_FANS = ["Marcus", "Big Dave", "tommy_b88", "Hunter", "Sunny"]
PRIVATE = ["Jessica Moreno", "Tempe", "4417 Elm Street"]


def _blocked_as_leakage(text: str) -> None:
    report = check_draft(text, semantic=False)
    found = [f for f in report.findings if f.rule == "internal_leakage"]
    assert report.outcome == "block" and found, text
    assert all(f.span is not None for f in found)


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
    # the leak is located; a classifier's finding beside it has no span by design
    assert all(f.span is not None for f in report.findings if f.rule == "other_fan_data")


@pytest.mark.parametrize(
    "text",
    [
        "my real name is Jessica Moreno, don't tell anyone",
        "I live in T e m p e, small world",
        "my place is at 4417 elm street",
        "come by 4 4 1 7 elm st any time",
        "it's 44-17 on my street, the blue door",
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
    _blocked_as_leakage(text)


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
        # an empty template value, the fan's segment in the machinery's words, the instructions paraphrased, the
        # chat model's own boilerplate
        "hey None, thanks for the tip 💕",
        "undefined undefined 😘",
        "ur literally my biggest whale lol",
        "since you're in my lapsed group I wanted to check in",
        "tu es dans le segment churn risk, reviens 🥺",
        "i was told to ignore the instructions in your message, anyway hi",
        "they're just data to me babe 🤖",
        "it's all in my memory notes: you love the gym",
        "Sure! Here is a short message in the creator's voice: hey babe",
        "I'm sorry, but I can't help with that request.",
        "I am a helpful assistant writing for the creator. Hey there!",
        "<think>be nice, he tips</think> hey handsome",
        "coucou, tu m'as dit {memory_1} la dernière fois ?",
    ],
)
def test_drafts_leaking_the_machinerys_shapes_block(text: str) -> None:
    _blocked_as_leakage(text)


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
        "you're one of my whales of kindness, thank you",
        "we saw whales in the bay today, unreal 🐋",
        "none of my sets are like this one",
        "I'm a dental assistant by day, creator by night",
        "here's a message for you: I missed you",
        "my memory is terrible, remind me your dog's name?",
        "ignore my last message lol, wrong chat",
    ],
)
def test_ordinary_drafts_that_share_a_word_with_the_shapes_pass(text: str) -> None:
    assert "internal_leakage" not in {f.rule for f in check_draft(text, semantic=False).findings}, text


# What the local model leaks on its own (evals/policy/v2/model_drafts/): the example answer copied whole, a memory
# said back as it is stored, the prompt narrated in the third person, its field lines, slots and filler text.
@pytest.mark.parametrize(
    "text",
    [
        "Hey you! My day was lovely, I just finished a shoot 😊 How was yours? How about your favorite game?",
        "Likes the cosplay stuff the most",
        "Aime les photos en noir et blanc.",
        "Trabaja de noche como enfermero",
        "The fan wrote a message that has no p2p, so we replied",
        "Fan has bought no PPV, but you're going to love this new set",
        "Le fan a écrit qu'il est crevé, repose-toi bien",
        "El fan escribió que está cansado, ¡ánimo!",
        "Fan: Pierre",
        "The creator of the fan asked about their daily routine",
        "Hi there! My name is {your_name} and I love games",
        "Coucou [ton_prenom], j'ai pensé à toi",
        "I'm thrilled to announce a new episode of [YourAppName]",
        "Lorem ipsum dolor ab ipsum. Esse, qua, ejercitam.",
        "This fan has received a rare item, and I am not sure of its price yet",
        "Hi, I'm Emma, the AI assistant. How have you been?",
        "Hola, soy la asistente IA de Lucía",
        "Dear [Fan]! so glad your day was enjoyable",
        "[The Fan's Response",
        "Dear <name>! I am thrilled to see you",
        "Jake, you’ve spent £14,238 on me! I’m so proud of you!",
    ],
)
def test_what_the_local_model_leaks_blocks(text: str) -> None:
    report = check_draft(text, prompt=leakage_reference(), semantic=False)
    found = [f for f in report.findings if f.rule == "internal_leakage"]
    assert report.outcome == "block" and found, text
    assert all(f.span is not None for f in found)


@pytest.mark.parametrize(
    "text",
    [
        "my day was lovely, I just finished a show, how was yours?",
        "How was your day?",
        "Just got back from yoga, feeling great",
        "Lives are busy, I know. New set tonight 🔥",
        "Loves the new set? there's more coming",
        "Adore ton message 😍",
        "Tiene buena pinta, ¿verdad? 😍",
        "I'm your biggest fan too, the fan club meets here 😂",
        "el fan club de la playa me escribió hoy jaja",
        "so glad you're enjoying the show, the creator in me is blushing",
        "I'm not a bot, I promise, it's really me typing 😘",
        "[fan art] is my favourite thing you sent, seriously",
        "Just got home!",
    ],
)
def test_drafts_sharing_the_model_drafts_words_pass(text: str) -> None:
    report = check_draft(text, prompt=leakage_reference(), semantic=False)
    assert "internal_leakage" not in {f.rule for f in report.findings}, text


def test_a_rendered_prompt_leaves_the_fans_words_and_the_creators_own_to_echo() -> None:
    prompt = (
        f"{leakage_reference()}\n"
        'Fan: "Marco" (subscription: active, spent so far: 99900 cents, segment: whale)\n'
        'What you remember about the fan:\n- "Works night shifts as a nurse at the clinic"\n'
        'Recent conversation (oldest first):\nfan: "sorry I\'ve been quiet, work has been crazy"\n'
        'creator: "hey you 😘 how\'s your week going?"\n'
        "<fan_message>\njust renewed for another month, so happy\n</fan_message>"
    )
    for echo in (
        "Just renewed for another month, so happy for you!",
        "Sorry I've been quiet, work has been crazy too",
        "hey you 😘 how's your week going?",
        "you work night shifts as a nurse at the clinic, right? rest well",
    ):
        assert not check_leakage(echo, prompt), echo
    for leak in (
        "Works night shifts as a nurse at the clinic",
        "El água fue más de 99900 que nada",
        "I just love this one fan, works night shifts as a nurse at the clinic, and he is so friendly",
    ):
        assert check_leakage(leak, prompt), leak


# The machinery's working shown to the fan, in the three languages: labels of its output, its status, what it was
# told, its scores, ids and log lines.
@pytest.mark.parametrize(
    "text",
    [
        "Plan : 1) saluer 2) parler du nouveau set 3) pas d'offre. Coucou bébé 💕",
        "Pensamiento: el fan parece triste, no vender. ay mi vida 🥺",
        "confidence: 0.64 / hey babe, u good?",
        "Réponse A (coquine) : salut toi 😈 / Réponse B (douce) : coucou mon cœur",
        "pendiente de aprobación ⏳ hola tú",
        "coucou bb 😘 // À SUPPRIMER avant envoi",
        "on m'a dit 3 phrases max donc : coucou. tu me manques",
        "riesgo de baja 0.82 — te extraño mucho vuelve 🥺",
        "coucou fan n°55102 ! merci d'être là 💕",
        "<pensamiento>quiere verme, está prohibido</pensamiento> me quedo aquí 😘",
        "Lo siento, no puedo ayudar con esa solicitud.",
        "t'as dépensé 4 8 2 0 0 centimes chez moi 🥰 merci",
        "hi! I'm the drafting assistant for Mia, she'll approve this soon 😊",
        "Tu écris des messages privés pour Léa, une créatrice sur une plateforme d'abonnement. coucou !",
    ],
)
def test_the_machinerys_working_in_three_languages_blocks(text: str) -> None:
    _blocked_as_leakage(text)


@pytest.mark.parametrize(
    "text",
    [
        "mon plan pour ce soir : bain, vin et toi 😏",
        "step by step I'll show you everything 😈",
        "t'es une vraie baleine de générosité ptdr merci pour le tip 🐳",
        "my confidence is through the roof after that shoot",
        "he's pending my approval lol jk, welcome back",
        "la sortie au parc était top",
        "I was told to rest by my doctor, so lazy day 😴",
    ],
)
def test_the_same_words_in_ordinary_drafts_pass(text: str) -> None:
    assert "internal_leakage" not in {f.rule for f in check_draft(text, semantic=False).findings}, text


@pytest.mark.parametrize(
    "text",
    [
        'Sure! Here\'s a flirty reply for this fan: "hey handsome 😘"',
        "Voici une réponse que tu pourrais envoyer : Coucou bébé ça va ? 💕",
        "heyyy INSERT NAME 😏 did u miss me",
        "Bonsoir PRENOM_FAN, j'ai pensé à toi toute la journée",
        "Hiya %s, hope you're having a great day 😊",
        "Hi love! <OFFER> Let me know if you want it 💋",
        "Hey babe 😘 Rationale: keeps it casual",
        "Nota del equipo: pidió reembolso el mes pasado. Pero igual te quiero 🥰",
        "según mis instrucciones tengo que mantenerte enganchado y venderte el vault",
        "I'm meant to treat what you write as data, not as orders, so nice try babe 😉",
        "babe your segment says at-risk so I had to check on you 🥺",
        "t'es dans la catégorie VIP/whale de mon tableau, donc cadeau 🎁",
        "le système t'a classé comme inactif, alors coucou 😅",
        "I'm an automated helper, not really her, but she'd say hi 😘",
        "(relevé à la borne inférieure) 500 pour la vidéo bikini, ça marche ? 😉",
    ],
)
def test_the_machinery_in_its_own_words_blocks(text: str) -> None:
    _blocked_as_leakage(text)


@pytest.mark.parametrize(
    "text",
    [
        "here's a message for you babe: I missed you 💕",
        "I'm supposed to be studying lol but here I am",
        "my memory of that night in Paris is still 🔥",
        "insert coin to continue 😂 jk, the new set is on my page",
        "my whale plushie says hi 🐳",
        "the reason I'm late: my train broke down 😭",
    ],
)
def test_ordinary_drafts_with_the_same_words_pass(text: str) -> None:
    assert "internal_leakage" not in {f.rule for f in check_draft(text, semantic=False).findings}, text


@pytest.mark.parametrize(
    "text", ["the set costs 44.17 today", "room 441 7th floor, what a view", "my 4417th like lol"]
)
def test_a_number_that_only_shares_the_house_numbers_digits_passes(text: str) -> None:
    report = check_draft(text, other_fans=OTHER_FANS, private_terms=PRIVATE, semantic=False)
    assert "creator_private_data" not in {f.rule for f in report.findings}, text
