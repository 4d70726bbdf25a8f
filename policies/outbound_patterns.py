"""Outbound phrasings in French and Spanish, and English ones that never name the thing: merged into the phrase
rules of policies/rules.py (matched on the same folded and de-leeted readings)."""

from __future__ import annotations

_AGE = r"(?:1[0-7]|[5-9])(?!\d)"  # "turning 50" is no 5
_AGE_WORDS = (
    r"(?:treize|quatorze|quinze|seize|dix[- ]sept|trece|catorce|quince|dieciseis|diecisiete|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen)"
)
# What a number after "tengo" may count instead of years.
_COUNTED = (
    r"(?:videos?|fotos?|sets?|packs?|clips?|audios?|mensajes?|euros?|dolares|minutos?|horas?|dias?|semanas?|meses|"
    r"cosas|ideas|sorpresas|nuevos|nuevas|mas|fans|suscriptores|seguidores|personalizados?|sesiones)\b"
)

EXTRA_PHRASES: dict[str, list[str]] = {
    "meetup_in_person": [
        r"(?:quand|lorsque) (?:je serai|je passe|je descends|je monte|je viens) (?:a|à|dans|sur|par)",
        r"(?:cuando|en cuanto) (?:este|vaya|llegue|pase) (?:a|en|por) ",
        r"when i'?m in (?:your|ur) (?:city|town|area)|when i (?:land|get) (?:in|to) ",
        r"i'?ll be in [a-z]+(?: [a-z]+)? (?:next|this|on|tomorrow)",
        r"je (?:passe|serai|suis) (?:a|à|sur) [a-z]+(?: [a-z]+)? (?:mardi|lundi|mercredi|jeudi|vendredi|samedi|dimanche|demain|ce|la semaine|le mois)",
        r"estare en [a-z]+(?: [a-z]+)? (?:la proxima|el|este|manana|la semana)",
        r"(?:grab|get|have) (?:a |some )?(?:drink|drinks|coffee|dinner|lunch|brunch)s?(?! (?:with|for) (?:my|the) )",
        r"(?:dinner|lunch|coffee|movie) date",
        r"link up|plus one after the show|my tour (?:stops|stop)",
        r"(?:un|une|prendre un) (?:petit |bon )?(?:verre|cafe|resto|diner|apero)(?: [a-z']+){0,3} (?:ensemble|en vrai|quand|avec moi|ce soir)",
        r"on se (?:fait|voit|retrouve|croise)|tete a tete|en chair et en os|rendez[- ]vous|\brdv\b",
        # "en vrai" alone is "honestly" ("c'est hyper sérieux en vrai"); seeing someone "en vrai" is a meet-up.
        r"(?:voir|vois|voit|voyons|rencontrer|rencontre|croiser|retrouver|rejoindre|toucher)(?: (?!jamais|pas|plus)[a-z']+){0,2} en vrai|en vrai,? pas en visio",
        r"viens? me (?:voir|rejoindre|retrouver)|je t'?attends (?:a|au|devant)",
        # "como quedamos" is "as agreed" ("35 € como quedamos"), no meeting
        r"(?:(?<!como )(?<!lo que )quedamos|quedemos|nos vemos|vernos|nos tomamos|un cafecito)",
        r"ven a (?:verme|mi|buscarme)|una cita|fuera de la pantalla|en persona",
        r"(?:knocking|knock) on (?:your|ur) door|show up at (?:your|ur)",
        r"invito a cenar|invitar a cenar|(?:hotel|chambre|habitacion)(?: [a-z']+){0,3} (?:ce soir|esta noche|tonight|numero|le numero)",
        # as French, Spanish and Latin American teams say it
        r"on se (?:capte|voie|capter)|qu'on se (?:capte|voie|voit)|se voir en vrai|on pourra enfin se voir|un meet\b",
        r"(?:on (?:pourrait|peut|va)|allons|viens|on se) (?:boire|prendre) (?:un|une) (?:verre|biere|cafe|pot)|autour d'un verre",
        r"passes? (?:a la maison|chez moi|me voir)|je passe chez toi|venir chez toi|viens chez moi|chez moi ou chez toi",
        r"on va chez moi|go back to mine|back to (?:my place|mine)|rejoins[- ]moi|viens me (?:chercher|rejoindre)",
        r"pick me up (?:from|at)|come find me|(?:a|à) (?:ton|votre) domicile|j'?me deplace|je me deplace|me deplacer (?:a|chez)",
        r"face a face|cara a cara|en el mismo cuarto|in the same room|rencontres? (?:vip|privee?s?)",
        r"encuentros? privados?|citas? privadas?|soirees? privees?",
        r"(?:podriamos|podemos|quieres|vamos a) quedar|juntemonos|nos juntamos|salimos los dos|caete a|vente (?:pa|para) mi",
        r"te espero en (?:el|la|mi|camerinos)|pasa a buscarme|(?:ven|venir|vienes) a mi casa|te invito a comer",
        r"(?:tomemos|tomamos|vamos por|nos tomamos|nos echamos|te invito) (?:unas|una) (?:chelas|polas|pelas|canas|birras"
        r"|cervezas)|unas (?:chelas|polas|pelas|canas|birras) (?:el (?:viernes|sabado|domingo|finde)|cuando|en la playa)",
        r"te invito una (?:chela|cerveza|birra|cana)|tomamos un cafe|(?:mi|tu) ubicacion|lobby del hotel",
        r"(?:dime|dame|pasame|mandame|te paso|te mando|te doy) (?:tu|mi|la) direccion(?! de (?:correo|e-?mail|mail))",
        r"(?:habitacion|chambre) (?:numero |n )?\d|book a room|reservo un hotel|chambre reservee",
        r"airbnb (?:reservado|en tu)|(?:tengo|reserve|reservo) un airbnb",
        r"where do (?:u|you) live|(?:buy|get) (?:u|you) a (?:pint|drink|beer)|sn(?:ea|u)ck off together",
        r"(?:je|j') (?:viens|vais venir|peux venir) (?:te voir|chez toi)|j'?viens te voir|voy a verte|vino a verme",
        r"ma porte est ouverte|mi puerta esta abierta",
    ],
    "minors": [
        rf"j'?ai (?:que |seulement |encore )?(?:{_AGE}|{_AGE_WORDS}) ?ans",
        # "tengo 5 vídeos nuevos" counts videos, not years
        rf"tengo (?:solo |apenas )?(?:{_AGE}|{_AGE_WORDS})(?: ?anos| ?anitos|(?! ?{_COUNTED}))",
        rf"(?:{_AGE}|{_AGE_WORDS}) ?anitos",
        rf"(?:cumplo|j'?aurai|turning|i turn) (?:{_AGE}|{_AGE_WORDS})",
        rf"(?:i'?m|im) (?:actually|really|just|still) (?:{_AGE}|{_AGE_WORDS})",
        r"pas encore majeure?|(?:encore|aun|todavia) (?:l'?age|menor)|not (?:even )?old enough|soy menor|suis mineure?",
        r"collegienne|lyceenne|en seconde|en (?:3e|3eme|troisieme|4e|quatrieme)(?! annee)|de 3eme|devoir de",
        r"(?:la|de) secundaria|de la eso|colegiala|junior high|classmate|yellow bus|what grade",
        rf"(?:demi[- ]soeur|soeur|hermanastra|hermana|prima|cousine|amiga|copine)(?: [a-z']+){{0,2}} (?:a|tiene) (?:{_AGE}|{_AGE_WORDS})",
        # Going on with a fan who is a minor: secrecy from the fan's parents, the fan's homework or school break.
        r"(?:(?:don'?t|won'?t|not) (?:tell|let)|our (?:little )?secret|keep (?:it|this) from|notre (?:petit )?secret|"
        r"entre nous|en cachette|discretement|nuestro secreto|a escondidas|no le (?:digas|cuentes)|si no le dices|"
        r"(?:cache|esconde)[a-z]*|ne dis rien|sin que se entere|(?:delete|efface|supprime|borra)[a-z]*)"
        r"[^.!?]{0,50}\b(?:your|ur|tes|ta|ton|tu|tus|a tes|a tu|a tus) (?:mom|mum|dad|parents|mere|pere|maman|papa|"
        r"mama|madre|padre|padres|papas)\b"
        r"|\b(?:your|ur|tes|ta|ton|tu|tus) (?:mom|mum|dad|parents|mere|pere|maman|papa|mama|madre|padre|padres|papas)"
        r" (?:won'?t know|never knows?|n'en sauront rien|n'en saura rien|ni se enteran?|no se enteran?|notices|see)\b"
        r"|\b(?:after|apres|despues de) (?:your|ur|tes|tus) (?:homework|devoirs|deberes|tareas)\b"
        r"|\b(?:our|notre|nuestro) (?:little )?homework secret\b|\b(?:en el recreo|at recess|a la recre)\b",
        # ... or the fan's own pupil life, said back to the fan: homework, a learner's permit, the bac, a curfew,
        # a parent checking, a school, a sixteenth birthday, an age "just a number", the majority a year away
        r"\b(?:your|ur|tes|ta|ton|tu|tus) (?:homework|devoirs|deberes|tareas?|learner'?s permit|permiso de aprendiz|"
        r"conduite accompagnee|bac|brevet|curfew|couvre[- ]feu|toque de queda|braces|appareil dentaire|brackets|"
        r"report card|bulletin|sweet (?:sixteen|16)|quince|quinceanera|(?:middle|high) school|college|lycee|colegio|cole|"
        r"insti|secundaria|prepa)\b"
        r"|\b(?:you (?:have|got)|t'?as|tu as|tienes) (?:des |de la |some |mucha |)(?:homework|devoirs|tarea|deberes)\b"
        r"|\b(?:your|ur|ta|ton|tu) (?:mom|mum|dad|parents|mere|pere|maman|papa|mama|madre|padre|padres|papas) "
        r"(?:checks?|surveille|revisa|watches|looks at|regarde|controle)\b",
        rf"\b(?:happy|joyeux|joyeuses|feliz)(?: sweet)? (?:{_AGE}|{_AGE_WORDS})\b(?! (?:min|minutes|mins|hours|heures|minutos))",
        rf"\b(?:{_AGE}|{_AGE_WORDS})(?: ans| anos| years(?: old)?)?,? (?:c'?est (?:qu'?|que )?un (?:chiffre|nombre)|"
        r"(?:is|it'?s) (?:just|only) a number|(?:es|son) solo un numero)",
        r"\b(?:tu seras|you'?ll be|vas a ser|seras) (?:majeure?|legal|mayor de edad)\b|\bpetit collegien|\bcolegial\b",
    ],
    "prohibited_content": [
        r"(?:coke|cocaine|coca[ií]na|molly|mdma|xanax|pills|pilules|pastillas|pillas|weed|beuh|marihuana|mariguana|perico|ecstasy|lsd|meth)",
        r"party favou?rs|white powdery|caramelitos especiales|livraison discrete|(?:a|pour) (?:vendre|revendre)|para vender|for sale",
        r"(?:mon|mi|my) (?:chien|perro|dog|chat|gato)(?: [a-z']+){0,4} (?:video|set|dans|en la|in the)",
        r"set with my (?:dog|pet)|(?:my|mon|mi) (?:actual |vrai |real )?(?:brother|frere|hermano|cousin|primo|cousine|prima)(?: [a-z']+){0,1} (?:and|y|et) (?:me|moi|yo)",
        r"(?:me and|moi et|yo y) (?:my|mon|ma|mi) (?:actual |real |vrai )?(?:brother|frere|hermano|cousin|primo|sister|soeur|hermana)",
        r"(?:mi hermano|mon cousin|mon frere|my brother) y? ?(?:et )?(?:yo|moi|i) (?:grabamos|on tourne|filmed|record)",
        r"never said yes|sin que quiera|fais semblant de pas vouloir|tu insistes|me obligas|tu me forces|me forzas|digo que no",
        r"m'?a frappee|me pego|hit me and i loved",
        r"(?:fais|haz|hazte)[- ]?(?:toi|te)? ?du mal|cortate|corte un poco|en finir fais le|end it anyway|hazte dano",
    ],
    "chargeback_fraud": [
        r"(?:tell|tells|dis|dile|di) (?:ur |your |a ta |a tu |que )?(?:bank|banque|banco)",
        r"(?:card|carte|tarjeta)(?: [a-z']+){0,3} (?:stolen|volee|robaron|robada)",
        r"(?:fais|faire|fait|hace|haz|pide|pedir) (?:un |une |el |la )?(?:opposition|contracargo|litige|reclamacion)",
        r"(?:reclamas?|reclama|reclamar|conteste|contester|contesta|disputa|dispute) (?:el |le |la )?(?:cargo|paiement|pago|charge|it|al banco)",
        r"(?:refund|remboursement|rembourser|reembolso|devolucion)(?: [a-z']+){0,6} (?:after|apres|despues|banco|banque|bank|diciendo|saying|en disant|facile)",
        r"(?:got|get|recuperes|recuperas|devuelven|rembourser)(?: [a-z']+){0,4} (?:back|tout|todo)(?: [a-z']+){0,4} (?:bank|banque|banco|never ordered|no fue ella|pas toi)",
        r"wasn'?t me|c'?est pas toi qui as paye|no fue (?:ella|yo|tu)|never ordered it|magically got it (?:all )?back",
        r"(?:magia|retour en arriere) (?:con|chez) (?:tu|ta) (?:banco|banque)",
        r"(?:after|apres|despues)(?: [a-z']+){0,3} (?:download|telecharge|descarga)",
        # as French, Spanish and Latin American teams say it
        r"(?:haz|hace|hazle|hacer|pide|pedir|haces) (?:un |el |una )?contra(?:cargo)?\b|contracargo y (?:listo|ya)",
        r"retrofacturation|charge (?:it|them) back|pide (?:el )?reintegro|reintegro (?:al|en (?:tu|el)) banco",
        r"desconoc(?:e|er|elo|io|es) (?:el|ese|este) (?:cargo|cobro|pago)",
        r"(?:didn'?t|did not|don'?t) recogni[sz]e the charge|pas reconnu la transaction|transaction inconnue",
        r"(?:conteste|contestez|contestes) (?:l'achat|le prelevement|le paiement|aupres de)",
        r"(?:dis|di|dile|dites|say|tell|pretend|pretends|pretends|finge)\b[^.!?]{0,40}\b(?:fraude|fraud|frauduleu\w*|"
        r"hack\w*|pirate\w*|clonaron|no fuiste|no fui|sin permiso|no autorizad\w*|non autorise\w*|gamin a utilise|"
        r"hijo uso|hermano uso|no reconoc\w*)",
        r"(?:declare|declarer|declara|reporta\w*|signale\w*|signaler)\b[^.!?]{0,30}\b(?:frauduleu\w*|fraudulent\w*|"
        r"perdue|perdida|fraude)",
        r"(?:banco|banque|bank|tarjeta|carte|card|disputa|dispute)\b[^.!?]{0,60}\b(?:te (?:queda|sale) gratis|"
        r"gratuit au final|tout gratos|for free)",
        r"perdiste la tarjeta|declare la perdue|clonaron la tarjeta|(?:carte|card|tarjeta) (?:clonee|cloned|clonada)",
    ],
}

# Off-platform payment said without a brand, or a brand said by its colour or icon.
PAYMENT_EXTRA = (
    r"(?<![a-z])(?:par|en|por|via) (?:virement|transferencia|bizum|lydia|rib|iban)"
    r"|\b(?:bizum|lydia|mon rib|mi cbu|mi clabe)\b"
    r"|\b(?:send|envoie|manda|mandame|paye|pay|achete|compra)(?: [a-z']+){0,4} (?:carte cadeau|tarjeta regalo)\b"
    r"|\b(?:carte cadeau|tarjeta regalo)\b(?: [a-z']+){0,4} (?:et je|y te|je t'?envoie|te mando)\b"
    r"|\b(?:on|sur) the side\b|\btip me on the side\b|\ben dehors d'?ici\b|\bpor fuera\b|\bentre nous\b.{0,40}\b(?:reglement|paiement|payer)\b"
    r"|\bsin comisiones\b|\bsans (?:les )?frais\b|\bles frais du site\b|\bsans que la plateforme\b|\bdoesn'?t eat half\b"
    r"|\b(?:la app|l'?appli|the app) (?:verde|bleue|blue|green|azul)\b|\bappli bleue avec le p\b|\bsigno de dolar\b"
    r"|\bme llega (?:todo )?entero\b|\bcash ?app\b"
    # French, Belgian and Latin American ways to pay: brands, vouchers, transfers, cash, "direct"
    r"|\b(?:paylib|wero|neosurf|transcash|payconiq|mercado ?pago|nequi|daviplata|yape|spei|clabe|leetchi|cvu|cbu)\b"
    r"|\bbizum\w+|\b(?:carte|ticket|code|recharge) (?:de )?pcs\b|\bpcs mastercard\b"
    r"|\b(?:pagar|paga|pagas|deposit\w*|referencia|pago)\b[^.!?\n]{0,20}\boxxo\b"
    r"|\b(?:paie[- ]moi|paye[- ]moi|payez[- ]moi|regle[- ]moi|pagame|me pagas|me pagues)\b[^.!?\n]{0,20}"
    r"\b(?:en liquide|en especes|en efectivo|en cash)\b"
    r"|(?<!')\b(?:pay me|paie[- ]moi|paye[- ]moi|payez[- ]moi|regle[- ]moi|pagame|me pagas|me lo pagas|m'?envoies|"
    r"mandame|me lo das|transferime)\b[^.!?\n']{0,25}\b(?:directement|en direct|directo|directamente|a mi directo)\b"
    r"(?![^.!?\n]{0,15}\b(?:ici|here|aqui|sur l'?appli|en la app|por aca)\b)"
    r"|\b(?:sans|sin|without|evite|evitar|ahorr\w*|skip) (?:la |le |les |the )?(?:com'|commission|comision|fees?|frais)(?!\w)"
    r"|\b(?:hors |en dehors de l'?|fuera de la )(?:appli|app|plataforma|pagina)\b"
    r"|\b(?:fais[- ]moi|envoie[- ]moi) (?:un )?virement\b|\bvirement (?:instantane|wise)\b"
    r"|\b(?:transfe|transferime|transferi|transfiereme|hazme (?:la |una )?transfe\w*|una transferencia"
    r"|deposito (?:en|al) (?:banco|bank)\w*|(?:mi|tu) numero de cuenta|mi cuenta (?:personal|bancaria)|a mi cuenta"
    r"|mon compte (?:bancaire|belfius))\b"
    r"|\balias\s*:?\s*[a-z0-9]+(?:\.[a-z0-9]+)+|\b(?:al|mi) alias\b"
)
# A messaging app by its nickname: counts where the draft also sends the fan there (an app, a name to look for, a
# move): "drew a little yellow ghost on my coffee cup" is a drawing.
NICKNAME = (
    r"\b(?:fantome jaune|fantasmita amarillo|yellow ghost|little ghost app|petit fantome|fantasma amarillo"
    r"|el fantasmita|la del fantasmita|camarita amarilla|pajarito(?: azul)?|bulles vertes|stickers verdes"
    r"|petit telephone vert|le t bleu)\b"
)
NICKNAME_CUE = (
    r"\b(?:apps?|appli|application|pseudo|user(?:name)?|usuario|name|nom|nombre|mismo|meme|same|ici|here|aqui|dm|sur|"
    r"find|add|retrouve|rejoins|busca\w*|agrega\w*|ajoute|passe|slide)\b|@"
)
# Moving the fan elsewhere without naming the app, or by its nickname.
CONTACT_EXTRA = (
    NICKNAME + r"|\b(?:wasap|guasap|watsap)\b"
    r"|\b(?:ajoute|agrega|agregame|anademe|ajoute[- ]moi|add me)\b(?: [a-z']+){0,2} (?:sur|al|en|on) (?!(?:[a-z']+ ){0,3}(?:ici|aqui|here)\b)"
    r"|\b(?:envoie[- ]moi un mail|mandame un (?:mail|correo)|email me|escribeme al)\b"
    r"|\b(?:ailleurs|por otro lado|somewhere (?:else|this site)|otro sitio)\b(?: [a-z']+){0,6} (?:lit pas|no nos lean|can'?t see|sans le site|where)"
    r"|\bon continue ailleurs\b|\bhablemos por otro lado\b|\bsomewhere this site can'?t see\b"
    r"|\b(?:my number|mon numero|mi numero|mon 06|mon 07)\b(?: [a-z']+){0,3} (?:is|es|c'?est|starts|empieza|commence)(?: par| with| por| en)? ?\+?\d"
    # a number, a handle or a channel given or asked for, in French and Spanish; the app by its short name
    r"|(?<!ne )(?<!no )(?<!n')(?<!not )(?<!never )(?<!jamais )(?<!nunca )(?<!ni )"
    r"\b(?:file|donne|envoie|passe|laisse|pasa|pasame|dame|manda|mandame|te paso|te dejo|te doy|te regalo|jte file"
    r"|je te file|send|give)(?:[- ](?:moi|me))?(?: (?!pas|jamais|no|not|never|ni|nunca|plus)[a-z']+){0,2}"
    r" (?:mon|ton|mi|tu|my|your|ur|mes|tus) (?:06|07|num|numero"
    r"|numerito|tel|portable|cel|celular|fono|whats|wsp|snap|correo|mail|e-?mail|coordonnees|contacto|contact)\b"
    r"|\b(?:contact(?:o)? (?:perso|personal)|coordonnees perso|numero perso|vrai numero|numero de verdad|otro numero"
    r"|autre numero|moyen de te joindre|de quoi te joindre|donde escribirte|forma de contactarte|way to reach you)\b"
    r"|\b(?:viens|ecris[- ]moi|rejoins[- ]moi|ajoute[- ]moi|retrouve[- ]moi|buscame|escribeme|agregame|hablame|add me|"
    r"find me|message me|dm me|hmu) (?:sur|en|on|por|a) (?:mon |mi |my |el |le )?snap\b|\bsnap\s*:|\bsnap (?:c'?est|es|is)\b"
    r"|\b(?:mi|my|tu|your|ton|mon|por|al|el|en|pasame|dame) (?:whats|wsp|wpp|wasa|wats)\b|\b(?:wasapea|whatsappea|wsapea)\w*"
    r"|\b(?:al|por el|en el|canal de|grupo de|tenes|tienes|t'as) tele\b|\b(?:mon|mi|my|tengo|tenes|t'as) signal\b"
    r"|(?<![@.\w])(?:gmail|hotmail|outlook|yahoo|icloud|protonmail)\b(?!\.\w)|\bmessenger\b"
    r"|\b(?:mon site perso|mi (?:web|pagina) (?:propia|personal)|mon compte perso|"
    r"mi perfil secreto|mon autre compte|mi otra cuenta|my other account)\b"
    r"|\b(?:par|por) (?:texto|sms)\b"
)
