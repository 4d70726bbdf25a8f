"""Inbound cues in English, French and Spanish, matched on folded text (lower case, no accents, straight quotes,
leetspeak decoded inside words). They sit beside the semantic classifiers: either one flags."""

from __future__ import annotations

import base64
import binascii
import re

from policies.normalize import fold, variants

_AGE = r"(?:1[0-7]|[5-9])"  # an age under 18 written as a number
_AGE_WORDS = (
    r"(?:thirteen|fourteen|fifteen|sixteen|seventeen|treize|quatorze|quinze|seize|dix[- ]sept|trece|catorce|"
    r"quince|dieciseis|diecisiete)"
)
_UNDER = rf"(?:{_AGE}|{_AGE_WORDS})"

MINOR = re.compile(
    "|".join(
        [
            r"\b(?:j'?|je )?suis mineure?\b|\bbus to school\b|\bmanana hay clase\b",
            # "im actually 16", "i was born in 2009"
            rf"\b(?:i'?m|im|i am) (?:actually|really|literally|still) {_UNDER}\b(?! ?(?:min|h\b|hours|%|\$|k\b))",
            r"\b(?:born in|ne en|nee en|naci en) 20(?:09|1\d)\b",
            r"\b(?:devoirs|tarea|deberes|homework)\b[^.!?]{0,40}\b(?:pere|mere|padre|madre|papa|mama|mom|dad|parents)\b",
            r"\b(?:estar en casa|be home|rentrer) (?:a las|by|avant) \d",
            rf"\bi turn {_UNDER}\b|\bi\'?m a (?:[6-9]|1[0-2])th grader\b|\bi\'?m a (?:freshman|sophomore)\b",
            r"\b(?:in|started|starting|still in|just started|at|from) (?:high ?school|highschool|middle school)\b|\bhighschool\b",
            r"\bschool bus\b|\bbus scolaire\b|\bcar de ramassage\b|\b(?:bus|autobus) (?:del|de la) (?:colegio|escuela)\b",
            r"\breport card\b|\bmon bulletin\b|\bpor las notas\b|\bgrounded\b|\bprive de sortie\b|\bcastigad[oa]\b",
            r"\b(?:my parents|mes parents|mis padres|mis papas)\b[^.!?]{0,30}\b(?:think|croient|creen|pensent|piensan)\b",
            r"\b(?:my (?:mom|mum|dad|mother|father)\'?s?|(?:de|a) (?:ma mere|mon pere|ma maman)|de mi (?:madre|padre|mama|papa)) (?:card|carte|tarjeta)\b|\b(?:carte|tarjeta) de (?:ma mere|mon pere|mi madre|mi padre|mi mama|mi papa)\b",
            r"\bbedtime\b|\b(?:couche|au lit) a \d|\ba la cama\b|\bhay cole\b|\b(?:al|del) cole\b",
            r"\b(?:mom|mum|dad|mere|pere|madre|padre|mama|papa)\b[^.!?]{0,30}\b(?:pick me up|picks me up|vienne me chercher|me recoja|me recoge|me chercher)\b",
            r"\b(?:teacher|prof|profe|maestr[oa])\b[^.!?]{0,30}\b(?:took|confisque|quito)\b",
            r"\blearner\'?s permit\b|\bpermis dans (?:un|deux|trois|\d) ans\b|\bwhen i\'?m old enough\b|\bold enough\b[^.!?]{0,15}\bnext year\b",
            r"\b(?:from|before|until|till) (?:being |i\'?m )?(?:legal|18)\b|\bavant (?:la majorite|mes 18)\b|\bpara (?:ser mayor de edad|los 18|cumplir 18)\b|\bnot (?:quite |even |yet )?18\b",
            r"\b(?:voy al|voy a la|en el) (?:instituto|insti|colegio|cole|secundaria)\b",
            # stated age
            rf"\b(?:i'?m|im|i am|i turned|i just turned)\s+(?:only\s+|just\s+)?{_UNDER}(?!\d|[.,:]\d|h\b|\s*'|\s*(?:ft|cm)\b)(?! (?:min|mins|minutes|hours|h|km|euros?|dollars|\$|%|times|inch|feet|foot))",
            rf"\b{_UNDER}\s*(?:yo|y/o|yrs? old|years? old)\b",
            rf"\bj'?ai\s+(?:que\s+|seulement\s+|juste\s+)?{_UNDER}\s*ans\b",
            rf"\b(?:tengo|cumpli|acabo de cumplir)\s+(?:solo\s+|apenas\s+)?{_UNDER}(?:\s*anos)?\b",
            rf"\b(?:turning|i'?ll be|i will be|j'?aurai|je vais avoir|cumplo|voy a cumplir|vou fazer)\s+{_UNDER}\b",
            rf"\b{_UNDER}(?:th|st|nd|rd)?\s*(?:bday|birthday)\b|\bmy {_UNDER}(?:th|st|nd|rd)\b",
            rf"\b(?:mes|mon anniv(?:ersaire)? de|eu|fete mes|cumple de|mis)\s+{_UNDER}\s*(?:ans|anos)\b",
            r"\b(?:not|under|pas encore|pas)\s+(?:18|eighteen|dix[- ]huit|majeur[e]?)\b(?! (?:and|et|y) )",
            r"\b(?:aun|todavia) no (?:tengo|cumplo|soy)\s+(?:18|dieciocho|mayor de edad)\b",
            r"\b(?:underage|minor here|je suis mineur[e]?|soy menor(?: de edad)?)\b(?! que\b)",
            r"\bmy (?:little |younger )?(?:daughter|son|kid|child|niece|nephew|sister|brother)(?:'s| is| who'?s)"
            r" (?:only )?(?:1[0-7]|[1-9])\b",
            # school
            r"\b(?:in|at|from|after|before) (?:middle|high|junior high|elementary|primary|secondary) school\b",
            r"\b(?:middle school|junior high|high school freshman|high school sophomore)\b",
            r"\b(?:in|finishing|starting) (?:[6-9]|1[0-2])(?:st|nd|rd|th) grade\b|\bgrade (?:[6-9]|1[0-2])\b",
            r"\b(?:freshman|sophomore|junior) (?:year )?(?:in|at) (?:high school|hs)\b",
            r"\b(?:au|du|le|au bus du|en) (?:college|lycee)\b",
            r"\ben (?:6e|5e|4e|3e|6eme|5eme|4eme|3eme|sixieme|cinquieme|quatrieme|troisieme|seconde|2nde|premiere|terminale)\b",
            r"\b(?:le brevet|mon brevet|bac blanc)\b",
            r"\b(?:[1-4]o?|primero|segundo|tercero|cuarto) de (?:la )?(?:eso|secundaria|prepa|bachillerato)\b",
            r"\b(?:en|de|del|al|a) (?:la )?(?:eso|secundaria|primaria|prepa)\b|\b(?:bus|autobus) del colegio\b",
            r"\b(?:school bus|permission slip|chem test|math test|homework)\b.*\b(?:curfew|mom|mum|dad|parents)\b",
            # parents' rules, curfews, allowance
            r"\bcurfew\b|\bcouvre[- ]feu\b|\btoque de queda\b",
            r"\b(?:mom|mum|dad|parents?|ma mere|ma maman|mon pere|mes parents|mi mama|mi papa|mi madre|mis papas|mis padres)\b"
            r"[^.!?]{0,40}\b(?:checks?|check|goes through|look(?:s)? through|reads?|takes?|took|regarde|regardent|fouille|"
            r"fouillent|lit|lisent|verifie|verifient|confisque|confisquent|revisa|revisan|checa|checan|quita|quitan|"
            r"ground(?:s|ed)? me|would ground|castiga|saben|savent|know)\b"
            r"[^.!?]{0,30}\b(?:phone|tel|telephone|portable|celular|cel|movil|subscribed|abonne|this|ca|esto|forever)\b",
            r"\b(?:my allowance|mon argent de poche|mi mesada|mi paga)\b",
            r"\bcan'?t drive yet\b|\bpas encore le permis\b",
            # a school year of each system, named without "in": "my 8th grade class", "finals for sophomore year",
            # "segundo medio", "la evaluacion de 3o"; not an adult's look back ("when I was in 8th grade")
            r"(?<!was in )(?<!were in )(?<!back in )\b(?:[6-9]|1[0-2])(?:st|nd|rd|th) grade\b"
            r"|\b(?:freshman|sophomore) year\b(?! (?:of|at|in) (?:college|uni|university))",
            r"\b(?:primero|segundo|tercero|cuarto|[1-4]o|1ro|2do|3ro|4to) (?:medio|de media|basico)\b|\b(?:en|del) liceo\b",
            r"\b(?:evaluacion|examenes|recuperacion|trimestre) de [1-4]o\b",
            # a school stage still ahead or just ending: "empezar el bachillerato", "cuando termine la secundaria",
            # "when I finish high school", "quand j'aurai le bac"
            r"\b(?:empezar|empiezo|empezare|entrar|entro|entrare|voy a empezar) (?:el |en |la |al )?"
            r"(?:bachillerato|bachi|eso|secundaria|prepa|insti|instituto)\b",
            r"\bcuando (?:termine|acabe|salga de) (?:la |el )?(?:secundaria|prepa|eso|bachillerato|insti|instituto|cole)\b"
            r"|\bwhen i (?:finish|graduate|get out of) (?:high school|middle school|hs)\b"
            r"|\bquand j'?aurai (?:le |mon )?(?:bac|brevet)\b|\bquand je (?:serai|rentrerai) au lycee\b",
            r"\b(?:start(?:ing)?|going into|entering) (?:high school|middle school|9th grade|freshman year)\b"
            r"|\b(?:rentrer|entrer|je rentre|j'?entre) (?:au lycee|au college|en seconde|en 6e|en sixieme)\b",
            r"\b(?:got|get|getting|just got|came|come|coming|walk(?:ing|ed)?) (?:home|back) from school\b"
            r"|\b(?:rentre|rentree|rentrer|sors|sortie) (?:du|de) (?:college|lycee)\b"
            r"|\b(?:sali|salir|salgo|saliendo|vuelvo|volvi|volviendo|llegue|llego) (?:del|de la) (?:cole|colegio|insti|instituto|escuela)\b",
            # school life: a supervisor, detention, classmates, learner driving
            r"\b(?:le|la) (?:surveillant|surveillante|pion|pionne|cpe) (?:me|m'?)|\bdetention\b|\ben retenue\b"
            r"|\bconduite accompagnee\b|\b(?:filles|gars|mecs|potes|copines?|copains?) de (?:ma|la) classe\b"
            r"|\b(?:girls|guys|kids|everyone) in my (?:class|grade)\b|\b(?:chicas|chicos|companeros) de (?:mi )?clase\b",
            # the age of majority still ahead: "je serai majeur dans 2 ans", "I'll be legal next year", "can't have a
            # card before 18", "no puedo ... hasta los 18"
            r"\b(?:je serai|je vais etre|i'?ll be|i will be|sere|voy a ser) (?:majeure?|legal|mayor de edad|an adult)\b"
            r"|\bmajeure? dans\b|\bmayor de edad (?:en|dentro de)\b|\blegal in (?:a|one|two|\d) (?:year|month)"
            r"|\b(?:j'?aurai|i'?ll be|i will be|i turn|tendre|voy a tener|cumplo|cumplire) (?:18|dix[- ]huit|dieciocho|eighteen)"
            r" (?:ans |anos |years? )?(?:dans|en|in|dentro de) (?:\d|un|une|deux|trois|quatre|a|one|two|three|four|dos|tres|cuatro)\b"
            # ... or said by when: "j'aurai 18 ans l'année prochaine", "voy a cumplir 18 en marzo", "turning 18 next spring"
            r"|\b(?:j'?aurai|je vais avoir|vais avoir|i'?ll be|i will be|i turn|i'?m turning|tendre|voy a tener"
            r"|voy a cumplir|cumplo|cumplire) (?:18|dix[- ]huit|dieciocho|eighteen) (?:ans |anos |years? )?"
            r"(?:l'annee prochaine|l'an prochain|cette annee|le mois prochain|el ano que viene|el (?:proximo|otro) ano"
            r"|este ano|el mes que viene|next (?:year|month|week|spring|summer|fall|autumn|winter)|this (?:year|summer)"
            r"|en (?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|enero|febrero"
            r"|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)"
            r"|in (?:january|february|march|april|may|june|july|august|september|october|november|december))\b",
            r"\b(?:peux pas|peut pas|puedo|can'?t|cannot|not allowed)\b[^.!?]{0,50}\b(?:avant|hasta|until|till|before)"
            r" (?:mes |los |i'?m |i turn )?(?:18|dix[- ]huit|dieciocho|eighteen)\b",
            # school life of a pupil: a trip's permission slip, a mock exam, detention in study hall, the school's bus,
            # the day of civic duty at 16, the quinceañera still ahead
            r"\bpermission slip\b|\bautorisation de sortie\b|\bsortie scolaire\b|\bautorizacion (?:para|de) la excursion\b"
            r"|\bexcursion (?:del|de la) (?:cole|colegio|escuela|insti|instituto)\b|\bfield trip\b[^.!?]{0,40}\b(?:parent|mom|dad)"
            r"|\bpsats?\b|(?<!fui a la )(?<!hice la )(?<!hace la )(?<!hizo la )\bselectividad\b|\bheures? de colle\b|\bcollee? (?:apres|pendant|en) (?:la )?perm(?:anence)?\b"
            r"|\b(?:camion|micro|bus|autobus|guagua) (?:de la|del) (?:escuela|colegio|cole|insti)\b"
            r"|\bjournee (?:defense et citoyennete|d'?appel)\b|\b(?:my|mi) (?:quinceanera|quince|sweet sixteen|sweet 16)\b"
            r"|\bquinceanera\b[^.!?]{0,40}\b(?:mine|la mia|el mio)\b",
            # birthdays still to go before the fan may be here: "me faltan unos cumpleaños para poder estar aquí",
            # "il me manque deux anniversaires pour avoir le droit", "a couple birthdays short of being allowed"
            r"\bme falta(?:n)? (?:unos|un par de|dos|tres|un|\d) cumpleanos (?:para|hasta) (?:poder|estar|entrar|ser mayor"
            r"|los 18|cumplir 18|que me dejen|tener 18)\b"
            r"|\bil me (?:manque|reste) (?:quelques|deux|trois|un|\d) anniversaires? (?:pour|avant) (?:avoir le droit|pouvoir"
            r"|etre majeure?|etre la|etre ici|mes 18|avoir 18)\b"
            r"|\b(?:a few|a couple(?: of)?|two|three|\d) (?:more )?(?:birthdays|bdays) (?:short of|away from|before|until) "
            r"(?:being |i'?m |i am |i can |i'?ll be )?(?:allowed|legal|18|eighteen|old enough|an adult|on here|in here|here)\b"
            r"|\b(?:adult|legal|18|eighteen)\b[^.!?]{0,30}\b(?:birthdays|bdays) to go\b",
            # minor status said loosely: "je suis un peu mineur", "i'm technically a minor", "soy algo menor de edad"
            r"\bsuis (?:\w+ ){1,3}mineure?\b|\bi'?m (?:\w+ ){0,2}a minor\b|\bsoy (?:\w+ ){1,3}menor de edad\b",
            # born eighteen years ago or less, said other ways: "born 2009", "nacida en 2009", "my bday is in 2011",
            # "born in 2 0 0 9"
            r"\b(?:born(?: in)?|nee? en|nacid[oa] en|naci en|(?:my )?(?:bday|birthday) (?:is )?in)\s+"
            r"2\s?0\s?(?:0\s?9|1\s?\d)\b",
            # age/sex/place shorthand: "16/m/ohio", "17 f cali", "asv ? 16 h paris", "1 6 m lol"
            r"^\W*(?:(?:asl|a/s/l)\W*)?1\s?[3-7]\s?[/ ]?\s?(?:m|f)\b(?![a-z])(?!\s*(?:min|away|ago|de)\b)"
            r"|\b(?:asl|asv|a/s/l|a/s/v)\W+1\s?[3-7]\s?[/ ]?\s?(?:m|f|h)\b",
            # an age alone, at the start, in French or Spanish ("16 ans et deja accro", "１６ ａｎｓ mais grand",
            # "quince recien cumplidos"), or said of oneself in a question ("ça te dérange que j'aie 16 ans ?")
            rf"^\W*{_UNDER}\s*(?:ans|anos|anitos)\b(?!\s*(?:de|dans|en|chez|con|d'|que|casad\w*|juntos|ensemble|marie\w*)\b)"
            rf"|^\W*{_UNDER}\s+(?:and|et|y|but|mais|pero)\s+(?:already|deja|ya|practically|presque|casi|obsessed)\b"
            rf"|\bj'?aie\s+{_UNDER}\b|\bque tenga\s+{_UNDER}\b|\bj'?ai\s+{_UNDER}\s*(?:$|lol|mdr|ptdr|[!?.])"
            rf"|^\W*{_UNDER}\s*(?:recien cumplidos|depuis (?:mardi|lundi|hier|peu))",
            # the parents' rules and watch: a phone taken at night, homework they believe in, a bank account they read,
            # an app they must not know of
            r"\b(?:off my phone|rendre mon tel(?:ephone)?|dejar el (?:movil|cel(?:ular)?)|taking my phone|take my phone"
            r"|usar el (?:movil|cel(?:ular)?))\b[^.!?]{0,40}\b(?:by|at|a|a las|despues de las|after)\s*\d"
            r"|\b(?:my (?:mom|mum|dad|parents)|ma (?:mere|daronne)|mon (?:pere|daron)|mes parents|mi (?:madre|padre|mama|papa|jefa)"
            r"|mis (?:padres|papas))\b[^.!?]{0,25}\b(?:thinks? i'?m doing|croit que je fais|croient que je fais|cree que estoy haciendo"
            r"|creen que estoy haciendo|checks? my (?:bank|account)|check mes comptes|mira mis cuentas|sait pas que j'?ai"
            r"|no sabe que tengo|no me deja (?:usar|salir)|me tienen que dar permiso|went to bed|dorment|se duermen)"
            r"|\b(?:my|mon|ma|mi) (?:dad|father|mom|mum|pere|mere|padre|madre)'?s? (?:rules|regle)\b"
            r"|\bc(?:'est)? la regle de (?:mon pere|ma mere|mes parents)\b|\bnormas de (?:mi padre|mi madre|mis padres)\b",
            # a card borrowed from a parent or an older sibling, or declined because it is a parent's
            r"\b(?:my|ma|mon|mi) (?:mom|mum|dad|mother|father)'?s? (?:credit |debit |bank )card\b"
            r"|\b(?:cb|carte bleue|carte bancaire|tarjeta de credito) de (?:ma mere|mon pere|mi madre|mi padre|mi mama|mi papa)\b"
            r"|\b(?:bro|brother|sister|sis|frere|soeur|hermano|hermana)\b[^.!?]{0,25}\b(?:lent|loaned|prete|presto)\b[^.!?]{0,15}"
            r"\b(?:card|carte|tarjeta)\b"
            r"|\b(?:card|carte|tarjeta)\b[^.!?]{0,30}\b(?:its my (?:mom|mum|dad)'?s?|it'?s my (?:mom|mum|dad)'?s?|celle de (?:ma mere|mon pere)"
            r"|es de mi (?:madre|padre|mama|papa))\b|\bcarte ado\b",
            # too young for what adults may do, or the site's age check got round
            r"\bnot old enough to (?:vote|drive|drink)\b|\bcan'?t (?:even )?(?:vote|buy a lottery ticket|drive)(?: yet)?\b(?! in )"
            r"|\bpas (?:encore )?l'?age (?:de voter|de conduire|d'avoir une carte)\b|\bpas encore passer le permis\b"
            r"|\bni siquiera puedo votar\b|\bno (?:me )?puedo sacar el carnet\b|\bsoy muy joven\b|\btrop jeune pour\b"
            r"|\b(?:fake|fausse|falsa|false) (?:bday|birthday|birth ?date|date de naissance|fecha de nacimiento|dob)\b"
            r"|\b(?:age (?:thing|check|verification)|verif(?:ication)? d'?age|verificacion de edad)\b[^.!?]{0,30}"
            r"\b(?:easy|facile|facil)\b|\b(?:menti|lied|mentido) (?:sur|about|con|sobre) (?:mon|my|mi) (?:age|edad)\b"
            r"|\b(?:minors|mineurs|menores)\b[^?]{0,40}\?[^.!?]{0,15}\b(?:for me|pour moi|para mi|asking for me)\b",
            # the age of majority close: "almost legal", "presque majeur", "casi mayor de edad", "17 but practically 18",
            # "i'll be 18 in like 2 years", "mes 18 ans c'est dans 3 ans", "en 2 años cumplo 18"
            r"\b(?:almost|nearly|not quite|practically|presque|casi|quasi) (?:legal|majeure?|mayor de edad|18)\b"
            r"|\b(?:i'?ll be|i will be|i turn) 18 in (?:like |about |around )?(?:\d|a|one|two|three) (?:years?|months?)\b"
            r"|\bmes 18 ans (?:c'?est )?dans\b|\ben (?:\d|un|dos|tres) (?:anos|meses) cumplo 18\b|\bcasi cumplo 18\b",
            # school, each system: "junior year is killing me", "rn im a junior", "ima be a freshman in the fall", "year 10",
            # "GCSEs", "sixth form", "terminale cette année", "en term S", "stage de 3e", "un petit lycéen", "la EBAU",
            # "del insti", "de la secu", "cuarto año del colegio", "my homeroom teacher", "friends at school"
            r"\bjunior year\b(?! (?:of|at|in) (?:college|uni|university))|\bi'?m a (?:junior|freshie)\b(?! (?:at|in) (?:college|uni))"
            r"|\bhs (?:freshie|freshman|sophomore|junior)\b"
            r"|\b(?:be|become|ima be|gonna be|i'?ll be) a (?:freshman|sophomore|junior|senior) (?:next year|in the fall|this fall)\b"
            r"|\b(?:in|i'?m in|im in) year (?:[7-9]|1[01])\b|\byear (?:[7-9]|1[01]) (?:here|is so|student)\b"
            r"|\b(?:my|doing|doing my|revise for|revising for|sitting my|finished my|just finished my) gcses?\b|\bgcses? this year\b"
            r"|\bsixth form\b(?! (?:was|were)\b)"
            r"|\b(?:in|im in|i'?m in) form [1-5]\b"
            r"|\bterminale cette annee\b|\ben term [sle]\b|\bstage de (?:3e|troisieme)\b"
            r"|\b(?:suis|jsuis|je suis)(?: [\w']+){0,3} lyceen(?:ne)?\b|\b(?:ma prof principale|mon prof principal)\b"
            r"|\b(?:hago|tengo que hacer|preparando|preparo) (?:la )?(?:ebau|evau|paes|pau)\b"
            r"|\b(?:del|con el|en el|al) insti\b|\b(?:de la|en la) secu\b|\bde secu\b"
            r"|\b(?:primer|segundo|tercer|cuarto|quinto) ano del colegio\b|\bmy homeroom teacher\b|\bmy (?:friends|mates) at school\b"
            r"|\b(?:hide my phone|en cachette|a escondidas)\b[^.!?]{0,30}\b(?:in (?:class|algebra|math|bio|chem)|en cours|en clase)\b"
            r"|\b(?:in class|en cours|en clase)\b[^.!?]{0,20}\b(?:a escondidas|en cachette)\b"
            r"|\b(?:my teacher|mon prof|ma prof|mi profe|mi tutor[a]?|mi maestr[oa])\b[^.!?]{0,20}\b(?:caught me|m'a grille|me pillo|me cacho)\b",
            # the same said more ways: a parent who caught the fan, a network ban until an age, school tomorrow and the
            # parents checking, a birthday or a gift by an age under 18, a spaced age
            r"\b(?:ma daronne|ma mere|mon pere|mon daron|mi vieja|mi viejo|mi madre|mi padre|my mom|my mum|my dad)\b[^.!?]{0,10}"
            r"\b(?:m'a pris|m'a grille|me cacho|me pillo|caught me)\b"
            r"|\b(?:my parents|mes parents|mis padres)\b[^.!?]{0,10}\b(?:would kill me|me tueraient|me matarian)\b"
            rf"|\b(?:nada de redes|pas de reseaux|no social media)\b[^.!?]{{0,20}}\b(?:hasta los|avant|until|till) {_UNDER}\b"
            r"|\b(?:school (?:in the morning|tomorrow)|cours demain(?: matin)?|clase manana)\b[^.!?]{0,30}\b(?:parents|padres)\b"
            r"|\bpas le droit de sortir\b[^.!?]{0,30}\bparents\b"
            rf"|\b(?:mi cumpleanos|mon anniversaire|my birthday) {_UNDER}\b|\b(?:por mis|pour mes|for my) {_UNDER}(?!\d)\b(?! (?:ans|anos|years) (?:de|d'|of))"
            rf"|\bcon {_UNDER} anos\b(?! de)|\bcan my {_UNDER} ?(?:yo|y/o|year old)\b|\bturn 1\s?[3-7] in\b"
            rf"|\bj'?ai\s+{_UNDER}\s*(?:en vrai|irl|for real)\b|^\W*1 [3-7] a (?:n s|n o s)\b"
            r"|\b(?:fecha de nacimiento|date de naissance|birthday|bday) (?:falsa|fausse|fake)\b"
            r"|\bhigh ?school (?:freshman|sophomore|junior|senior)\b|\bexamen de \w+ de [1-4]o\b",
            # an age under 18 with its digits split ("im 1 5", "i.m 1.4", "tengo 1 5", "i turn 1.6", "one five"), or
            # reached at last ("finally 17 next week"), or a gift for it ("para mis 17", "regalo de 16")
            r"\b(?:i'?m|im|i\.?m|i m|j'?ai|tengo|t e n g o|cumplo|i turn|turn)\s+1[\s.\-]{1,3}[3-7](?![\d.]|\s*(?:km|k|h|hours?|miles?|m\b))"
            r"|\b(?:i'?m|j'?ai) (?:one[ -](?:three|four|five|six|seven)|un[ -](?:trois|quatre|cinq|six|sept))\b"
            rf"|\b(?:finally|enfin|por fin) {_UNDER}\b|\bj'?ai enfin {_UNDER} ans\b|\bpara mis {_UNDER}\b|\bregalo de {_UNDER}\b"
            rf"|\bcadeau (?:de|pour) mes {_UNDER}\b",
            # the parents' watch, more ways: "phone off at 10 on school nights", "mi mamá me revisa el celu", "mes parents
            # m'ont pris mon tel", hiding the phone before a parent checks, not let out after an hour, "dont tell my parents"
            r"\bon school nights?\b|\b(?:my (?:mom|mum|dad|parents)|ma mere|mon pere|mes parents|mi (?:mama|mamá|madre|padre|papa|vieja|viejo|jefa)"
            r"|mis (?:papas|padres|viejos))\b[^.!?]{0,15}\b(?:checkent|check|me revisa\w*|me quit\w*|m'ont pris|m'a pris|me prend\w*)"
            r"\b[^.!?]{0,15}\b(?:celu|cel|celular|movil|tel|telephone|portable|phone)\b"
            r"|\b(?:hide|cacher|cache|esconder|escondo) (?:my |mon |el )?(?:phone|tel|cel\w*|movil)\b[^.!?]{0,30}"
            r"\b(?:dad|mom|mum|stepdad|stepmom|parents|pere|mere|beau-pere|belle-mere|padre|madre|padrastro|madrastra|papas)\b"
            r"|\b(?:me laisse(?:nt)? pas sortir|no me deja(?:n)? salir|won'?t let me (?:go )?out|don'?t let me (?:go )?out)\b"
            r"[^.!?]{0,20}\b(?:apres|despues de|after)\b"
            r"|\b(?:picking me up|pick me up|picks me up) from school\b"
            r"|\b(?:dont|don'?t) tell my parents\b|\b(?:le |la )?dis (?:pas|rien) a mes parents\b|\bno le digas a mis (?:papas|padres)\b",
            # a card not the fan's: "use my brothers card?? he doesnt know", "uso la tarjeta de mi viejo", "mon père doit
            # pas savoir, c'est sa carte bleue", "mi tío me prestó su tarjeta"
            r"\b(?:use|using|used) my (?:brother|sister|dad|mom|mum|uncle|aunt)'?s? card\b"
            r"|\btarjeta de mi (?:viejo|vieja|jefa|jefe|tio|tia|hermano|hermana|abuel[oa])\b"
            r"|\b(?:doit pas savoir|no debe saber|doesn'?t know|doesnt know)\b[^.!?]{0,25}\b(?:sa carte|su tarjeta|(?:his|her) card)\b"
            r"|\b(?:tio|tia|abuelo|abuela|oncle|tante|uncle|aunt)\b[^.!?]{0,15}\b(?:me presto|m'a prete|lent me)\b[^.!?]{0,10}\b(?:tarjeta|carte|card)\b",
            # school, more: "in homeroom", "en perm", "en el recreo", "en 1ère L", "estoy en bachi", a pupil's test ("algebra 1",
            # "contrôle de géo", "prueba de geografía"), "discount for high schoolers", years under the age limit
            r"\bin homeroom\b|\bhomeroom is\b|\ben perm(?:anence)?\b|\ben el recreo\b|(?<!enseigne )\ben (?:1ere|1re|2nde|tle)\b"
            r"|\b(?:estoy en|voy en) (?:bachi|bachillerato|la eso|secundaria|secu|prepa)\b|\balgebra (?:1|i)\b|\bgeometry test\b"
            r"|(?<!surveille un )(?<!corrige un )\bcontrole de (?:geo|maths?|physique|svt|francais|anglais|histoire|chimie|bio|espagnol|allemand)\b"
            r"|\bprueba de (?:geografia|matematicas|mate|historia|fisica|quimica|biologia|lengua|ingles)\b"
            r"|\bfor high ?schoolers\b|\b(?:a few years|quelques annees|unos anos)\b[^.!?]{0,20}\b(?:under|de moins|menos)\b"
            r"[^.!?]{0,25}\b(?:age|l'age|la edad)\b"
            r"|\bpas encore la majorite\b|\b(?:won'?t|wont) be (?:legal|18)\b",
            # said more ways: an age in words and digits ("im 1six", "am 13 pls"), not of age yet, a school year in
            # words or misspelt ("in sixth grade", "we're only sophmores", "a high school freshie"), a class period,
            # study hall, the same homeroom, the school nurse; Québec's "secondaire 3", "la récré", "un petit
            # collégien", "en sexto"; the age of majority still ahead ("avant d'être majeur", "to turn 18 next year",
            # "en dos meses cumplo los 17", "mis quince son el mes que viene"); a birth year on an ID
            rf"\b(?:i'?m|im|i am) 1\s?(?:three|four|five|six|seven)\b|^\W*(?:am|aged?) {_UNDER}\b(?!\s*(?:min|h\b|am|pm|:))"
            r"|\b(?:i'?m|im|i am) not (?:legal|of age)(?: yet)?\b|\b(?:j'?ai|jai) pas encore l'?age\b(?! de (?:la |prendre ma )?retraite)"
            r"|\b(?:in|finishing|starting|going into) (?:sixth|seventh|eighth|ninth|tenth|eleventh|twelfth) grade\b"
            r"|\b(?:we'?re|were|i'?m|im|i am) (?:only |just |still )?(?:a )?(?:freshm[ae]n|sophomores?|sophmores?|sophomore)\b"
            r"(?! (?:in|at) (?:college|uni|university))"
            r"|\bhigh ?school (?:freshie|freshies)\b"
            r"|\b(?:for|after|in|during|till|until|before) (?:[1-8](?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh"
            r"|eighth) period\b|\b(?:from|in|during) study hall\b|\b(?:same|out of|from|during|after|before) homeroom\b"
            r"|\bschool nurse\b[^.!?]{0,30}\b(?:saw|caught|almost|took|found)\b"
            r"|\ben (?:secondaire|sec) [1-5]\b|\b(?:pendant|a) la recre\b|\b(?:suis|jsuis|chu) (?:[\w']+ ){0,3}collegien(?:ne)?\b"
            r"|\b(?:estoy|voy|ando) en (?:sexto|quinto|septimo|octavo|noveno)\b"
            r"|\bavant d'?etre majeure?\b|\bto turn 18 (?:next|in|this)\b|\bcumplo los {_UNDER}\b".replace(
                "{_UNDER}", _UNDER
            )
            + r"|\bmis quince\b(?! anos (?:de|casad))"
            r"|\b(?:carte d'identite|my id|mi dni|mon id|passport|passeport|pasaporte)\b[^.!?]{0,15}\b(?:dit|says|pone|dice)"
            r" 20(?:09|1\d)\b",
            # the parents' watch, more ways: asleep so the fan can write at last, an app they must not know of, asking
            # them to stay up, parental controls on the fan's card, their account or an older sibling's card used
            r"\b(?:my parents (?:are|r)|mes (?:parents|darons|vieux)|mis (?:papas|padres) (?:estan|se))\s*(?:asleep|sleeping|dorment"
            r"|dormidos|durmieron)\b[^.!?]{0,30}\b(?:finally|so i can|enfin|por fin)\b"
            r"|\b(?:parents|mom|mum|dad)\b[^.!?]{0,40}\b(?:don'?t|dont|do not|doesn'?t|doesnt) know i have (?:this|the) app\b"
            r"|\bask my (?:mom|mum|dad|parents) if i can\b|\bparental controls? on (?:my|the) (?:card|phone|account)\b"
            r"|\bmy parents (?:have|put|set) parental controls\b|\btoo young (?:to have|for) (?:a )?(?:credit card|card|bank account)\b"
            r"|\b(?:use|using|used) my (?:older |big |little )(?:brother|sister|bro|sis)'?s? card\b"
            r"|\b(?:using|used|on) my (?:dad|mom|mum|parents)'?s? (?:account|login)\b[^.!?]{0,20}\b(?:don'?t|dont) tell\b"
            r"|\b(?:mom|mum|dad|parents) thinks? i'?m at (?:practice|soccer|football|school|a friend'?s|my friend'?s)\b"
            r"|\b(?:teacher|prof)\b[^.!?]{0,20}\bconfiscated\b"
            r"|\b(?:mes parents|ma mere|mon pere|mes darons)\b[^.!?]{0,25}\bveulent? pas que je\b"
            r"|\bpas encore le droit d'avoir (?:un compte|une carte)\b",
        ]
    )
)
# An age that is not the fan's, masked before the minor rules read the message: a thing's or a relative's age
# ("ma voiture a 16 ans", "my daughter just turned 16"), a length of time ("15 ans dans la meme boite", "cumplo 15 anos
# en la empresa"), a relative's birthday ("les 16 ans de ma fille").
NOT_THE_FANS_AGE = re.compile(
    r"\b(?:my|ma|mon|mes|mi|mis|his|her|sa|son|ses|su|sus|our|notre|nuestr[oa])\s+(?:\w+\s+)?"
    r"(?:car|voiture|coche|carro|auto|dog|chien|perro|cat|chat|gato|house|maison|casa|phone|telephone|movil|laptop"
    r"|fille|fils|daughter|son|kids?|enfants?|hij[oa]s?|sobrin[oa]s?|niece|neveu|nephew|cousine?|prim[oa])\b"
    r"(?:[\s,]+(?!(?:i'?m|im|i|j'?ai|j'?en|je|moi|me|tengo|yo|soy)\b)[\w']+){0,4}?[\s,]+(?:1[0-7]|[1-9])\s*"
    r"(?:ans|anos|years?(?: old)?|yo)\b"
    r"|\b(?:1[0-7]|[1-9])\s*(?:ans|anos|years?)\s+(?:dans|chez|en|con|at|in|with)\s+(?:la|le|l'|les|the|this|that|my|ma|"
    r"mon|mes|mi|mis|el|los|las|same|cette|ce|esta|este|our|notre|nuestr[oa])\b(?!\s*(?:\w+\s+)?(?:summer|spring|fall|"
    r"autumn|winter|verano|invierno|primavera|otono|ete|hiver|printemps|automne|month|mes|mois|year|ano|annee|week|"
    r"semana|semaine|weekend|finde)\b)"
    r"|\b(?:des|les|aux|los|the) (?:1[0-7]|[1-9]) (?:ans|anos) de (?:ma|mon|mi|mis|su|sa|son)\b"
    # a parent's child by the child's age ("my 15 year old asked who u were"), a thing's age ("my bike is 17 years old")
    r"|\bmy (?:1[0-7]|[1-9]) ?(?:yo|y/o|year old)\b(?! (?:self|me|version|sister|brother|cousin)\b)"
    r"|\b(?:my|mon|ma|mi) (?:bike|motorbike|moto|velo|bici|guitar|guitare|guitarra|whiske?y|wine|vin|vino|tree|arbre)"
    r"(?: is| a| tiene)? (?:1[0-7]|[1-9]) ?(?:years?(?: old)?|ans|anos)\b"
    # an age one feels ("u make me feel 16 again", "je me sens jeune comme à mes seize ans", "me siento como de 16")
    r"|\b(?:feel|feeling|sens|siento|sentir)\b[^.!?]{0,25}?\b(?:1[0-7]|sixteen|seventeen|seize|dix-sept|dieciseis|"
    r"diecisiete)\b(?: ?(?:ans|anos|years?(?: old)?|yo))?(?= ?(?:again|otra vez|de nuevo|de nouveau|quand|when|cuando|$))"
)

SELF_HARM = re.compile(
    "|".join(
        [
            r"\bpoint of (?:waking up|living|going on)\b|\bhacer(?:me)? dano\b|\bquiero que todo se acabe\b|\bquiero morir\b|\bwant(?:ed)? to die\b(?! laughing| of laughter| of embarrassment)",
            r"\b(?:sleep|dormir)\b[^.!?]{0,25}\b(?:never wake up|no despertar|plus jamais me reveiller|ne plus me reveiller|not wake up)\b",
            r"\bacabar con todo\b|\bending (?:it all|things|my life)\b|\bbetter off without me\b|\bmieux sans moi\b|\bmejor sin mi\b",
            r"\bpills\b[^.!?]{0,30}\b(?:lined up|bye|goodbye)\b|\bif i disappeared\b|\bsi je disparaissais\b|\bsi desapareciera\b",
            r"\bje veux plus vivre\b|\bplus la force de continuer\b|\bque tout s\'?arrete\b|\bfait du mal\b|\bme suis fait du mal\b",
            r"\b(?:kill myself|killing myself|suicid\w*|end(?:ing)? my life|self[- ]harm|cut(?:ting)? myself|want to die(?! laughing| of laughter| of embarrassment))\b",
            r"\bcutting again\b|\bhurt(?:ing)? myself\b|\bend it all\b|\bno reason to (?:live|go on)\b",
            r"\bbetter off dead\b|\bdon'?t want to (?:be here|live|wake up)(?: anymore)?\b|\boverdos\w*\b",
            r"\b(?:me suicider|en finir|me faire du mal|envie de mourir|plus envie de vivre|(?:vais|veux|envie de) me tuer|me scarifi\w*)\b",
            r"\bdisparaitre pour de bon\b|\bsi je (?:suis|serai) plus la\b",
            r"\b(?:quitarme la vida|matarme|suicidarme|me corto|cortarme|hacerme dano|lastim\w* (?:los brazos|me))\b",
            r"\bno quiero (?:seguir )?(?:vivir|vivo|estar aqui)\b|\bseguir vivo\b|\btirarme (?:del|de un|de la)\b",
            r"\bme (?:volvi a )?lastim\w*\b",
            # a farewell: the last message to anyone, letters left to the family, pills bought, a pet given away
            r"\b(?:last|dernier|ultimo) (?:message|mensaje|msg)\b[^.!?]{0,25}\b(?:to anyone|ever|a qui que ce soit|a personne"
            r"|a nadie|de ma vie|de mi vida)\b|\b(?:one last time|une derniere fois|una ultima vez) (?:before|avant|antes)\b",
            r"\b(?:wrote|written|writing|ecrit|escribi|escrito) (?:des |unas |some )?(?:letters|lettres|cartas|notes?) "
            r"(?:to|for|a|pour|para) (?:my|ma|mes|mi|mis) (?:family|famille|familia|parents|padres|kids|enfants|hijos)\b",
            r"\b(?:cachets|pills|pastillas|comprimes|medocs)\b[^.!?]{0,80}\b(?:avant de les prendre|before (?:i )?tak(?:e|ing)"
            r" them|antes de tom\w*)\b",
            r"\bgave (?:away )?my (?:dog|cat) (?:away|to)\b|\bconfie mon (?:chien|chat) a\b|\b(?:regale|di|deje) mi (?:perro|gato) a\b",
            r"\bno se (?:que|lo que) me voy a hacer\b|\bje sais pas ce que je vais me faire\b"
            r"|\bdon'?t know what i'?(?:ll| will| might) do to myself\b",
        ]
    )
)

THREAT = re.compile(
    "|".join(
        [
            r"\bpublic\w* tu (?:nombre|direccion)\b|\bwaiting outside (?:ur|your)\b|\bje t\'?attendrai\b(?! avec impatience)",
            r"\b(?:pay (?:u|you) a (?:little )?visit|te rendre une (?:petite )?visite|hacer una visit\w*)\b",
            r"\b(?:shame|dommage|pena) (?:if|que) (?:ur|your|ta|tu) (?:family|famille|familia)\b|\bshow(?:ed)? up at (?:ur|your) (?:door|house|place|work)\b",
            r"\bje sais ou (?:tu |t\'?)habites\b|\bte faire du mal\b|\b(?:ur|you\'?re|you are) (?:gonna|going to) regret\b",
            r"\b(?:i'?ll|i will|gonna|going to)\s+(?:kill|hurt|find|get|track down)\s+(?:you|u)\b(?! (?:a|an|the|some|one|my|ur|your|in (?:the|your|ur) (?:comments|chat|feed|dms?|live|stream))\b)",
            r"\bdox\w*\b|\bi know where (?:you|u|ur) (?:live|are|work|stay|sleep)\b|\bi know where (?:you|u) l\w*\b",
            r"\bi (?:found|know|have) your (?:house|home|address|place|car|workplace|real name)\b",
            r"\bwatch your back\b|\byou'?(?:ll| will) regret\b(?! not\b)|\b(?:i'?m|im) watching (?:you|u)\b",
            r"\b(?:leak|post|share|publish) (?:your|ur) (?:address|real name|face|location)\b",
            r"\bje sais ou tu (?:habites|vis|bosses|travailles|dors)\b|\bje vais te (?:trouver|retrouver|faire mal|buter|tuer|defoncer)\b(?! (?:une|un|la|le|les|des)\b)",
            r"\btu vas (?:le )?payer\b|\bje te suis jusqu\b|\bje (?:balance|publie|poste) ton (?:adresse|nom|vrai nom)\b",
            r"\bfais gaffe (?:a toi|quand tu sors)\b",
            r"\bse donde (?:vives|trabajas|estas)\b|\bte voy a (?:buscar|encontrar|matar|hacer dano|lastimar)\b(?! (?:la|el|los|las|una|un|en)\b)",
            r"\bte estoy vigilando\b|\bte vas a arrepentir\b|\bvoy a publicar tu (?:direccion|nombre)\b",
            r"\bcuidado cuando salgas\b",
            # a threat without threat words: a relative's name known, "a shame if something happened", the family
            # shown the content, the content leaked for free
            r"\bi know (?:your|ur) (?:sister|brother|mom|mother|dad|father|kids?|family)'?s? (?:name|school|address|work)\b"
            r"|\bje connais le (?:prenom|nom|adresse|ecole) de (?:ta|ton|tes) (?:s(?:oe|œ)ur|frere|mere|pere|enfants?|famille)\b"
            r"|\bse (?:como se llama|donde vive|donde trabaja) tu (?:hermana|hermano|madre|padre|hij[oa]s?|familia)\b",
            r"\bpena que (?:le|te) pas\w* algo\b|\bshame if something (?:happened|were to happen|happens) to\b"
            r"|\bdommage (?:qu'?il|s'?il) (?:t'?|lui )?arriv\w* quelque chose\b",
            r"\b(?:your|ur|ta|tu) (?:family|famille|familia|parents|padres|boss|patron|jefe)\b[^.!?]{0,15}"
            r"\b(?:sees?|voie|voit|verra|vea|vera|finds? out)\b(?! (?:you|te|t'?) (?:on|en|a la|sur) )",
            r"\b(?:subo|subir|upload|post|leak|balance|publie)\w* (?:todo |all |tout )?(?:tu|your|ur|ton|tes) (?:contenido|content"
            r"|videos?|contenu|photos|fotos|pics)\b[^.!?]{0,30}\b(?:gratis|free|gratuit\w*|everywhere|partout)\b",
        ]
    )
)

CHARGEBACK = re.compile(
    "|".join(
        [
            r"\b(?:call(?:ing)?|appelle|llamo al|llamar al|voy a llamar al)\s+(?:my |ma |mi |al |the )?(?:bank|banque|banco|card company|credit card company)\b",
            r"\bmoney back from (?:the|my) bank\b|\b(?:my bank and i|ma banque va|mi banco y yo)\b|\bfile a claim\b|\blitige\b",
            r"\bcontest\w* (?:les |tous les )?(?:prelevements|paiements|debits)\b|\breclamar? (?:todos )?los (?:cargos|cobros)\b|\bdisput\w* (?:every|all|each) (?:the )?charges?\b",
            r"\b(?:chargeback|charge back|dispute the charge|lawyer|attorney|sue you|suing|lawsuit|police|report(?:ing)? you|refund or)\b",
            r"\bdisput(?:e|ing|ed) (?:the|this|that|my|a) (?:charge|payment|transaction)\b",
            r"\b(?:call(?:ing)?|tell(?:ing)?|contact(?:ing)?) my bank\b|\bget my money back from (?:my|the) bank\b",
            r"\bcontest\w* (?:le|la|un|une|ce|cet) (?:prelevement|paiement|debit|achat|transaction)\b",
            r"\bfaire opposition\b(?! sur (?:ma|sa) carte)|\bopposition sur\b(?! (?:ma|sa) carte)|\bavocat\b|\bporter plainte\b",
            r"\b(?:abri|abrir|abro|hacer) (?:una )?disputa\b|\bcontracargo\b|\breclam\w* (?:al|a mi) banco\b",
            r"\b(?:desconocer|anular|cancelar) el (?:cargo|cobro|pago)\b|\babogado\b|\bdenunciar\w*\b",
        ]
    )
)

OPT_OUT = re.compile(
    "|".join(
        [
            # read on the fourteenth round's batches: no more messages in more words, a leaving said with a stop
            r"\b(?:i )?(?:dont|don'?t|do not) want (?:any )?more (?:of (?:these|your) )?(?:messages|msgs|dms|texts)\b"
            r"|\bno (?:quiero recibir )?mas (?:mensajes|mds|msjs)(?: tuyos)?\b|\bno more (?:mensajes|messages|msgs|dms)\b(?! (?:tonight|today|from me|de mi parte|ce soir|hoy)\b)"
            r"|\bm'envoie plus rien\b|\bne m'(?:envoie|ecris) plus\b|\bne m'inclus plus\b|\bno me incluyas mas\b"
            r"|\bleave me out of your (?:messages|list|dms)\b|\b(?:merci de|svp) (?:ne )?plus me (?:contacter|relancer|ecrire)\b"
            r"|\bne plus me contacter\b|\bme relance pas\b|\bno me busques\b|\b(?:don'?t|do not) (?:hit me up|reach out)\b"
            r"|\b(?:dame|me doy) de baja\b(?! (?:del?|de la|de mi)\b)|\bje me desinscri\w*\b|\bunfollow (?:me|moi)\b|\bdejame de seguir\b"
            r"|\bquit spamming\b|\bj'en ai fini ici\b|\bc'est fini pour moi ici\b|\bse acabo para mi aqui\b"
            r"|\bya termine con esta pagina\b|\bfous-moi la paix\b"
            r"|^\W*stop\W+(?:porfa|please|pls|plus rien|ya no mas|merci|gracias|c'est (?:bon|fini))\b",
            r"\bplus aucun message\b|\bleave me be\b|\bno me escribas\b|\bno me mandes nada\b|\btake me off\b|\bj\'?en veux plus\b",
            r"\b(?:recontacte|contacte|ecris|reecris)[- ]?(?:moi )?plus\b|\bne me recontacte\b|\bcancel my messages\b",
            r"\b(?:deja|para|paren|parar) (?:ya )?de (?:escribirme|mandarme|contactarme|hablarme)\b|\bdejame tranquil[oa]\b",
            r"\b(?:goodbye|adieu|adios)\b[^.!?]{0,30}\b(?:don\'?t write back|reponds pas|no contestes)\b",
            r"\b(?:don\'?t|do not) want to hear from (?:u|you)\b|\bplus envie d\'?avoir de tes nouvelles\b|\b(?:je veux|j\'?veux) plus (?:recevoir|de messages)\b",
            r"\bno me vuelvas a (?:contactar|escribir)\b|\bno quiero (?:mas|recibir) mensajes\b|\bno quiero saber (?:mas|nada) de ti\b|\bquitame de\b",
            r"\btake me off (?:ur|your|the) list\b|\bstop (?:les|tes) messages\b",
            r"^\s*(?:please\s+)?(?:stop|unsubscribe|opt\s*out|stop\s+messaging\s+me|leave\s+me\s+alone)\s*[.!]*\s*$",
            r"\b(?:unsubscribe|stop (?:messaging|texting|sending|contacting|dming|spamming|writing(?: to)?) me|"
            r"stop sending (?:me )?(?:stuff|messages|these|this|offers|ppv)|opt me out|remove me from|take me off "
            r"(?:your|the) list|no more (?:messages|texts|offers|dms|msgs)|(?:don'?t|do not) (?:message|text|contact|dm) me)\b(?!\s+(?:tonight|today|for (?:now|today|tonight)|from me|on read))",
            r"\bleave me alone\b(?! with| for a (?:bit|sec|second|minute|while)|\s*\?)|\bi'?m done (?:here|with (?:this|you))\b(?! for (?:tonight|today|now|the (?:night|day)))|\bdelete me\b",
            r"\b(?:arrete|arretez) (?:de m'?ecrire|de m'?envoyer|les messages|tout)\b|\bdesabonne[- ]?moi\b",
            r"\blaisse[- ]moi tranquille\b(?! avec| (?:deux|cinq|dix|\d+) (?:minutes|min|secondes))|\bplus de messages?\b|\bretire[- ]moi\b|\bne m'?ecri(?:s|vez) plus\b",
            r"\bsupprime[- ]moi\b|\benleve[- ]moi de\b",
            r"\bdejame en paz\b(?! con)|\bno me (?:escribas|mandes|envies|hables) mas\b|\bborrame\b|\bsacame de\b",
            r"\bya no quiero (?:nada|mensajes|recibir|saber)\b|\bbasta de mensajes\b|\bdate de baja\b|\bdarme de baja\b",
            # "please don't reach out again", "don't write back or send anything else", "ne m'envoie plus rien",
            # "cese toda comunicacion", "y en a marre des messages"
            r"\b(?:don'?t|do not|never) (?:reach out|write|send|message|text|contact|dm)(?: me| to me)?(?: back)?"
            r"(?: or send)? (?:again|anymore|any more|anything (?:else|more)|ever)\b",
            r"\bne (?:me |m'?)(?:ecri\w*|envoie\w*|contact\w*|recontact\w*|parle\w*|repond\w*) plus\b"
            r"|\bno me (?:vuelvas a )?(?:escrib|mand|envi|contact|habl)\w* (?:mas|nunca)\b",
            r"\b(?:cese|cesa|cesen|cessez|cesse|cease|stop|end|arrete|arretez|corta|corten) (?:toda|toute|all|any|la|the|toda la)"
            r" (?:comunicacion|communication|contacto|contact)\b",
            r"\b(?:marre|harto|harta|sick|tired) (?:des|de (?:tes|vos|tus|los)|of (?:your|the|these|all these)) (?:messages|mensajes|msgs|texts)\b",
        ]
    )
)
# An opt-out from one thing, not from the conversation: a waiting list, a queue, a reminder, one kind of picture,
# ("take me off the waitlist for the calendar", "arrête de m'envoyer des photos de pieds"), read right after the
# opt-out's words; or one that keeps the rest ("no me mandes más los mensajes masivos, pero sígueme hablando a mí",
# "..., but I'll still tip", "le reste j'adore").
SCOPED_OPT_OUT = re.compile(
    r"^[^.!?]{0,25}?\b(?:waiting ?list|wait ?list|queue|reminders?|mute|liste d'attente|file d'attente|lista de espera|"
    r"rappels?|relances?|recordatorios?|notifications?|(?:feet|foot) (?:pics|photos|videos)|photos? de pieds|"
    r"fotos de pies|(?:videos?|fotos|photos|pics) de [a-z]+|de pies|de pieds|vocaux|audios|voice (?:notes|messages))\b"
    r"|\b(?:but|mais|pero)\b[^.!?]{0,40}\b(?:still|toujours|sigue|sigueme|ecris|escribe|j'adore|me encanta|love|continue|keep)\b"
    r"|\b(?:everything else|le reste|lo demas|el resto)\b"
    # done with work, not with the creator; a pause with the rest of the day kept ("evenings are fine")
    r"|^\s*(?:at work|at the office|for (?:today|tonight|now)|au (?:boulot|travail|bureau)|en el (?:trabajo|curro))\b"
    r"|^[^.!?]{0,60}?\b(?:evenings?|nights?|le soir|la nuit|en la noche|por la noche|en la tarde)(?: (?:are|is))? "
    r"(?:fine|ok|okay|oui|ca va|c'est bon|si|esta bien)\b"
)
# "don't stop", "n'arrête pas", "no pares": encouragement, not an opt-out.
# A fan thinking of or missing the creator ("still thinking of you", "je pense encore à toi", "sigo pensando en ti"):
# the self-harm classifier reads "still thinking" and "all day" as ideation; unless a farewell is in it too.
AFFECTION = re.compile(
    r"\b(?:think|thinking|thought|thinkin|pense|pensais|pensant|pienso|pensando|pense|miss|missing|manques?|extrano)"
    r"\b[^.!?]{0,12}\b(?:of|about|a|en|à)? ?(?:you|u|ya|toi|ti|vous)\b"
)
FAREWELL = re.compile(
    r"\b(?:last time|one last|goodbye|bye forever|farewell|adieu|une derniere fois|derniere fois|por ultima vez|"
    r"ultima vez|despedirme|me despido|before i go|avant de partir|antes de irme)\b"
)
NEGATED_STOP = re.compile(
    r"\b(?:don'?t|do not|never|dont)\s+stop\b|\bn'?arrete (?:pas|jamais)\b|\bno (?:pares|dejes)\b"
    # not an opt-out either: one undone by mistake, being left on read, "leave me alone with that smile"
    r"|\b(?:sin querer|por error|par erreur|par accident|by (?:mistake|accident)|accidentally)\b"
    r"|\b(?:on read|en visto|en vu)\b|\b(?:tranquille|alone|en paz) avec\b|\b(?:tranquille|en paz) con\b"
)

INJECTION = re.compile(
    "|".join(
        [
            # read on the fourteenth round's batches: the notes or rules asked for, other fans' words and spending,
            # a developer's or admin's message, chat-template tokens, a profile as JSON
            r"\b(?:show|montre|ensename|dame|give)\b[^.!?]{0,20}\b(?:notes|notas)\b[^.!?]{0,30}\b(?:about me|sur moi|sobre mi)\b"
            r"|\bchatgpt\b[^.!?]{0,40}\b(?:list|liste|lista|drop the act|arrete de jouer|deja el papel)"
            r"|(?:^|\W)(?:\[\s*admin\s*\]|#+\s*developer message|(?:message|mensaje) (?:du |del )?(?:developpeur|desarrollador)\s*:"
            r"|developer message\s*:)"
            r"|\b(?:affiche|imprime|muestra|print|display|reveal|traduis|translate|traduce)\b[^.!?]{0,20}\b(?:tes|tus|your|ur)"
            r" (?:system )?(?:instructions|instrucciones|consignes|regles|reglas|rules|prompt)\b"
            r"|\b(?:other|autres|otros|otras) (?:fans|subs|subscribers|abonnes|suscriptores|seguidores)\b[^.!?]{0,40}"
            r"\b(?:say|said|dit|dijeron|spent|depense|gastaron|buy|bought|achete|compraron|names|noms|nombres|pseudos)\b"
            r"|\b(?:what|how much|ce que|combien|cuanto)\b[^.!?]{0,20}\b(?:les autres|the others|los otros|other fans)\b[^.!?]{0,20}"
            r"\b(?:spent|ont depense|gastaron|paid|bought)\b"
            r"|\b(?:dijeron|ont dit|t'ont dit|said|told you)\b[^.!?]{0,20}\b(?:los otros|las otras|les autres|the other) "
            r"(?:fans|abonnes|subs|subscribers|suscriptores)\b"
            r"|\blist (?:everyone|all (?:the )?(?:fans|subs)) who\b|\b(?:liste|lista) (?:des |de )?(?:tous )?(?:les )?(?:abonnes|suscriptores)\b"
            r"|\bjson\b[^.!?]{0,30}\b(?:profile|profil|perfil)\b|<\|im_(?:start|end)\|>|<\|(?:system|user|assistant)\|>"
            r"|\b(?:quelles regles|que reglas|what rules)\b[^.!?]{0,25}\b(?:on t'a|te dieron|you were|they gave you)",
            r"\b(?:instrucciones|instructions|consignes) (?:del sistema|du systeme|secretes|secretas)\b|\brules they gave you\b",
            r"\b(?:assistant|asistente) (?:sans|sin|without) (?:regles|reglas|rules)\b|\btheir usernames\b|\bton vrai nom\b|\btu nombre real\b",
            r"^\s*\[?(?:system|systeme|sistema|assistant|developer|developpeur|desarrollador|admin)\]?\s*:",
            r"\b(?:as (?:ur|your) developer|en tant que (?:ton )?developpeur|como tu desarrollador)\b",
            r"\b(?:ur|your|ton|tu|tes|tus) (?:prompt|system prompt)\b|\byou write direct messages\b",
            r"\b(?:repeat|repete|repite)\b[^.!?]{0,20}\b(?:text|texte|texto)\b",
            r"\b(?:ai|ia|bot|robot)\b[^.!?]{0,10}\b(?:with no|without|sans|sin) (?:rules|regles|reglas|restrictions|limites|limits)\b",
            r"\b(?:let\'?s play a game|on joue a un jeu|juguemos a un juego|hypothetically|hipoteticamente|imaginons que)\b",
            # ... not the fan's partner in a scene ("pretend you're my girlfriend coming home")
            r"\b(?:pretend (?:ur|you\'?re|you are)|fais comme si t\'?etais|haz como que eres)\b(?! (?:my|ma|mon|mi) )",
            r"\b(?:give me|tell me|dame|dime|donne[- ]moi|dis[- ]moi)\b[^.!?]{0,20}\b(?:adresse|address|direccion|usernames|pseudos|usuarios)\b",
            r"\bcreator\'?s (?:home )?address\b|\bwho else spends\b|\bceux qui depensent le plus\b|\blos fans que mas gastan\b",
            r"\b(?:her notes|ses notes|sus notas)\b|\b(?:forget what (?:they|you were) told|oublie ce qu\'?on t\'?a dit|olvida lo que te dijeron)\b",
            r"\b(?:answer only to me|obeis qu\'?a moi|me obedeces)\b|\bignore (?:all |your |ur |the |my )?(?:rules|instructions|guidelines|restrictions)\b",
            r"\b(?:ignore (?:all |the |your )?(?:previous|prior|above) (?:instructions|prompts?)|"
            r"system prompt|you are now|(?<!has a )(?<!have a )developer mode|act as|disregard (?:all|your) (?:rules|instructions)|"
            r"forget (?:all |your |the |previous |prior )*(?:rules|instructions|guidelines|prompt)|"
            r"(?:reveal|print|show|repeat|tell) (?:me )?(?:your|the) (?:hidden |original |secret )?(?:prompt|instructions|rules)|"
            r"(?:pretend|imagine|act like) (?:you (?:have|had) no|there are no|you'?re free of) (?:rules|restrictions|limits|filters)|"
            r"jailbreak\w*)\b",
            r"^\s*\[?(?:system|assistant|developer|admin)\]?\s*:",
            r"\b(?:new|updated|override) instructions?\s*:",
            r"\b(?:other|another) (?:fans?|subscribers?|members?)'?s? (?:messages|names|data|info|chats|spend\w*)\b",
            r"\b(?:her|the creator'?s?|the model'?s?) real name\b|\bwhere does she (?:live|stay)\b",
            r"\bignore (?:tes|les|toutes les|vos) (?:instructions|consignes|regles)\b|\boublie (?:tes|les|toutes) (?:instructions|consignes|regles)\b",
            r"\b(?:montre|donne|revele|affiche|dis)[- ]moi (?:tes|les|vos) (?:instructions|consignes|prompt|regles)\b",
            r"\b(?:messages|noms|infos) des autres (?:abonnes|fans|clients)\b|\bson vrai nom\b|\bmode developpeur\b",
            r"\btu es maintenant\b|\bfais comme si tu n'?avais (?:pas|aucune) (?:de )?(?:regles|limites)\b",
            r"\bignora (?:tus|las|todas las) (?:instrucciones|reglas)\b|\bolvida (?:tus|las|todas las) (?:instrucciones|reglas)\b",
            r"\b(?:muestrame|dime|revela(?:me)?) (?:tus|las) (?:instrucciones|reglas|prompt)\b",
            r"\bnombre real\b|\bmensajes de (?:otros|los otros|las otras) (?:fans|suscriptores|clientes)\b",
            r"\bmodo desarrollador\b|\bahora eres\b|\bhaz de cuenta que no tienes (?:reglas|limites)\b",
            r"\b(?:(?:rule|regla|regle|consigne|instruction|instruccion)s? (?:nueva|nouvelle|new) )?"
            r"(?:from your boss|de tu jef[ae]|de ta patronne|de ton patron)\b",
            r"\boublie que (?:t'?es|tu es)\b|\bforget (?:that )?(?:you'?re|you are)\b|\bolvida que eres\b"
            r"|\b(?:quel modele|what model) (?:es[- ]tu|t'?es|are you)\b|\bque modelo eres\b|\bt'?es quel modele\b"
            r"|\bon t'?a dit de\b|\bwhat (?:were|have) you (?:been )?told to\b|\bque te (?:dijeron|han dicho) que\b",
            r"\b(?:dis[- ]moi|dime|montre[- ]moi|muestrame)\b[^.!?]{0,15}\b(?:ce que|lo que|combien|cuanto)\b[^.!?]{0,40}"
            r"\b(?:achetent|paient|depensent|compran|pagan|gastan)\b",
            # Closing the prompt's quoted block, or opening a role section, in any case or spacing.
            r"<\s*/\s*fan[\s_-]*messages?\b|<\s*/?\s*(?:system|assistant|developer|instructions?|prompt)\s*>",
        ]
    )
)

# An adult speaking of their work or of children in their care: school and family cues are theirs, not the fan's
# age (a stated age still counts).
ADULT_CONTEXT = re.compile(
    r"\b(?:(?:je suis|j'?suis|chui) (?:prof|professeur|chauffeur|enseignant|maman|papa|surveillant)"
    r"|soy (?:profe|profesor|maestr|mama|papa)"
    # a partner who teaches, a teacher at work, a parent of a teenager ("my girlfriend teaches 8th grade", "mi novia es
    # profe de segundo de la ESO", "teaching homeroom is so boring", "i grounded my teenager again")
    r"|(?:my|mi|ma|mon) (?:girlfriend|boyfriend|novia|novio|copine|copain|meuf|mec) (?:teaches|is a teacher|es profe"
    r"|es maestra|es profesora|est prof|est enseignante)|teaching (?:homeroom|class|my class|my students)"
    r"|dar tutorias?|my teen(?:ager)?s?"
    r"|i'?m a (?:teacher|bus driver|school bus driver|mom|dad|parent|(?:middle|high) school (?:teacher|principal))"
    # a school's staff or coach, a reunion of a class long gone ("substitute teacher in a middle school", "j'entraîne
    # l'équipe de hand du lycée", "soirée des anciens du lycée, promo 2009", "reunión de exalumnos")
    r"|i'?m a (?:substitute|supply|student|sub) teacher|i coach (?:a|the) (?:middle|high) school"
    r"|j'entraine l'equipe (?:de \w+ )?du (?:lycee|college)|entreno al equipo (?:de \w+ )?del (?:colegio|instituto|insti)"
    r"|(?:soiree|diner|repas) des anciens|exalumnos|ex alumnos|promo (?:19\d\d|200\d|201\d)|class of (?:19\d\d|200\d|201\d)"
    r"|i teach|i drove|doy clases|(?:de )?dar clases|bus driver|chauffeur de bus|conductor de autobus"
    # a job at a school, named ("mon boulot de surveillant", "trabajo de conserje"): "je bosse au lycée" and "un
    # trabajo de historia" are a pupil's homework
    r"|i work (?:as an? [a-z ]{2,25} )?(?:at|in) (?:a |an |the )?(?:high |middle |elementary )?school"
    r"|(?:je travaille comme|mon (?:boulot|travail|job) de) (?:surveillant|pion|prof|cpe|cantinier|concierge|agent"
    r"|infirmier|secretaire|documentaliste|aed|aesh)\w*"
    r"|(?:trabajo|curro) (?:de|como) (?:conserje|profe|maestr|cociner|bedel|secretari|conductor|administrativ"
    r"|psicolog|enfermer|limpiador|monitor)\w*"
    r"|mi hij[oa]|mis hijos|mon (?:fils|neveu)"
    r"|ma (?:fille|niece)|mes (?:enfants|eleves)|my (?:son|daughter|niece|nephew|kids?|students)|his \d|her \d"
    # a younger relative's school, and the fan's own spouse or adulthood
    r"|(?:my (?:little|younger|baby) (?:sister|brother)(?:'s)?|ma petite s(?:oe|œ)ur|mon petit frere"
    r"|mi herman(?:[oa] (?:pequen[oa]|menor)|it[oa])|mis? sobrin[oa]s?)"
    r" (?:is|just|started|starts|est|entre|commence|rentre|esta|estan|empieza|empiezan|va|van)"
    r"|de mis (?:mellizos|gemelos|hijos)|my (?:wife|husband)|ma femme|mon mari"
    r"|mi (?:mujer|esposa|marido|esposo)|(?:i'?m|im) a grown (?:man|woman|ass man)|clases nocturnas"
    r"|(?:en el|del|al) (?:curro|trabajo)|(?:au|du) (?:boulot|taf|bureau)|(?:at|from) work|my boss|mon (?:patron|chef)"
    r"|mi jefe|(?:she|he)(?:'s| is| just) (?:in|started|starting|just)|my \d+(?:st|nd|rd|th) graders"
    # school staff ("10th grade teacher", "school nurse at a middle school", "tutora de 4º de la ESO", "je corrige 90
    # copies de bac blanc", "moniteur d'auto-école"), a school year long gone ("j'étais en terminale en 98", "j'ai passé
    # mon brevet en 1995", "back when i was in high school"), the creator's own school ("what were u like in high
    # school"), a parent by the child's age ("my 15 year old asked who u were", "mes ados"), a friend's child
    r"|(?:\d+(?:st|nd|rd|th)|[a-z]+) grade teacher|school nurse|form tutor|tutora? de|je corrige\b[^.!?]{0,20}\bcopies"
    r"|moniteur d'?auto-?ecole|driving instructor|profesora? de autoescuela"
    r"|\b(?:en|in|depuis|since|desde) (?:19\d\d|200[0-5])\b|\ben 9\d\b(?! ?(?:min|%|euros?|\$))"
    r"|back when i was in|(?:were|was) (?:u|you)\b[^.!?]{0,15}\b(?:in|at) (?:high|middle) school"
    r"|my \d+ ?(?:yo|y/o|year old)(?! (?:sister|brother|cousin|self|me|version)\b)|mes ados\b|mis adolescentes"
    r"|(?:buddy|friend|mate|coworker|colleague|pote|amig[oa])'?s? (?:kid|son|daughter)|(?:el hij[oa]|la hija) de mi"
    r" amig[oa]|(?:le fils|la fille) de (?:mon|ma) (?:pote|ami|amie|collegue)"
    r"|(?:a|de|con) (?:mi|mis) (?:sobrin|niet)\w*|(?:my|ma|mon) (?:niece|nephew|neveu)"
    r"|(?:drop(?:ped)?|dej\w*|depose\w*|pick(?:ed)? up|recog\w*|emmene\w*|llev\w*) (?:off )?(?:a )?"
    r"(?:los ninos|las ninas|mis ninos|les enfants|les petits|the kids|my kids|los chicos)"
    r"|(?:at|to) (?:the )?university|(?:a la|en la) (?:fac|universidad|uni)|my masters?|mon master|mi master"
    r"|ma licence|my (?:phd|degree)|mi carrera)\b"
)
# An adult age stated by the fan ("i'm 24", "j'ai 31 ans", "tengo 40 años").
ADULT_AGE = re.compile(
    r"\b(?:i'?m|im|i am|i turned|i just turned|j'?ai|tengo|cumpli)\s+(?:1[89]|[2-9]\d)\b(?!\s*(?:min|h\b|hours|km|euros?|\$|%))"
    r"|\b(?:1[89]|[2-9]\d)\s*(?:yo|y/o|yrs? old|years? old|ans|anos)\b"
    r"|\b(?:at|a los) (?:1[89]|[2-9]\d)\b(?!\s*(?:min|h\b|hours|km|euros?|\$|%|:|pm|am|horas))"
)
# The same, said so that it cannot be a wish or a look ahead ("todavía no tengo 18", "avant mes 18 ans", "je fais
# 18 ans", "till I'm 18"): what the rules accept as an adult's age.
ADULT_AGE_SAID = re.compile(
    r"(?<!no )(?<!pas )(?<!till )(?<!until )(?<!before )(?<!when )(?<!once )(?<!after )(?<!til )"
    r"\b(?:i'?m|im|i am|i turned|i just turned|j'?ai|tengo|cumpli)\s+(?:1[89]|[2-9]\d)\b"
    r"(?!\s*(?:min|h\b|hours|km|euros?|\$|%))|\b[2-9]\d\s*(?:yo|y/o|yrs? old|years? old|ans|anos)\b"
    r"|(?<!until )(?<!till )\b(?:at|a los) [2-9]\d\b(?!\s*(?:min|h\b|hours|km|euros?|\$|%|:|pm|am|horas))"
)
# A child of the fan's, and a question whether the content may reach them ("can she see this", "elle peut
# regarder ?", "¿puede suscribirse?"): the child's age is then no longer masked as merely not the fan's.
_CHILD = r"(?:daughter|son|kid|child|fille|fils|enfant|hij[oa]|nin[oa])"
_CHILD_ACCESS = (
    r"(?:can (?:she|he|they)|ok for (?:him|her|them)|for (?:him|her|them)\b|peut (?:voir|regarder|s'abonner)"
    r"|puede (?:ver|mirar|suscribirse)|pour (?:lui|elle)|para (?:el|ella)|(?:a|ont) le droit|tiene permiso"
    r"|is it ok if (?:she|he)|is that allowed|asking to (?:subscribe|sub|watch)|peut-(?:elle|il)|veut s'abonner"
    r"|c'est autorise|quiere suscribirse|se puede)"
)
CHILD_ACCESS_AFTER = re.compile(rf"^[^.!?]{{0,25}}[.!?,]?[^.!?]{{0,25}}\b{_CHILD_ACCESS}")
CHILD_WORD = re.compile(rf"\b{_CHILD}\b")
STATED_AGE = re.compile(
    rf"\b(?:i'?m|im|i am|i turned|i just turned|j'?ai|tengo|cumpli|turning|i turn|cumplo|j'?aurai)\s+"
    rf"(?:only\s+|just\s+|que\s+|solo\s+|actually\s+|really\s+|literally\s+|still\s+)?{_UNDER}\b"
    # born eighteen years ago or less ("i was born in 2009", "née en 2010", "nací en 2011")
    r"|\b(?:born in|ne en|nee en|naci en|naci el \d+ de \w+ (?:de|del)) 20(?:09|1\d)\b|\b{_UNDER}\s*(?:yo|y/o|yrs? old|years? old|ans|anos)\b"
    r"|\b(?:not|under|pas encore) (?:18|eighteen|majeur)(?! ?(?:anymore|any more|no more))|\bsuis mineure?\b|\bsoy menor\b(?! que\b)|\bunderage\b"
    # a child whom the content would reach ("my daughter is 12, can she see this"; not "my son's 16 today")
    rf"|\b(?:my|mon|ma|mi) {_CHILD}\b[^.!?]{{0,30}}?\b(?:1[0-7]|[1-9])\b"
    rf"[^.!?]{{0,25}}[.!?,]?[^.!?]{{0,25}}\b{_CHILD_ACCESS}"
    r"|\bmy (?:little |younger )?(?:sister|brother)(?:'s| is| who'?s)"
    r" (?:only )?(?:1[0-7]|[1-9])\b"
)


# Decoded instructions hidden in base64 or written backwards.
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def readings(text: str) -> tuple[str, ...]:
    """Folded, straight quotes; and the same with leetspeak decoded inside words ('1m 15' reads 'im 15')."""
    plain = fold(text).replace("\u2019", "'").replace("`", "'")
    mixed = variants(text)[3].text.replace("\u2019", "'")
    return (plain, mixed) if mixed != plain else (plain,)


def hidden_instructions(text: str) -> bool:
    """Base64 or reversed text that reads as an injection once decoded."""
    for token in _B64.findall(text):
        try:
            decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if decoded.isprintable() and INJECTION.search(fold(decoded)):
            return True
    return bool(INJECTION.search(fold(text)[::-1]))
