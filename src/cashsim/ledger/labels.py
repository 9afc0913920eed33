"""Coded values written as labels: payment methods, dispute types, dunning channels, customer kinds, currencies.

An export writes "Virement bancaire", "VIR SEPA", "Prélèvement SEPA", "LCR", "facturation" or "Collectivité" where
cashsim wants ``transfer``, ``direct_debit``, ``other`` or ``public_body``. One rule for every coded column:

1. the cell's **key**: lower-case ASCII words joined by ``_`` (accents, case and punctuation ignored):
   ``"Prélèvement SEPA"`` -> ``prelevement_sepa``;
2. the **keyword** of the table below found first in the key, as whole words; at one position the longest keyword
   wins (``lettre_recommandee`` beats ``lettre``): ``virement_bancaire`` -> ``virement`` -> transfer,
   ``litige_sur_le_prix`` -> ``prix`` -> price, ``erreur_de_facturation`` -> ``facturation`` -> other;
3. a key with no keyword matches nothing: the row is **kept** with the column's fallback (``transfer``, ``other``,
   ``company``) and the replacement is listed in ``Ledger.notes`` (:mod:`cashsim.ledger.notes`).

Timing semantics of the payment methods (what the simulation assumes of each):

* ``transfer``: the customer pays when it decides (virement, VIR SEPA, wire).
* ``direct_debit``: the supplier's bank collects on the due date; the customer can only refuse. SEPA direct debit
  (prélèvement), and the bills of exchange a bank presents at maturity: LCR (*lettre de change relevé*), *traite*,
  *effet de commerce*, BOR (*billet à ordre relevé*) -- a refused LCR is an unpaid like a rejected direct debit.
* ``cheque``: sent by the customer, cashed some days later (chèque).
* ``card``: paid at hand-over (carte bancaire, CB, TPE) -- and cash (*espèces*), which is paid the same way.

>>> match_label("Virement bancaire", PAYMENT_METHOD_KEYWORDS), match_label("LCR directe", PAYMENT_METHOD_KEYWORDS)
('transfer', 'direct_debit')
>>> match_label("Erreur de facturation", DISPUTE_TYPE_KEYWORDS), match_label("Bitcoin", PAYMENT_METHOD_KEYWORDS)
('other', None)
"""

from __future__ import annotations

import unicodedata


def _norm_key(text: str) -> str:
    """Lower-case ASCII key: 'Prélèvement SEPA' -> 'prelevement_sepa'."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join("".join(c if c.isalnum() else " " for c in ascii_.lower()).split())


def _keywords(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Keyword key -> canonical value; every canonical value is its own keyword."""
    return {_norm_key(word): canon for canon, words in table.items() for word in (canon, *words)}


def match_label(text: str, keywords: dict[str, str]) -> str | None:
    """The canonical value of a label (rule in the module docstring); None when no keyword is in it.

    >>> match_label("Lettre recommandée AR", CHANNEL_KEYWORDS), match_label("Relance par courrier", CHANNEL_KEYWORDS)
    ('formal_notice', 'letter')
    """
    words = _norm_key(text).split("_")
    longest = max((k.count("_") + 1 for k in keywords), default=0)
    for start in range(len(words)):
        for size in range(min(longest, len(words) - start), 0, -1):
            canon = keywords.get("_".join(words[start:start + size]))
            if canon is not None:
                return canon
    return None


PAYMENT_METHOD_KEYWORDS = _keywords({
    "transfer": ("virement", "vir", "vrt", "virt", "bank transfer", "wire", "sct", "credit transfer"),
    # LCR / traite / effet / BOR: presented by the supplier's bank at maturity, like a direct debit (see above)
    "direct_debit": ("direct debit", "prelevement", "prelev", "prel", "prlv", "sdd", "dd", "lcr", "traite", "traites",
                     "effet", "effets", "lettre de change", "billet a ordre", "bor"),
    "cheque": ("cheques", "chq", "cheq", "check"),
    # cash (especes) is paid at hand-over, like a card
    "card": ("carte", "cb", "credit card", "tpe", "visa", "mastercard", "especes", "espece", "cash", "liquide",
             "numeraire"),
})
DISPUTE_TYPE_KEYWORDS = _keywords({
    "price": ("prix", "tarif", "tarifs", "tarification", "remise", "rabais", "ristourne", "escompte", "pricing",
              "commercial", "commerciale"),
    "technical": ("technique", "tech", "qualite", "quality", "defaut", "defauts", "defectueux", "defect", "panne",
                  "garantie", "sav", "non conforme", "non conformite", "conformite"),
    "delivery": ("livraison", "livraisons", "quantite", "quantites", "quantity", "manquant", "manquants", "colis",
                 "transport", "logistique", "logistics", "shipping", "reception"),
    "other": ("facturation", "facture", "billing", "invoicing", "administratif", "administrative", "admin",
              "doublon", "bon de commande", "adresse", "tva", "autre", "autres", "divers"),
})
CHANNEL_KEYWORDS = _keywords({
    "email": ("e mail", "mail", "courriel", "mel"),
    "letter": ("courrier", "lettre", "lettre simple", "post", "postal"),
    "phone": ("telephone", "telephonique", "tel", "appel", "call"),
    "sms": ("texto", "text"),
    "formal_notice": ("mise en demeure", "med", "lrar", "recommande", "recommandee", "lettre recommandee",
                      "registered letter", "formal notice", "huissier", "commissaire de justice",
                      "injonction de payer"),
    "other": ("autre", "visite"),
})
CUSTOMER_TYPE_KEYWORDS = _keywords({
    "company": ("entreprise", "societe", "sas", "sasu", "sarl", "eurl", "sa", "snc", "sci", "selarl", "selas", "scop",
                "ei", "eirl", "micro entreprise", "auto entrepreneur", "professionnel", "pro", "b2b", "business",
                "personne morale", "association", "artisan", "commercant"),
    "public_body": ("organisme public", "public", "publique", "secteur public", "collectivite", "collectivites",
                    "collectivite territoriale", "administration", "etat", "mairie", "commune", "departement",
                    "conseil departemental", "conseil regional", "region", "epci", "communaute de communes",
                    "metropole", "ministere", "prefecture", "etablissement public", "hopital", "centre hospitalier",
                    "chu", "lycee", "college", "universite", "office public", "government", "public sector"),
    "individual": ("particulier", "particuliers", "personne physique", "client final", "consommateur", "consumer",
                   "private individual", "b2c"),
})
CURRENCY_SYNONYMS = {"€": "EUR", "EURO": "EUR", "EUROS": "EUR", "$": "USD", "£": "GBP"}
