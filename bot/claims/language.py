"""Which language a reply is in — Spanish, English, both, or another — from its common words.

Replies are short and informal, so a statistical detector trained on prose guesses
badly on "ok tmrw 👍"; counting the few words every sentence needs is enough and
costs microseconds. Both languages' patterns run on every reply anyway; the
language only decides how the findings are worded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.claims.text import word_set

_WORD = re.compile(r"[a-zñ']+")

_COMMON: dict[str, frozenset[str]] = {
    "es": word_set(
        "el la los las que de del en y por para con se lo ya esta estan esto hay no si "
        "pero tu su sus te nos os le un una unos al muy mas hola gracias sentimos "
        "estamos ser es son seguimos todavia aun hasta desde cuando manana tarde "
        "noche hoy ahora zona sin servicio arreglado funciona solucionado"
    ),
    "en": word_set(
        "the is are it its and to we you your our be will at in for of on this that "
        "with not no yes hi hello thanks sorry still yet by from until should been "
        "has have was were fixed back working today tonight tomorrow area service "
        "there here what when now can"
    ),
    # Enough of the neighbours to tell that a reply is in none of ours.
    "other": word_set(
        "le les des est sont nous vous pas une avec pour mais bonjour merci "
        "der die das und ist nicht wir sie ich mit auf danke "
        "il che non sono siamo grazie della "
        "nao voce obrigado estamos trabalhando isso muito"
    ),
}


@dataclass(frozen=True, slots=True)
class Language:
    locale: str | None  # "es", "en", or None when the reply is in neither
    mixed: bool = False
    foreign: bool = False  # in another language (French, German, Portuguese, Italian…)


def detect(folded: str) -> Language:
    counts = dict.fromkeys(_COMMON, 0)
    for word in _WORD.findall(folded):
        for language, words in _COMMON.items():
            if word in words:
                counts[language] += 1
    spanish, english, other = counts["es"], counts["en"], counts["other"]
    if other > spanish + english and other >= 2:
        return Language(None, foreign=True)
    if spanish == english == 0:
        return Language(None)
    locale = "es" if spanish >= english else "en"
    mixed = min(spanish, english) >= 2 and min(spanish, english) * 3 >= max(spanish, english)
    return Language(locale, mixed)
