"""Who a customer line belongs to, and what kind of customer it is, from the FEC's account fields.

**Customer id**: ``CompAuxNum`` (the auxiliary account, ``C0042``) when the line has one, else ``CompteNum`` (the
software keeps one 411xxx account per customer). A ``416…`` account without auxiliary whose ``411…`` twin (same
characters after the first three) is also in the files is the same customer, moved to doubtful (*douteux*).
**Name**: ``CompAuxLib`` (else ``CompteLib``) of the customer's latest line that has one.

**Customer type** (:func:`customer_type`), from the name in upper case without accents or punctuation, first rule
that matches:

1. ``company`` when a legal form is a word of the name: SA, SAS, SASU, SARL, EURL, SNC, SCI, SCS, SCA, SCOP, SCP,
   SEL, SELARL, SELAS, GIE, SCM, SEM, SPL, ETS, ETABLISSEMENTS (a private *école de conduite SARL* stays a company);
2. ``individual`` when the name starts with a title: M, MR, MME, MLLE, MM, MONSIEUR, MADAME, MADEMOISELLE;
3. ``public_body`` when it names a public body: COMMUNE, MAIRIE, VILLE DE/D, DEPARTEMENT, CONSEIL DEPARTEMENTAL/
   REGIONAL/GENERAL, REGION, LYCEE, COLLEGE, ECOLE, UNIVERSITE, CHU, CHR, HOPITAL, CENTRE HOSPITALIER, EHPAD
   PUBLIC, PREFECTURE, SYNDICAT INTERCOMMUNAL, SIVU, SIVOM, SDIS, CCAS, COMMUNAUTE DE COMMUNES / D'AGGLOMERATION /
   URBAINE, METROPOLE, OFFICE PUBLIC, OFFICE HLM, OPH, OPAC, TRESOR PUBLIC, DGFIP, MINISTERE, RECTORAT, ASSISTANCE
   PUBLIQUE, CPAM, CAF, ETAT;
4. ``company`` otherwise (the usual B2B customer).

>>> [customer_type(n) for n in ["Mairie de Chambéry", "MME DUPONT Jeanne", "Garcia Transports SA", "Dupont"]]
['public_body', 'individual', 'company', 'company']
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

CUSTOMER_TYPES = ("company", "public_body", "individual")
_LEGAL_FORMS = re.compile(r"\b(SA|SAS|SASU|SARL|EURL|SNC|SCI|SCS|SCA|SCOP|SCP|SEL|SELARL|SELAS|GIE|SCM|SEM|SPL|ETS|"
                          r"ETABLISSEMENTS)\b")
_TITLES = re.compile(r"^(M|MR|MME|MLLE|MM|MONSIEUR|MADAME|MADEMOISELLE)\b")
_PUBLIC = re.compile(
    r"\b(COMMUNE|MAIRIE|VILLE D|VILLE DE|DEPARTEMENT|CONSEIL (DEPARTEMENTAL|REGIONAL|GENERAL)|REGION|LYCEE|"
    r"COLLEGE|ECOLE|UNIVERSITE|CHU|CHR|HOPITAL|CENTRE HOSPITALIER|EHPAD PUBLIC|PREFECTURE|SYNDICAT INTERCOMMUNAL|"
    r"SIVU|SIVOM|SDIS|CCAS|COMMUNAUTE (DE COMMUNES|D AGGLOMERATION|URBAINE)|METROPOLE|OFFICE PUBLIC|OFFICE HLM|OPH|"
    r"OPAC|TRESOR PUBLIC|DGFIP|MINISTERE|RECTORAT|ASSISTANCE PUBLIQUE|CPAM|CAF|ETAT)\b")


def _clean(name: str) -> str:
    """'Communauté d'agglomération' -> 'COMMUNAUTE D AGGLOMERATION'."""
    ascii_ = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().upper()
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", ascii_).split())


def customer_type(name: str) -> str:
    """``company``, ``public_body`` or ``individual`` from a customer's name (rules in the module docstring)."""
    clean = _clean(name)
    if _LEGAL_FORMS.search(clean):
        return "company"
    if _TITLES.search(clean):
        return "individual"
    if _PUBLIC.search(clean):
        return "public_body"
    return "company"


def customer_ids(lines: pd.DataFrame) -> pd.Series:
    """The customer id of each line (``aux``, else ``account``; a 416 account maps to its 411 twin when present)."""
    own = lines["aux"] == ""
    accounts = set(lines.loc[own, "account"])
    twin = "411" + lines["account"].str[3:]
    doubtful = own & lines["account"].str.startswith("416") & twin.isin(accounts)
    return pd.Series(np.where(own, np.where(doubtful, twin, lines["account"]), lines["aux"]), index=lines.index,
                     dtype="str")


def customer_names(lines: pd.DataFrame) -> pd.Series:
    """customer_id -> name: the latest non-empty ``aux_lib`` (``account_lib`` for lines without auxiliary)."""
    name = lines["aux_lib"].where(lines["aux"] != "", lines["account_lib"])
    named = lines.assign(name=name)[name != ""].sort_values(["date", "file", "row"], kind="stable")
    out = named.groupby("customer_id")["name"].last()
    ids = pd.Index(lines["customer_id"].unique())
    return out.reindex(ids).fillna(pd.Series(ids, index=ids)).astype("str")
