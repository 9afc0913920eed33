"""Write a messy but realistic French receivables export: the company cashsim must survive, not the demo.

"Menuiserie Vauclair SARL" (invented): 40 customers in four groups (Grands comptes, PME, TPE, Collectivités),
public bodies and private individuals among them, 21 months of history up to 2026-10-31, exported the way a
Sage-like package does it: ``factures.csv`` / ``reglements.csv`` / ``clients.csv`` in cp1252, ``;`` separators,
decimal commas, ``dd/mm/yyyy`` dates and French column names. What a real file has and the demo never does:

* credit notes (*avoirs*, negative amounts) with the invoice they settle, and one credit note on no invoice;
* partial payments, and payments on account (*acomptes non lettrés*): a customer code but no invoice number;
* rejected rows: a payment dated 31/02/2026, an amount "12 5OO,00" typed with letters, a duplicated invoice
  number, a payment larger than its invoice;
* labels as people type them: "Virement bancaire", "LCR", "Prélèvement", a dispute type "facturation", customer types
  "entreprise" / "organisme public" / "particulier", a "Responsable" per customer, and three labels no keyword
  matches ("Compensation" twice, "à qualifier", "Autre"): their rows are kept with a note, not rejected;
* a blank group.

Only the four rejected rows above are bad: everything else must be read and used (tests/test_messy.py).

Deterministic: ``python tests/data/messy/make_messy_company.py`` rewrites the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
AS_OF = pd.Timestamp("2026-10-31")
START = pd.Timestamp("2025-02-01")
rng = np.random.default_rng(20261031)

GROUPS = {  # group: (n customers, terms days, end of month, mean days late, sd, monthly invoices, mean amount)
    "Grands comptes": (6, 45, True, 9.0, 8.0, 3, 9000.0),
    "PME": (14, 30, False, 4.0, 6.0, 2, 2500.0),
    "TPE": (13, 30, False, 8.0, 10.0, 1, 700.0),
    "Collectivités": (7, 30, False, 18.0, 9.0, 1, 6000.0),
}
NAMES = {
    "Grands comptes": ["Groupe Lefebvre Habitat SA", "Bouygues Aménagement SAS", "Nexity Promotion SA",
                       "Vinci Intérieurs SAS", "Eiffage Bois SA", "Kaufman Construction SAS"],
    "PME": ["Martin Agencement SARL", "Boulanger Rénovation SAS", "Atelier Roux SARL", "Cuisines Morel SAS",
            "Durand & Fils SARL", "Ébénisterie Petit SAS", "Garnier Bâtiment SARL", "Lambert Décor SAS",
            "Fontaine Bureaux SARL", "Chevalier Habitat SAS", "Robin Menuiseries SARL", "Gauthier Escaliers SAS",
            "Perrin Parquets SARL", "Mercier Dressing SAS"],
    "TPE": ["Café du Port EURL", "Boutique Lina EURL", "Pharmacie Centrale SNC", "Cabinet Dr Moreau SELARL",
            "Garage Henri EURL", "Fleurs & Co EURL", "Boulangerie Aubert EURL", "SCI Les Tilleuls",
            "Studio Nadia EI", "Salon Coiffure Émilie EURL", "M. Jean Dupont", "Mme Claire Bernard",
            "M. et Mme Rousseau"],
    "Collectivités": ["Mairie de Villeurbanne", "Conseil départemental du Rhône", "Lycée Jean Moulin",
                      "Centre hospitalier de Vienne", "Communauté de communes du Pilat", "Collège Victor Hugo",
                      "Office public de l'habitat de Lyon"],
}


def customer_type(name: str) -> str:
    if name.startswith(("M. ", "Mme ")):
        return "particulier"
    return "organisme public" if NAMES["Collectivités"].count(name) else "entreprise"


def fr_date(d: pd.Timestamp) -> str:
    return "" if pd.isna(d) else d.strftime("%d/%m/%Y")


def fr_amount(x: float) -> str:
    return f"{x:,.2f}".replace(",", " ").replace(".", ",")


customers, invoices, payments = [], [], []
owners = ["Sophie (recouvrement)", "Karim (commercial)", ""]
n = 0
for group, (count, terms, eom, late, sd, per_month, mean_amount) in GROUPS.items():
    for name in NAMES[group][:count]:
        n += 1
        code = f"CL{n:03d}"
        customers.append({"Code client": code, "Raison sociale": name, "Groupe": group if n != 17 else "",
                          "Type client": customer_type(name), "Responsable": owners[n % 3]})
        own_late = late + rng.normal(0, sd / 3)
        day = START
        while day <= AS_OF - pd.Timedelta(days=3):
            for _ in range(int(rng.poisson(per_month))):
                issue = day + pd.Timedelta(days=int(rng.integers(0, 28)))
                if issue > AS_OF:
                    continue
                due = issue + pd.Timedelta(days=terms)
                if eom:
                    due = due + pd.offsets.MonthEnd(0)
                amount = round(float(rng.lognormal(np.log(mean_amount), 0.5)), 2)
                inv_id = f"FA{issue:%y%m}-{len(invoices) + 1:04d}"
                disputed = rng.random() < 0.06
                opened = issue + pd.Timedelta(days=int(rng.integers(3, 20))) if disputed else pd.NaT
                resolved = opened + pd.Timedelta(days=int(rng.integers(2, 40))) if disputed else pd.NaT
                if disputed and resolved > AS_OF:
                    resolved = pd.NaT
                invoices.append({"N° facture": inv_id, "Code client": code, "Date facture": fr_date(issue),
                                 "Échéance": fr_date(due), "Montant TTC": fr_amount(amount),
                                 "Mode de règlement": ["Virement bancaire", "Chèque", "Prélèvement", "LCR"][
                                     int(rng.choice(4, p=[0.7, 0.15, 0.1, 0.05]))],
                                 "Litige": "oui" if disputed else "", "Type litige":
                                     (["prix", "technique", "livraison", "facturation"][int(rng.integers(0, 4))]
                                      if disputed else ""),
                                 "Date litige": fr_date(opened), "Date résolution": fr_date(resolved),
                                 "Facture d'origine": ""})
                never = rng.random() < (0.05 if group == "TPE" else 0.01)
                delay = own_late + rng.normal(0, sd) + (25 if disputed else 0)
                paid = due + pd.Timedelta(days=int(round(delay)))
                if disputed and pd.notna(resolved):
                    paid = max(paid, resolved + pd.Timedelta(days=int(rng.integers(1, 10))))
                if never or paid > AS_OF or (disputed and pd.isna(resolved)):
                    if rng.random() < 0.3 and not never and issue < AS_OF - pd.Timedelta(days=20):
                        part = round(amount * 0.4, 2)  # a partial payment, the rest still open
                        payments.append({"N° facture": inv_id, "Code client": code,
                                         "Date règlement": fr_date(min(AS_OF, due)), "Montant": fr_amount(part)})
                    continue
                if rng.random() < 0.08:  # paid in two instalments
                    first = round(amount * 0.5, 2)
                    payments.append({"N° facture": inv_id, "Code client": code,
                                     "Date règlement": fr_date(paid - pd.Timedelta(days=10)),
                                     "Montant": fr_amount(first)})
                    payments.append({"N° facture": inv_id, "Code client": code, "Date règlement": fr_date(paid),
                                     "Montant": fr_amount(round(amount - first, 2))})
                else:
                    payments.append({"N° facture": inv_id, "Code client": code, "Date règlement": fr_date(paid),
                                     "Montant": fr_amount(amount)})
            day = day + pd.DateOffset(months=1)

inv = pd.DataFrame(invoices)
pay = pd.DataFrame(payments)

# Credit notes: five settle part of an open or paid invoice, one is on no invoice (a commercial gesture).
for k, row in enumerate(inv.sample(5, random_state=3).itertuples(index=False)):
    amount = -round(float(row[4].replace(" ", "").replace(",", ".")) * 0.2, 2)
    inv.loc[len(inv)] = {"N° facture": f"AV26-{k + 1:03d}", "Code client": row[1], "Date facture": "15/10/2026",
                         "Échéance": "15/10/2026", "Montant TTC": fr_amount(amount), "Mode de règlement": "",
                         "Litige": "", "Type litige": "", "Date litige": "", "Date résolution": "",
                         "Facture d'origine": row[0]}
inv.loc[len(inv)] = {"N° facture": "AV26-900", "Code client": "CL003", "Date facture": "20/10/2026",
                     "Échéance": "20/10/2026", "Montant TTC": fr_amount(-350.0), "Mode de règlement": "",
                     "Litige": "", "Type litige": "", "Date litige": "", "Date résolution": "",
                     "Facture d'origine": ""}
# A duplicated invoice number (the second copy must be rejected).
inv.loc[len(inv)] = inv.iloc[10].to_dict()

# Payments on account: a customer code and no invoice number (six of them, as in the field report).
for k, code in enumerate(["CL002", "CL008", "CL015", "CL021", "CL030", "CL035"]):
    pay.loc[len(pay)] = {"N° facture": "", "Code client": code, "Date règlement": f"{20 + k:02d}/10/2026",
                         "Montant": fr_amount(300.0 + 100 * k)}
# Bad rows: an impossible date, an amount typed with letters, more than the invoice.
pay.loc[len(pay)] = {"N° facture": inv.iloc[3, 0], "Code client": inv.iloc[3, 1], "Date règlement": "31/02/2026",
                     "Montant": "100,00"}
pay.loc[len(pay)] = {"N° facture": inv.iloc[4, 0], "Code client": inv.iloc[4, 1], "Date règlement": "12/03/2026",
                     "Montant": "12 5OO,00"}
pay.loc[len(pay)] = {"N° facture": inv.iloc[5, 0], "Code client": inv.iloc[5, 1], "Date règlement": "13/03/2026",
                     "Montant": fr_amount(999999.0)}

# Labels no keyword matches (no random draw, so the rest of the company is unchanged).
inv.loc[[20, 21], "Mode de règlement"] = "Compensation"
inv.loc[inv.index[inv["Litige"] == "oui"][0], "Type litige"] = "à qualifier"
next(c for c in customers if c["Raison sociale"] == "Studio Nadia EI")["Type client"] = "Autre"

for frame, name in ((inv, "factures.csv"), (pay, "reglements.csv"), (pd.DataFrame(customers), "clients.csv")):
    frame.to_csv(HERE / name, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
print(len(inv), "invoice rows,", len(pay), "payment rows,", len(customers), "customers")
