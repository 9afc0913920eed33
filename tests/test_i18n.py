"""The message catalogue: French by default, English as the msgids, placeholders kept, read at run time."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po

from cashsim import i18n
from cashsim.report import texts, words


def french_catalogue():
    with i18n.catalogue_path("fr").open("rb") as handle:
        return read_po(handle, locale="fr", domain=i18n.DOMAIN)


def test_french_by_default_and_english_as_msgids():
    assert i18n.translator().language == "fr"
    assert i18n.gettext("Call list") == "Liste d’appels"
    assert i18n.gettext("Call list", "en_US") == "Call list"
    assert i18n.gettext("Call list", "fr-FR") == "Liste d’appels"
    assert i18n.gettext("a sentence nobody translated", "fr_FR") == "a sentence nobody translated"  # falls back
    assert i18n.translator("xx_YY").language == "en"
    one, many = (i18n.translator("fr_FR").ngettext("{n} year", "{n} years", n) for n in (1, 3))
    assert (one, many) == ("{n} an", "{n} ans")
    assert i18n.translator("en_GB").ngettext("{n} year", "{n} years", 3) == "{n} years"


def test_every_translation_keeps_its_placeholders_and_is_filled():
    fields = string.Formatter()
    for msg in french_catalogue():
        if not msg.id:
            continue
        ids = msg.id if isinstance(msg.id, tuple | list) else (msg.id,)
        strs = msg.string if isinstance(msg.string, tuple | list) else (msg.string,)
        assert all(strs[:len(ids)]), msg.id
        names = {f for _, f, _, _ in fields.parse(ids[0]) if f}
        assert {f for _, f, _, _ in fields.parse(strs[0]) if f} == names, msg.id
        assert not re.search(r"[^\u00a0\u202f] [:;?!]", strs[0]), f"French spacing before punctuation: {strs[0]!r}"


def test_every_report_section_is_translated():
    catalogue = french_catalogue()
    for key, (_, heading, text) in texts.SECTIONS.items():
        assert catalogue.get(heading) is not None, heading
        assert catalogue.get(text) is not None, key
    assert texts.section_text("accounts", "fr_FR").startswith("## Liste d’appels par compte client")
    assert texts.section_text("accounts", "en_US").startswith("## Call list by account")


@pytest.mark.parametrize(("english", "french"), [
    ("ask a 30% deposit at order", "demander un acompte de 30\u00a0% à la commande"),
    ("offer 2.0% if paid by 2026-11-20", "proposer un escompte de 2,0\u00a0% pour un règlement avant le 20 nov. 2026"),
    ("call #3: ask for a payment date within 7 days",
     "appel n°\u00a03\u00a0: obtenir une date de règlement sous 7 jours"),
    ("assign to factoring (90% advance)", "céder en affacturage (avance de 90\u00a0%)"),
    ("ask for a SEPA B2B direct-debit mandate", "demander un mandat de prélèvement SEPA B2B"),
    ("something new", "something new"),
])
def test_plan_actions_in_french(english, french):
    assert words.action_text(english, "fr_FR") == french


def test_lever_names_and_next_steps():
    assert words.lever_name("factoring_key_accounts", "fr_FR") == "affacturage des grands comptes"
    assert words.lever_name("deposit, early_payment_discount", "fr_FR") == "acompte + escompte pour paiement anticipé"
    assert words.lever_name("my_own_lever", "fr_FR") == "my own lever"
    assert words.next_step("first reminder by e-mail (1re relance)", "fr_FR") == "première relance par e-mail"
    english = "first reminder by e-mail (1re relance)"
    assert words.next_step(english, "en_US") == english
