"""The message catalogue: French by default, English as the msgids, placeholders kept, read at run time."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

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


# ------------------------------------------------------------------------------------ one place for the words

SRC = Path(i18n.__file__).resolve().parent
#: Calls whose first argument is a msgid: ``_("...")``, ``N_("...")``, ``gettext("...")``, ``i18n.gettext("...")``,
#: ``ngettext("...", "...", n)``, and a translator called at once (``tr(run)("...")``, ``translator_of(loc)("...")``).
MSGID_CALLS = {"_", "N_", "gettext", "ngettext"}
TRANSLATOR_FACTORIES = {"tr", "translator", "translator_of"}


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Call) and _call_name(func.func) in TRANSLATOR_FACTORIES:
        return "_"
    return None


def source_msgids(root: Path = SRC) -> tuple[list[tuple[str, int, str]], list[tuple[str, int]]]:
    """Every literal msgid of the sources as (file, line, msgid), and the msgids built at run time by an f-string
    or a ``+`` / ``%`` expression (file, line), which no catalogue can hold."""
    found, built = [], []
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args or _call_name(node.func) not in MSGID_CALLS:
                continue
            ids = node.args[:2] if _call_name(node.func) == "ngettext" else node.args[:1]
            for arg in ids:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((rel, node.lineno, arg.value))
                elif isinstance(arg, ast.JoinedStr | ast.BinOp):
                    built.append((rel, node.lineno))
    return found, built


def test_every_msgid_of_the_sources_has_its_french():
    """A new English sentence wrapped in ``_()`` / ``N_()`` cannot ship without its French translation."""
    found, built = source_msgids()
    assert len(found) > 200, "the scan finds the sources' msgids"          # not a test that passes on nothing
    assert {m for _, _, m in found} >= {"Call list", "median", "Costs", "promise call", "Smoothed target: {amount}"}
    translated = set()
    for msg in french_catalogue():
        ids = msg.id if isinstance(msg.id, tuple | list) else (msg.id,)
        strs = msg.string if isinstance(msg.string, tuple | list) else (msg.string,)
        if msg.id and not msg.fuzzy and all(strs):
            translated.update(ids)
    missing = sorted({f"{f}:{line}: {m!r}" for f, line, m in found if m not in translated})
    assert not missing, "msgids without a French translation in cashsim.po:\n" + "\n".join(missing)
    assert not built, f"msgids built at run time (use a literal msgid with placeholders): {built}"


def test_the_scan_finds_an_untranslated_msgid(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text('_ = tr(run)\nx = _("Call list")\ny = N_("a sentence nobody translated")\n'
                                           'z = tr(run)(f"built {x}")\n', encoding="utf-8")
    found, built = source_msgids(tmp_path / "pkg")
    assert [m for _, _, m in found] == ["Call list", "a sentence nobody translated"] and len(built) == 1
    assert not i18n.translator("fr_FR").messages.get(found[1][2])


def test_every_panel_control_reads_in_french():
    from cashsim.panel import control_specs
    from cashsim.panel.text import control_text
    from cashsim.params import Params

    french = i18n.translator("fr_FR").messages
    specs, _start = control_specs(Params())
    for spec in specs:
        assert french.get(spec.label) and french.get(spec.help), spec.name
        label, help_ = control_text(spec.label, spec.help, "fr_FR")
        assert (label, help_) != (spec.label, spec.help)
    assert control_text(specs[0].label, specs[0].help, "en_GB") == (specs[0].label, specs[0].help)


def language_keyed(root: Path = SRC) -> list[str]:
    """Module texts written per language: a dict literal with both "fr" and "en" keys, or a branch on the language
    (``language == "fr"``, ``locale.startswith("fr")``); the catalogue is the one place for French and English."""
    langs = {"fr", "en"}
    hits = []
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if langs <= keys:
                    hits.append(f"{rel}:{node.lineno}: dict keyed by language")
            elif isinstance(node, ast.Compare):
                consts = {c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)}
                if consts & langs:
                    hits.append(f"{rel}:{node.lineno}: branch on the language")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "startswith" and node.args and isinstance(node.args[0], ast.Constant)
                  and node.args[0].value in langs):
                hits.append(f"{rel}:{node.lineno}: branch on the language")
    return hits


def test_no_words_are_written_per_language_outside_the_catalogue():
    hits = [h for h in language_keyed() if not h.startswith("cashsim/i18n.py")]   # English needs no catalogue
    assert not hits, "\n".join(hits)


def test_the_language_check_sees_a_word_dict_and_a_branch(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "old.py").write_text(
        'TEXT = {"fr": {"median": "médiane"}, "en": {"median": "median"}}\n'
        'def f(locale):\n    return "balance âgée" if parse(locale).language == "fr" else "aged balance"\n'
        'def g(loc):\n    return "\\xa0: " if loc.startswith("fr") else ": "\n', encoding="utf-8")
    assert len(language_keyed(tmp_path / "pkg")) == 3


def test_the_report_lever_charts_name_the_scenarios_in_french():
    from types import SimpleNamespace

    import pandas as pd

    from cashsim.params import Params
    from cashsim.report import levers_figures

    table = pd.DataFrame({"month": ["2026-11"] * 3, "scenario": ["baseline", "deposit", "discount_2_10"],
                          "levers": ["", "deposit", "early_payment_discount"], "financing": [False] * 3,
                          "extra_cash_mean": [0.0, 30_000.0, 20_000.0], "cumulative_cost": [0.0, 1_000.0, 800.0],
                          "p_target_met": [0.6, 0.8, 0.7]})
    run = SimpleNamespace(params=Params(), targets=SimpleNamespace(required_probability=0.8))
    waterfall, scatter = levers_figures(table, "2026-11", run)
    assert list(waterfall.data[0].x)[:2] == ["acompte", "escompte 2\u00a0% à 10 jours"]
    assert [t.name for t in scatter.data] == ["référence", "acompte", "escompte 2\u00a0% à 10 jours"]
    assert waterfall.layout.title.text.startswith("encaissement supplémentaire, novembre 2026")
