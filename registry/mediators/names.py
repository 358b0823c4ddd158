"""The accent-folded search form of a name.

"Müller" is stored as "muller mueller", "Łukasz" as "lukasz", "Nguyễn" as "nguyen", so a search
for the plain Latin spelling, or the German "ue" spelling, finds the name. The search form is
words separated by single spaces; search (word-prefix) matches against it.
"""

import re
import unicodedata

# Letters that Unicode does not decompose into a base letter plus marks.
_LETTERS = str.maketrans(
    {
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "ø": "o",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "n",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)
# German umlauts are also written with an e: Müller / Mueller, Schäfer / Schaefer.
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# ...so "Mueller" is found as "muller" too (the e-spelling read back as an umlaut).
_E_SPELLING = re.compile(r"([aou])e")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", plain.translate(_LETTERS)).strip()


def fold_text(text: str) -> str:
    """Return ``text`` lower-cased, without accents, as words separated by single spaces."""
    return _fold(text.casefold())


def search_form(name: str) -> str:
    """Return the search form of a name: its folded words plus the umlaut-with-e spellings."""
    lowered = unicodedata.normalize("NFC", name.casefold())
    words = fold_text(lowered).split()
    variants = [
        variant
        for word in lowered.split()
        if any(umlaut in word for umlaut in "äöü")
        for variant in fold_text(word.translate(_UMLAUTS)).split()
    ]
    # "O'Connor" is found as "o connor" and as "oconnor"; "Jean-Luc" as "jeanluc" too.
    joined = [
        fold_text(word).replace(" ", "")
        for word in lowered.split()
        if len(fold_text(word).split()) > 1
    ]
    folded_back = [_E_SPELLING.sub(r"\1", word) for word in words if _E_SPELLING.search(word)]
    seen: dict[str, None] = dict.fromkeys(words + variants + joined + folded_back)
    return " ".join(seen)
