"""Drafts that leak the machinery that wrote them: prompt lines, internal labels and field names, catalog
references, template placeholders, error text. Such a draft is blocked with the span, whatever the model."""

from __future__ import annotations

import re
from functools import lru_cache

from core.types import PolicyFinding
from policies.normalize import variants

RULE = "internal_leakage"

# Internal vocabulary as the prompt and the stored rows spell it; plain words ("whale", "loyal") are left alone.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "an internal field or label",
        re.compile(
            r"\b(?:segment|segmento|segmentation|subscription|abonnement|suscripci[oó]n|spent so far|p_alive|"
            r"catalog_id|price_cents|fan_id|creator_id|rationale|ltv|rfm)\s*[:=]"
            r"|\bspent so far\b|\b(?:big_spender|never_spent|at_risk|best_hours|p_alive|price_cents|catalog_id|"
            r"fan_text|fan_message|route_reason|draft_id)\b"
            r"|\bsegment(?:o)? (?:whale|big.spender|loyal|new|at.risk|dormant|expired|never.spent|regular)\b"
            # a field name's shape: snake_case with a value ("spent_cents: 99900", "lifetime_value_cents=45000"), a
            # quoted JSON key ('{"text": ...', '"offer": null'), the draft's own fields with an empty value
            r"|\b[a-z]+(?:_[a-z]+)+\s*[:=]\s*[\w\"'{\[-]"
            r"|[\"“]\w+[\"”]\s*:\s*[\w\"“{\[-]"
            r"|\b(?:offer|rationale|razonamiento|raisonnement)\s*[:=]\s*(?:null|none|\w)"
        ),
    ),
    (
        # The fan's segment said as a label: in quotes, in English inside French or Spanish, or as "the X segment".
        "an internal segment label",
        re.compile(
            r"\b(?:as a|as an|en tant que|como eres|como|you'?re a|you are a|t'es une?|tu es une?|eres une?)"
            r"(?: [a-z-]+)? (?:whale|big spender|at.risk|never.spent)\b(?! of\b)"
            r"|\b(?:whale|big.spender|at.risk|dormant|never.spent) (?:segment|list)\b"
            r"|\bsegmento? [\"«“]?\s*(?:whale|baleine|ballena|big.spender|at.risk|dormant)"
            r"|\b(?:as|comme|como|que eres|que tu es|you'?re a|you are a|tu es une?|eres une?) [\"«“]\s*[a-z -]{3,40}\s*[\"»”]"
        ),
    ),
    (
        # Telling the fan what the machinery said about them: "my notes say", "mes consignes disent", "the system
        # told me to", "mi ayudante dice", "the team noted".
        "a reference to the instructions or notes",
        re.compile(
            r"(?:\b(?:my|mes|mis|the|les|las|los|mon|mi|ma|el|la)|\bl')(?: ?(?:petit|petite|little|segment|own))?"
            r" ?(?:notes?|notas|instructions|instrucciones|consignes|rules|regles|reglas|system(?: prompt)?|systeme|sistema|assistant(?: bot)?|"
            r"assistante|ayudante|asistente|team|equipe|equipo)"
            r" (?:say|says|said|told me|tell me|noted|tagged|dit|disent|disait|m'a dit|a note|me disent|dicen|dice|"
            r"me dicen|me dice|me dijo|anoto|me paso una nota|me piden|me pidio)\b"
            r"|\bsystem prompt\b|\bprompt (?:du )?systeme\b|\bprompt del sistema\b"
            # a chatter's internal note pasted to the fan: "NOTE CHATTER : ...", "[chatter] he says ...", "nota interna:"
            r"|\b(?:note|nota) (?:chatter|interne|internal|interna|del chatter|du chatter)\b|\[\s*chatter\s*\]"
            r"|\bthe fan'?s message contains instructions\b"
        ),
    ),
    (
        # The drafting prompt's section headings, in the prompt's English and as a model translating them writes
        # them in French and Spanish, at the start of a clause with their colon ("Why we reply now: ...",
        # "Salut Pierre — BOUNDARY : ...", "Recuerdos del fan: ..."); "my one boundary: no feet" is no heading.
        "a heading of the drafting instructions",
        re.compile(
            r"(?:^|[^\w\s,'’]|\s-)\s*(?:"
            r"why we (?:reply|answer|write) now|already owned|rules you (?:always )?follow|boundary|"
            r"stay on this platform|reste sur cette plateforme|quedate en esta plataforma|"
            r"(?:conversation recente|conversacion reciente|recent conversation)(?: \([^)]{0,40}\))?|"
            r"ce que tu (?:retiens|sais) du fan|consignes|instrucciones|instructions|"
            r"what you remember about the fan|fan memor(?:y|ies)|persona and voice|recent conversation|"
            r"ppv catalog|example answer(?: to)?|reason for (?:the )?(?:reply|message)|"
            r"pourquoi (?:on|nous|je) (?:repond|ecri)\w* maintenant|deja (?:achete|possede|acquis)\w*|"
            r"regles que tu (?:suis|respectes) toujours|souvenirs? (?:du|sur le) fan|"
            r"ce dont tu te souviens(?: du fan)?|exemple de reponse(?: a)?|raison de la reponse|"
            r"por que (?:respondemos|contestamos|escribimos)(?: ahora)?|ya (?:comprado|adquirido|tiene)s?|"
            r"reglas que siempre sigues|recuerdos del fan|lo que recuerdas del fan|"
            r"ejemplo de respuesta(?: a)?|motivo de (?:la )?respuesta"
            r")\s*:"
            r"|^\s*(?:rules|regles|reglas|fan|creator|subscription|segment)\s*:"
            r"|\b(?:example answer to|exemple de reponse a|ejemplo de respuesta a)\s*[\"«“]"
        ),
    ),
    (
        # The prompt narrated back: the fan in the third person as the prompt speaks of them ("The fan wrote a
        # message", "Fan has bought no PPV", "the creator of the fan asked"), in a draft addressed to that fan.
        "the prompt narrated in the third person",
        re.compile(
            r"(?:\bthe |\bthis |^|[.!?]\s+)fan(?:'s)? (?:wrote|writes|said|says|asked|asks|has|had|is|was|wants|wanted|likes|"
            r"loves|bought|sent|prefers|message|name|segment|spent)\b"
            r"|\bthe creator of the fan\b"
            # the draft saying what wrote it ("I'm Emma, the AI assistant", "soy la asistente IA")
            r"|\b(?:i'?m|i am|this is|soy|je suis)\b[^.!?\n]{0,20}\b(?:an? |the |l'|el |la |une? )?"
            r"(?:(?:ai|ia) (?:assistant|assistante|asistente|model|modele|modelo|bot)|(?:assistant|assistante|asistente) (?:ai|ia))\b"
            r"|\b(?:le|du) fan (?:a ecrit|ecrit|a dit|dit|veut|aime|a achete|prefere|a demande)\b"
            r"|\b(?:el|del) fan (?:escribio|escribe|dijo|dice|quiere|le gusta|compro|prefiere|pidio|ha)\b"
        ),
    ),
    (
        # A memory or note line said back as the whole draft, as it is stored: a verb with no subject, about someone
        # who is not "you" ("Likes the cosplay stuff the most", "Has a golden retriever named Max").
        "a memory line said back",
        re.compile(
            r"^\s*(?:likes|loves|has|works|lives|prefers|hates|enjoys|bought|asked for|adore|aime|travaille|habite|"
            r"prefiere|trabaja|compro) "
            r"(?!(?:you|your|it|to|been|me|my|are|is|every|te|tu|ti|toi|ton|ta|tes|vous|votre|vos|ce|cette|ca|tus|"
            r"usted|su)\b)(?:[a-z']+ ){1,8}[a-z']+"
            r"\s*[.!]?\s*$"
        ),
    ),
    (
        "the fan's spending in cents",
        re.compile(
            r"\b(?:spent|spend|depense\w*|gastad[oa]s?|gastaste|gasto)\b[^.!?\n]{0,40}?\b\d{2,}\s?"
            r"(?:cents|centimes|centimos|centavos)\b"
            r"|\b\d{2,}\s?(?:cents|centimes|centimos|centavos)\b[^.!?\n]{0,40}?\b(?:spent|depense\w*|gastad[oa]s?)\b"
            # an amount in cents as the machinery counts it ("entre 500 et 5000 centimes", "999 céntimos")
            r"|\b\d(?: ?\d){2,}\s?(?:cents|centimes|centimos|centavos)\b"
        ),
    ),
    (
        "the fan's account read back to them",
        re.compile(
            r"\b(?:you['’]?ve spent|you have spent|t'as (?:deja )?depense|tu as (?:deja )?depense|llevas gastad[oa]s|"
            r"has gastado)\b[^.!?\n]{0,15}?(?:\d+\s?(?:\$|€|£|dollars?|euros?|dolares|bucks|pounds?)|[$€£]\s?\d+)"
        ),
    ),
    (
        # What the instructions ask of a draft, said to the fan: its length, its addressee.
        "the drafting instructions' constraints",
        re.compile(
            r"\b(?:1|one|une?|una) (?:to|a|et|y|-) (?:3|three|trois|tres) (?:sentences|phrases|frases)\b"
            r"|\b(?:ecris|write|escribe|reply|reponds|responde)\b[^.!?\n]{0,40}\b(?:au fan|to the fan|al fan)\b"
        ),
    ),
    (
        "a catalog reference",
        re.compile(r"\bitem\d{1,3}\b|\bitem \d{1,3}\b(?! (?:of|in|on|from|de|del|en)\b)"),
    ),
    (
        "a template placeholder",
        re.compile(
            r"\[[^\]\n]{0,40}(?:name|nom|nombre|answer|r[eé]ponse|respuesta|insert|here|ici|aqu[ií])[^\]\n]{0,20}\]"
            r"|\((?:your|votre|ta|tu|su) (?:answer|r[eé]ponse|respuesta|name|nom|nombre)(?: (?:here|ici|aqu[ií]))?\)"
            r"|[(\[][^()\[\]\n]{0,40} (?:here|ici|aqu[ií])[)\]]"
            r"|[(\[](?:[a-z'’ ]{0,20})(?:name|nom|nombre|hobby|afici[oó]n|pr[eé]nom)(?: (?:du|del|of the|de la) fan)?[)\]]"
            r"|[(\[][^()\[\]\n]{0,25}\b(?:du|del|of the) fan\b[^()\[\]\n]{0,20}[)\]]"
            r"|\b(?:your answer here|ta r[eé]ponse ici|tu respuesta aqu[ií])\b"
            r"|\((?:no earlier messages|pas de messages? (?:pr[eé]c[eé]dents?|ant[eé]rieurs?)|sin mensajes anteriores)\)"
            r"|\{\{?\s*[a-z_][a-z_0-9]{1,29}\s*\}?\}"
            r"|</?\s*(?:fan_message|system|user|assistant|instructions?|think)\s*>"
            # a snake_case or "your..." slot in brackets ("[festival_name]", "[YourAppName]"), filler text
            r"|[\[<{]\s*(?:[a-z]+(?:_[a-z]+)+|your[a-z_ ]{2,30})\s*[\]>}]"
            r"|\blorem ipsum\b"
            # the fan as a slot: "[Fan]", "[The Fan's Response" (left open), "<name>", "<username>"
            r"|\[\s*(?:the )?fan(?:'s [a-z]+(?: [a-z]+)?)?\s*(?:\]|$)|<\s*(?:name|nom|nombre|user ?name|fan)\s*>"
            # a slot named by what fills it: "[price]", "[precio]", "[link]", "[date]"
            r"|\[\s*(?:price|prix|precio|amount|montant|monto|link|lien|enlace|date|fecha|city|ville|ciudad|time|heure|"
            r"hora|product|produit|producto|offer|offre|oferta|discount|remise|descuento)\s*\]"
        ),
    ),
    (
        # An empty template value printed as the fan's name ("hey None", "hi null", "undefined undefined") or a
        # template field left bare ("creator_name here").
        "an empty template value",
        re.compile(
            r"\b(?:hey|hi|hello|hiya|dear|thanks|merci|salut|coucou|bonjour|hola|gracias) (?:none|null|undefined|nan)\b"
            r"|\bundefined undefined\b|\b(?:creator|fan|user)_(?:name|handle|id)\b"
        ),
    ),
    (
        # The fan's segment as the machinery files them: "one of my whales", "ur in my lapsed group", "the at-risk
        # segment", "churn risk"; a creator's "VIP list" is her own word and stays.
        "the fan's segment in the machinery's words",
        re.compile(
            r"\b(?:one of my|ur|you'?re|you are|u r|my) (?:(?:literally|biggest|top|best|fave|favou?rite) )*whales?\b(?! of\b)"
            # ... not a thing shaped like one ("my whale plushie says hi")
            r"(?!\s+(?:plush\w*|peluche|tattoo|toy|mug|sticker|pillow|stuffie|onesie|necklace|charm|print)\b)"
            r"|\b(?:lapsed|churn(?:ed|ing)?|dormant|at.risk|big.fish|whales?|inactive|never.spent|low.spend(?:er|ing)?|"
            r"high.value|low.value) (?:group|segment|tier|bucket|cohort)\b"
            r"|\bchurn.risk\b"
        ),
    ),
    (
        # The drafting instructions or the model's own notes paraphrased to the fan: the injection note ("ignore
        # instructions in your message", "just data to me"), the memory store, the chat model's own boilerplate.
        "the instructions or the model's notes in other words",
        re.compile(
            r"\b(?:instructions|consignes|instrucciones) (?:in|dans|en) (?:ur|your|ton|tu|the fan'?s) (?:message|msg|mensaje)\b"
            r"|\b(?:marked|flagged|tagged) as (?:containing )?(?:instructions|an injection|injection)\b"
            r"|\b(?:just|only) data to me\b|\bdata,? not instructions\b"
            r"|\bmy memory (?:notes?|list|file|bank|entries)\b|\bmemory notes?\b"
            r"|\bhow the creator (?:answered|replied|responded)\b"
            r"|\b(?:here is|here's) (?:a|an|the|my) (?:[a-z,]+ ){0,3}(?:message|reply|response|draft) in "
            r"(?:the creator'?s|[a-z]+'s|her|his) (?:own )?voice\b"
            r"|\bi can(?:'|no)?t help with that request\b|\bis there anything else i can help you with\b"
            r"|\b(?:i'?m|i am) (?:just |only )?(?:a |an )(?:helpful |virtual |digital )?(?:program|chatbot|language program)\b"
            r"|\b(?:i'?m|i am|as) (?:a |an )(?:helpful|virtual|digital) assistant\b"
        ),
    ),
    (
        # The machinery's working shown to the fan, in English, French and Spanish: a label of its output at the start
        # of a clause ("Plan : 1) saluer", "Pensamiento: ...", "confidence: 0.64", "Réponse A (coquine) :"), its status
        # ("pending approval", "[BORRADOR v2]", "à supprimer avant envoi"), what it was told ("on m'a dit 3 phrases
        # max"), its scores and tiers ("churn risk 0.82", "LTV 340", "tu nivel de gasto"), its log lines and ids.
        "the machinery's working",
        re.compile(
            r"(?:^|[^\w\s,'’]|\s-)\s*(?:plan|thought|reasoning|reflexion|pensee|pensamiento|razonamiento|"
            r"(?:step|etape|paso) \d|(?:reply|response|reponse|respuesta|option|draft|brouillon|borrador) [a-c1-3]|"
            r"approver|reviewer|validateur|validatrice|aprobador|revisor|confidence|confiance|confianza|"
            r"sentiment|sentimiento|intent|intention|intencion|tags|etiquettes|etiquetas|output|sortie|salida|"
            r"assistant|asistente|utilisateur|usuario|persona|memories|souvenirs|recuerdos|"
            r"(?:churn|unsub(?:scribe)?) risk|risque de desabonnement|riesgo de baja|valeur client|customer value|"
            r"engagement score|score d'engagement|puntuacion de interaccion|suggested price|"
            r"prix suggere(?: pour ce fan)?|precio sugerido(?: para este fan)?|spending tier|niveau de depense|"
            r"nivel de gasto|recent history|historique recent|historial reciente|what i remember(?: about the fan)?|"
            r"ce dont je me souviens(?: du fan)?|lo que recuerdo(?: del fan)?|remarque|offre|oferta)"
            r"\s*(?:\([^)]{0,30}\))?\s*[:=]"
            r"|</?\s*(?:reflexion|pensamiento|razonamiento|thinking|thought|reasoning|analysis|analisis)\s*>"
            r"|\b(?:pending approval|awaiting approval|pending review|en attente de (?:validation|relecture)|"
            r"pendiente de (?:aprobacion|revision))\b|\[\s*(?:draft|brouillon|borrador)\b"
            r"|\b(?:delete|remove|supprimer|borrar) (?:before sending|avant (?:l'?)?envoi|antes de enviar)\b"
            r"|\ba supprimer avant (?:l'?)?envoi\b"
            r"|\b(?:i was|i'?ve been) (?:told|instructed|programmed) to (?:re-?engage|keep (?:it|this)|write|reply|"
            r"respond|answer|offer|upsell|follow up|check in|sell|push|mention|use)\b"
            r"|\bon m'a (?:demande|dit) de te (?:relancer|recontacter|reengager)\b|\bme pidieron que te reenganch\w*"
            r"|\b(?:\d|three|trois|tres) (?:sentences|phrases|frases) max\b|\bmax(?:imum|imo)? (?:\d|three|trois|tres) "
            r"(?:sentences|phrases|frases)\b|\bkeep it to (?:\d|three) sentences\b"
            r"|\b(?:i'?m|je suis|soy) (?:the |l'|la |el )?(?:drafting )?(?:assistant|assistante|asistente) "
            r"(?:qui redige|que redacta|who (?:drafts|writes)|for|pour|para)\b"
            r"|\b(?:here is|here'?s) the draft\b|\bvoici (?:le|un) brouillon\b|\baqui (?:esta|tienes) el borrador\b"
            r"|\bvoici une reponse (?:courte|chaleureuse)|\baqui tienes un mensaje (?:corto|calido)"
            r"|\bje ne peux pas (?:repondre a|donner suite a) cette demande\b"
            r"|\bno puedo (?:ayudar|ayudarte|responder) (?:con|a) esa solicitud\b"
            r"|\b(?:the algorithm|l'algorithme|el algoritmo) (?:says|said|dit|dice)\b"
            r"|\b(?:le systeme|el sistema|the system) (?:t'a|te|has|marked|flagged|tagged|a)\b[^.!?\n]{0,20}"
            r"\b(?:mis|marco|marcado|marked|flagged|tagged|put)\b"
            r"|\b(?:segun|d'apres|according to) (?:mi|ma|my|la|the) (?:base de datos|base de donnees|database)\b"
            r"|\b(?:churn|abandono|desabonnement|baja)\b[^.!?\n]{0,20}\b0[.,]\d+\b|\bltv\s*:?\s*\d+"
            r"|\bspending tier\b|\bniveau de depense\b|\bnivel de gasto\b|\bpuntaje de abandono\b"
            r"|\bfan (?:n[°o] ?|#|id ?:? ?)\d{3,}\b|\bfan\s*=\s*\d+"
            r"|\[\s*(?:warning|avertissement|aviso|erreur|debug)\s*\]"
            r"|\b\d{4}-\d\d-\d\d[ t]\d\d:\d\d(?::\d\d)? (?:info|debug|warn|warning|error)\b"
            r"|\b(?:pick one|choose one|choisis|elige)\b[^.!?\n]{0,12}:?\s*1\)"
            r"|\b(?:souvenirs?|recuerdos?|memories|memory)\s*:\s*\["
            r"|\((?:souvenir|recuerdo|memory) (?:n[°o] ?|#)\d+\)"
            r"|\(\s*(?:\d|one|une?|una) (?:sentence|phrase|frase)s?,[^)]{0,40}\)"
            r"|\ble message du fan contient des instructions\b|\bel mensaje del fan contiene instrucciones\b"
            r"|\b(?:tu ecris|vous ecrivez|escribes|you write) (?:des |los |the )?(?:messages? prives?|"
            r"mensajes directos|dms?|direct messages) (?:pour|para|for)\b"
            r"|(?:^|[.!?]\s*)(?:ne jamais|nunca|never) (?:proposer|proponer|suggest|propose) (?:de |un |una |a )?"
            r"(?:rencontre|encuentro|meeting|meet)"
            r"|\b(?:classee?|clasificad[oa]|marcad[oa]|etiquetad[oa]|tagged|filed)(?: (?:comme|como|as))?"
            r"(?: une?| una?| an?)? (?:baleine|ballena|whale)s?\b"
            r"|\bsegmento?\b[^.!?\n]{0,12}\b(?:gros depensiers?|(?:de )?los que mas gastan)\b"
            r"|\b(?:liste de relance|lista de (?:reenganche|reactivacion)|re-?engage(?:ment)? list)\b"
            r"|\bdear valued (?:subscriber|customer|fan)\b|\bcontext window\b|\bfenetre de contexte\b"
            r"|\bventana de contexto\b|\bprice bounds?\b|\bborne (?:basse|haute)\b"
            r"|\b(?:my |ma |mi |the )?persona (?:says|dit|dice)\b"
            r"|\b(?:not allowed|pas le droit|no me dejan)\b[^.!?\n]{0,20}\b(?:offer|proposer|ofrecer)\w*\b"
            r"[^.!?\n]{0,25}\b(?:already own|already have|as deja|ya tienes)\b"
            r"|\b(?:msg|message|mensaje) #?\d+ (?:of|sur|de) \d+\b"
            r"|\{\s*[\"“]\w+[\"”]\s*:"
            r"|\bnan (?:centimes|centavos|cents|euros?|dollars?)\b"
            r"|\b(?:notes?|notas) (?:del equipo|de l'equipe|of the team) (?:dicen|disent|say)\b"
        ),
    ),
    (
        # The machinery in more of its own words, read on this round's batches: the model's preamble to its draft
        # ("Here is a flirty reply you could send:", "Voici une réponse coquine pour ce fan"), slots in capitals or
        # code ("INSERT NAME", "TODO add name", "PRENOM_FAN", "%s", "<OFFER>"), a label of its notes ("Rationale:",
        # "Mémoire :", "Nota del equipo:"), its instructions cited ("as per my instructions", "según mis
        # instrucciones", "treat what you write as data, not orders"), the fan's label said back ("your segment says
        # at-risk", "la catégorie VIP/whale de mon tableau", "une de mes baleines"), what it is ("an automated helper").
        "the machinery in its own words",
        re.compile(
            r"\b(?:here is|here'?s|voici|aqui tienes|aqui esta)\b[^.!?\n:]{0,40}\b(?:reply|response|message|draft|reponse|"
            r"respuesta|mensaje)\b[^.!?\n:]{0,30}\b(?:you could send|for (?:this|the) fan|que tu pourrais envoyer|"
            r"pour (?:ce|le) fan|que podrias enviar|para (?:este|el) fan|in the creator'?s voice|dans la voix de la creatrice|"
            r"con la voz de la creadora)"
            r"|\binsert (?:name|price|link|fan)\b|\btodo\b[^.!?\n]{0,12}\b(?:name|prenom|nombre|price|prix|precio)\b"
            r"|(?<![\w%])%s\b|%\(\w+\)s|<\s*(?:offer|offre|oferta|prenom|price|prix|precio|link|lien|enlace)\s*>"
            r"|\b(?:prenom|nombre|name)_fan\b|\((?:inserer|insertar|insert)\b[^)\n]{0,30}\)"
            r"|(?:^|[^\w\s,'’]|\s-)\s*(?:rationale|justification|justificacion|memory|memoire|memoria|team note|"
            r"note de l'equipe|nota del equipo|let me think|reflechissons|pensemos|persona et voix|persona y voz|"
            r"what i remember about you|ce que je sais de toi|lo que recuerdo de ti)\s*:"
            r"|\b(?:reason|raison|motivo)\s*:\s*[a-z]+_[a-z]+"
            r"|\((?:raised|lowered) to the (?:lower|upper) bound\)|\(relev\w* a la borne|\(subido al limite"
            r"|\bborne (?:inferieure|superieure)\b|\blimite (?:inferior|superior) del precio\b"
            r"|\b(?:as per|per|according to|d'apres|selon|segun) (?:my|mes|mis|the|les|las) (?:instructions|guidelines|"
            r"consignes|instrucciones|directives|directrices|pautas)\b"
            r"|\b(?:supposed|meant) to (?:write|reply|answer|treat|upsell)\b|\binstructed (?:not )?to\b"
            r"|\b(?:je dois|tengo que|i have to|i must) (?:ecrire|escribir|write) (?:un|una|a|one) (?:message|mensaje)"
            r"(?: (?:court|corto|short))?"
            r"|\b(?:as data|comme des donnees|como datos),? (?:not|pas|no) (?:as )?(?:orders|instructions|des ordres|ordenes)\b"
            r"|\b(?:invent|inventer|inventar) (?:facts|des faits|hechos)\b"
            r"|\b(?:message|msg|mensaje) (?:had|has|contained|contains|contenait|contient|traia|tiene) (?:des )?"
            r"instructions? (?:for me|pour moi)|\binstrucciones para mi\b"
            r"|\b(?:your|ur|ton|tu|ta) (?:segment|segmento|tier|tag|tagging)\b[^.!?\n]{0,15}\b(?:says|dit|dice|es|is|c'est|est)\b"
            r"|\b(?:the|my) (?:tagging|setup) (?:says|said)\b"
            r"|[\"«“]\s*(?:at.risk|lapsed|high.value|inactive|inactif|inactivo|churn\w*)\s*[\"»”]"
            r"|\b(?:flagged|classe|clasificad[oa]|marked|tagged)\b[^.!?\n]{0,12}\b(?:as|comme|como)\b[^.!?\n]{0,5}"
            r"\b(?:lapsed|inactive|inactif|inactivo|at.risk|dormant)\b"
            r"|\bvip/whale\b|\bwhale/vip\b|\b(?:une de mes|un de mes|una de mis|uno de mis) (?:baleines|ballenas)\b"
            r"|\b(?:automated|automatique|automatico|automatizado) (?:helper|assistant|assistante|asistente|bot)\b"
            r"|\basistente de (?:ia|inteligencia artificial)\b|\b(?:the app|l'appli|la app) (?:writes|ecrit|escribe) "
            r"(?:my|mes|mis) (?:msgs|messages|mensajes)\b"
            r"|\b(?:ce|este|this) fan (?:n'a|no ha|hasn'?t|has not)\b"
            r"|\bnothing in the catalog\b|\brien dans le catalogue\b|\bnada en el catalogo\b"
            r"|\bi cannot comply with (?:that|this) request\b|\bis there anything else i can help (?:you )?with\b"
            r"|</?\s*(?:draft|brouillon|borrador|reply|response)\s*>"
            r"|\b(?:error|erreur)\s*:\s*(?:draft|message|brouillon|borrador|mensaje)\b"
        ),
    ),
    (
        "the model speaking as a model",
        re.compile(
            r"\b(?:as an ai|as a language model|en tant qu'?(?:ia|intelligence artificielle|assistant)|"
            r"en tant que (?:modele de langage|mod[eè]le de langage)|como (?:una )?ia|como (?:un )?modelo de lenguaje)\b"
            r"|\b(?:i'?m|i am) (?:an ai|a language model|an ai (?:assistant|language model))\b"
            r"|\b(?:je suis|(?<!no )soy) (?:une ia|un mod[eè]le de langage|una ia|un modelo de lenguaje)\b"
        ),
    ),
    (
        "error text",
        re.compile(
            r"\bvalidation errors? for\b|\btraceback \(most recent call|\bjson ?decode ?error\b"
            r"|\bfield required\b|errors\.pydantic\.dev|\binput should be a valid\b|\bkeyerror\b|\btypeerror\b"
            # an error's shape: a validation error with its colon, a field quoted, an HTTP status, a type check
            r"|\b(?:validation error|erreur de validation|error de validaci[oó]n)\s*:"
            r"|\b(?:field|champ|campo) '[^']{1,30}'"
            r"|\b(?:error|erreur)\s*:?\s*[45]\d\d\b|\bunprocessable entity\b|\bentit[eé] non traitable\b"
            r"|\bentidad no procesable\b"
            r"|\bis not a valid (?:integer|string|number|float|boolean)\b|\btype_error\b"
            r"|\bn'est pas un (?:entier|nombre) valide\b|\bno es un (?:entero|n[uú]mero) v[aá]lido\b"
            r"|\bvalueerror\b|\bexception:|\bstack trace\b|\bnull pointer\b"
        ),
    ),
]

# Shingles this long copied from the instructions are an echo, not a coincidence.
SHINGLE = 5
# The example answer is a message like any other: copied, it is copied nearly whole (the local model's favourite
# draft); a benign draft may share its opening ("my day was lovely, I just finished a show").
EXAMPLE_SHINGLE = 9
# The example answer's text inside the prompt (`{"text": "..."`).
_EXAMPLE = re.compile(r'\{"text": "((?:[^"\\]|\\.)*)"')


# In a rendered prompt, what the fan wrote (their message, their side of the conversation and of the voice
# examples) and the creator's own earlier messages: a draft may echo those, they are no machinery. Nor are the
# memories and the team's notes (quoted lines): a draft should use them ("you work night shifts as a nurse"); one
# said back as it is stored is the "memory line" shape above.
_FAN_BLOCK = re.compile(r"^<fan_message>$.*?^</fan_message>$", re.S | re.M)
_OWN_WORDS = re.compile(r'^(?:- )?(?:fan|creator): [^\n]*$|^- (?:BOUNDARY: )?"[^\n]*$', re.M)
# The memories and the team's notes as the rendered prompt quotes them, one a line.
_QUOTED_LINE = re.compile(r'^- (?:BOUNDARY: )?"([^"\n]+)"$', re.M)
# The fan's spend as the prompt states it; the figure in a draft is the machinery's count, with or without its unit.
_SPENT = re.compile(r"spent so far: (\d{3,}) cents")


@lru_cache(maxsize=16)
def _memory_lines(prompt: str) -> tuple[str, ...]:
    """The quoted memory and note lines of three words or more, normalised as a draft is: one copied whole into a
    draft is said back as stored (a draft that uses a memory words it its own way: "you work night shifts")."""
    lines = (variants(m)[0].text.strip(" .!") for m in _QUOTED_LINE.findall(prompt))
    return tuple(line for line in lines if len(line.split()) >= 3)


def _instructions(prompt: str) -> str:
    return _OWN_WORDS.sub(" ", _FAN_BLOCK.sub(" ", prompt))


def _shingles(text: str, size: int) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


@lru_cache(maxsize=16)
def _prompt_shingles(prompt: str) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    """The instructions' 5-word shingles and the example answer's 9-word ones. A template's placeholders are no
    words of it (a rendered prompt has none)."""
    instructions = re.sub(r"\{[a-z_]*\}", " ", _instructions(prompt))
    examples = _EXAMPLE.findall(instructions)
    rest = _EXAMPLE.sub(" ", instructions)
    example = set().union(*(_shingles(e, EXAMPLE_SHINGLE) for e in examples)) if examples else set()
    return frozenset(_shingles(rest, SHINGLE)), frozenset(example)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", variants(text)[0].text)


def check_leakage(text: str, prompt: str | None = None) -> list[PolicyFinding]:
    plain = variants(text)[0]
    out: list[PolicyFinding] = []
    for reason, pattern in _PATTERNS:
        for m in pattern.finditer(plain.text):
            out.append(
                PolicyFinding(RULE, f"leaks {reason} ({m.group(0).strip()})", plain.span(m.start(), m.end()))
            )
    if prompt:
        spent = _SPENT.search(prompt)
        figure = re.search(rf"(?<![\d.,]){spent.group(1)}(?![\d])", plain.text) if spent else None
        if figure:
            span = plain.span(figure.start(), figure.end())
            out.append(PolicyFinding(RULE, f"leaks the fan's spend figure ({figure.group(0)})", span))
        for line in _memory_lines(prompt):
            copied = re.search(rf"(?<![\w']){re.escape(line)}(?![\w'])", plain.text)
            if copied:
                span = plain.span(copied.start(), copied.end())
                out.append(PolicyFinding(RULE, f"copies a memory or note line ({copied.group(0)})", span))
                break
        tokens = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z0-9']+", plain.text)]
        words = [t[0] for t in tokens]
        for shingles, size, what in zip(
            _prompt_shingles(prompt),
            (SHINGLE, EXAMPLE_SHINGLE),
            ("the drafting instructions", "the instructions' example answer"),
            strict=True,
        ):
            for i in range(len(words) - size + 1):
                if tuple(words[i : i + size]) in shingles:
                    span = plain.span(tokens[i][1], tokens[i + size - 1][2])
                    out.append(PolicyFinding(RULE, f"copies {what}", span))
                    break
    return out
