"""The catalogues: every marked message is in every language, and the complete ones translate it.

The template (``messages.pot``) must be what extraction finds in the code today; French,
Spanish and German translate every message (non-empty, not fuzzy, the same placeholders, not
left in English unless a translator's comment says the word is the same in that language);
Dutch holds every message and may leave some empty (they fall back to English). The compiled
``.mo`` files the site reads must match the catalogues.
"""

import gettext
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "registry" / "translations"
COMPLETE = ("fr", "es", "de")
PARTIAL = ("nl",)
# A translator marks an intended English-looking translation with this comment ("Status" is
# German too); at most this many per language, so the allow-list stays short.
SAME_COMMENT = "same in this language"
MOST_SAME = 60
LETTERS = re.compile(r"[^\W\d_]{2,}")
# The number of a plural message, which "one mediator" may leave out.
SINGULAR_MAY_DROP = {"%(num)d", "%(num)s", "%(count)s", "%(count)d"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{\{ *(\w+) *\}\}")


def catalogue(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=language)


def template():
    with (TRANSLATIONS / "messages.pot").open("rb") as file:
        return read_po(file)


def ids(messages) -> set:
    return {message.id for message in messages if message.id}


def words(message_id) -> str:
    """The letters of a message without its placeholders (what a translator must translate)."""
    text = message_id if isinstance(message_id, str) else " ".join(message_id)
    return PLACEHOLDER.sub("", text)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set:
    """The messages marked in the code and templates right now."""
    output = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-c", "from babel.messages.frontend import main; main()",
            "extract",
            "--mapping-file", str(ROOT / "babel.cfg"), "--keywords", "_l",
            "--keywords", "lazy_ngettext:1,2", "--output-file", str(output),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )  # fmt: skip
    with output.open("rb") as file:
        return ids(read_po(file))


def test_the_template_holds_what_the_code_marks(extracted):
    kept = ids(template())
    missing = sorted(map(str, extracted - kept))[:10]
    stale = sorted(map(str, kept - extracted))[:10]
    assert not missing, f"run `make messages`: the template lacks {missing}"
    assert not stale, f"run `make messages`: the template still has {stale}"


def test_extraction_reads_every_package():
    """A package missing from babel.cfg would leave its messages out of every catalogue."""
    mapping = (ROOT / "babel.cfg").read_text()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
    missing = [name for name in packages if f"[python: {name}/**.py]" not in mapping]
    assert not missing, f"babel.cfg does not extract {missing}"


def test_the_code_marks_a_real_number_of_messages(extracted):
    # Every page, form, e-mail and error message is marked; a broken extraction finds few.
    assert len(extracted) > 1000


@pytest.mark.parametrize("language", COMPLETE + PARTIAL)
def test_every_catalogue_holds_every_message(language):
    missing = ids(template()) - ids(catalogue(language))
    assert not missing, f"run `make messages`: {language} lacks {sorted(map(str, missing))[:10]}"


@pytest.mark.parametrize("language", COMPLETE)
def test_complete_languages_translate_every_message(language):
    untranslated, fuzzy, english = [], [], []
    for message in catalogue(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        elif message.fuzzy:
            fuzzy.append(message.id)
        elif (
            LETTERS.search(words(message.id))
            and words(strings[0]) == words(message.id)
            and SAME_COMMENT not in " ".join(message.user_comments)
        ):
            english.append(message.id)
    assert not untranslated, f"{language}: {len(untranslated)} untranslated, {untranslated[:5]}"
    assert not fuzzy, f"{language}: fuzzy {fuzzy[:5]}"
    assert not english, f"{language}: left in English {english[:10]}"


@pytest.mark.parametrize("language", COMPLETE + PARTIAL)
def test_translations_keep_the_placeholders(language):
    wrong = []
    for message in catalogue(language):
        if not message.id or not message.string:
            continue
        ids_ = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {m.group(0) for m in PLACEHOLDER.finditer(" ".join(ids_))}
        for string in strings:
            if not string:
                continue
            found = {m.group(0) for m in PLACEHOLDER.finditer(string)}
            # A singular may drop the number ("one answer"); nothing else may go or be invented.
            if found - wanted or (wanted - found) - SINGULAR_MAY_DROP:
                wrong.append((message.id, string))
    assert not wrong, f"{language}: placeholders differ in {wrong[:5]}"


@pytest.mark.parametrize("language", COMPLETE + PARTIAL)
def test_the_few_same_words_are_marked_and_few(language):
    same = [m.id for m in catalogue(language) if SAME_COMMENT in " ".join(m.user_comments)]
    assert len(same) <= MOST_SAME, f"{language}: {len(same)} messages marked as the same"


@pytest.mark.parametrize("language", COMPLETE + PARTIAL)
def test_the_compiled_catalogue_matches(language):
    """`make` compiles the catalogues; the site reads the .mo, so it must not be stale."""
    compiled = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    assert compiled.exists(), f"run `make translations`: {compiled} is missing"
    with compiled.open("rb") as file:
        read = gettext.GNUTranslations(file)
    stale = []
    for m in catalogue(language):
        singular = m.id if isinstance(m.id, str) else m.id[0] if m.id else ""
        if not singular or not isinstance(m.string, str) or not m.string or m.fuzzy:
            continue
        found = read.pgettext(m.context, singular) if m.context else read.gettext(singular)
        if found != m.string:
            stale.append((m.context, singular))
    assert not stale, f"run `make translations`: {language}.mo differs for {stale[:5]}"
