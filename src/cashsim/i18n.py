"""The words of cashsim for its reader: one gettext message catalogue per language, French by default.

Rule: every sentence, heading, table header, lever name and action the report shows is written in the code as an
English *msgid* and looked up in ``cashsim/locales/<language>/LC_MESSAGES/cashsim.po`` for the language of
``params.report.locale`` (``fr_FR`` -> ``fr``). English needs no catalogue: a msgid is its own English text. A msgid
missing from a catalogue falls back to the English text (never an error), so a new sentence shows in English until
it is translated; the French report test lists English words that must not appear.

The ``.po`` files are read at run time with :func:`babel.messages.pofile.read_po` (Babel is already a dependency),
not compiled to ``.mo``: nothing to build at install, the wheel carries the text file as package data, one file to
review in a pull request, and reading a few hundred messages takes milliseconds once per language (cached).

Placeholders are ``str.format`` fields (``{amount}``); the translation keeps the same names. A msgid written where
no translator is at hand yet (a table's column labels, a control's label) is marked :func:`N_` and looked up when
shown; ``tests/test_i18n.py`` reads every ``_("...")`` / ``N_("...")`` literal of the sources and requires its French.

Example::

    >>> _ = translator("fr_FR").gettext
    >>> _("Call list")
    'Liste d’appels'
    >>> translator("en_GB").gettext("Call list")
    'Call list'
    >>> translator("fr_FR").ngettext("{n} year", "{n} years", 3).format(n=3)
    '3 ans'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from babel import Locale
from babel.messages.pofile import read_po

#: The catalogue's domain: ``locales/<language>/LC_MESSAGES/cashsim.po``.
DOMAIN = "cashsim"
DEFAULT_LOCALE = "fr_FR"


@dataclass(frozen=True)
class Translator:
    """``gettext`` / ``ngettext`` of one language; ``messages`` maps a msgid (or a (singular, plural) pair) to its
    translation (a string, or a tuple of plural forms), ``plural`` gives the form index for a count."""

    language: str
    messages: dict = field(default_factory=dict)
    plural: object = None

    def gettext(self, message: str) -> str:
        """The translation of ``message``, or ``message`` itself when the catalogue has none."""
        found = self.messages.get(message)
        return found if isinstance(found, str) and found else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of ``singular``/``plural`` for the count ``n`` (French: 0 and 1 singular)."""
        found = self.messages.get(singular)
        forms = [f for f in found if f] if isinstance(found, tuple) else []
        if forms:  # one / other: CLDR's third French form (large round numbers) is not used by cashsim
            return forms[min(int(self.plural(n)), len(forms) - 1)]
        return singular if n == 1 else plural

    __call__ = gettext


def catalogue_path(language: str):
    """The ``.po`` file of a language inside the package (it may not exist: English has none)."""
    return resources.files("cashsim") / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def translator(locale: str | None = DEFAULT_LOCALE) -> Translator:
    """The translator of a locale (``fr_FR``, ``fr-FR``, ``en_US``...), by its language; English for an unknown one."""
    try:
        language = Locale.parse(str(locale or DEFAULT_LOCALE).replace("-", "_")).language
    except Exception:  # babel's UnknownLocaleError, ValueError, TypeError: an unusable code reads English
        language = "en"
    path = catalogue_path(language)
    if language == "en" or not path.is_file():
        return Translator("en", {}, lambda n: int(n != 1))
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    messages: dict = {}
    for msg in catalog:
        if not msg.id or msg.fuzzy:
            continue
        if isinstance(msg.id, tuple | list):
            messages[msg.id[0]] = tuple(msg.string)
        else:
            messages[msg.id] = msg.string
    rules = Locale.parse(language).plural_form

    def form(n: int) -> int:
        return 0 if rules(abs(int(n))) == "one" else 1  # CLDR: French 0 and 1 take the singular

    return Translator(language, messages, form)


def N_(message: str) -> str:
    """Mark an English msgid for the catalogue without translating it (translated where it is shown)."""
    return message


def gettext(message: str, locale: str | None = DEFAULT_LOCALE) -> str:
    """One message in the language of ``locale``: ``gettext("Call list", "fr_FR") == 'Liste d’appels'``."""
    return translator(locale).gettext(message)
