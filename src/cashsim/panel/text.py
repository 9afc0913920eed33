"""The panel's words in French and English: one table, by the locale's language (English otherwise).

Every word the scenario panel shows (status line, control labels and help, titles, buttons, messages, table
headers) comes from :data:`TEXT`; the charts' titles and trace names are the figures' (:data:`cashsim.plots.TEXT`).

>>> _text("fr_FR") is TEXT["fr"], _text("de_DE") is TEXT["en"]
(True, True)
"""

from __future__ import annotations

from typing import Any

from cashsim import fmt

#: Text of the panel (status line, control labels and help, titles, buttons, messages, table headers), by language
#: (the locale's language; English otherwise). The charts' titles and trace names, and the words "baseline" /
#: "proposal", are the figures' (:data:`cashsim.plots.TEXT`). Every word the panel shows comes from here.
TEXT = {
    "fr": {"computing": "Calcul en cours…", "ready": "À jour", "error": "Erreur",
           "out_of_range": "{label} : {value} refusé, choisir entre {lo} et {hi}",
           "not_a_number": "{label} : {value} n'est pas un nombre",
           "saved": "Enregistré : {path}", "exported": "Exporté : {paths}",
           "groups": {"levers": "Leviers (proposition)", "burn": "Décaissements et marge de sécurité",
                      "horizon": "Horizon", "scenario": "Scénario"},
           "save_as": "Enregistrer sous", "save": "Enregistrer la proposition (YAML)", "export_to": "Exporter vers",
           "export": "Exporter les graphiques", "reset": "Revenir à la référence",
           "costs": "Coûts", "call_list": "Relances", "page_title": "{company} — tableau de scénarios au {as_of}",
           "actions": {"promise call": "appel de promesse", "cut-off notice": "menace de suspension"},
           "options": {"": "(plan actuel)", "email": "e-mail", "sms": "SMS", "phone": "téléphone",
                       "manager_call": "appel d'un responsable", "sales_rep": "commercial",
                       "formal_notice": "mise en demeure", "litigation": "injonction de payer",
                       "friendly": "cordial", "firm": "ferme", "formal": "formel", "legal": "juridique"},
           "tone_default": "(ton de chaque canal)",
           "controls": {
               "discount_rate": ("Escompte (%)", "Escompte pour paiement anticipé sur les factures non échues ; "
                                 "0 = aucun"),
               "discount_deadline_days": ("Délai de l'escompte (j)", "Jours après la date de facture pour "
                                          "bénéficier de l'escompte"),
               "dunning_steps": ("Étapes de relance", "Nombre d'étapes du plan de relance : moins = plus doux, "
                                 "plus = plus ferme"),
               "dunning_days_earlier": ("Relances avancées de (j)", "Chaque relance avancée d'autant de jours ; "
                                        "avant l'échéance elle devient un rappel"),
               "dunning_rung": ("Échelon le plus haut", "Action la plus ferme du plan : les étapes au-dessus sont "
                                "retirées, les échelons manquants ajoutés après la dernière étape"),
               "dunning_tone": ("Ton des relances", "Ton de chaque étape de relance"),
               "deposit_share": ("Acompte (%)", "Part de chaque nouvelle commande encaissée en acompte ; 0 = aucun"),
               "direct_debit_adoption": ("Prélèvement SEPA (%)", "Part des clients (les plus tardifs d'abord) "
                                         "passés au prélèvement SEPA B2B ; 0 = aucun"),
               "promise_calls": ("Appels de promesse", "Appels aux plus gros comptes en retard pour obtenir une "
                                 "date de paiement ; 0 = aucun"),
               "cutoff_days": ("Menace de suspension (j de retard)", "Mise en demeure et menace de suspension "
                               "au-delà de ce retard ; 0 = aucune"),
               "financing_share": ("Financement (%)", "Part des créances financées (affacturage / Dailly) ; "
                                   "0 = aucun"),
               "financing_fee": ("Commission de financement (%)", "Commission sur les créances financées (TTC), "
                                 "en plus des intérêts"),
               "salaries_and_social": ("Salaires et charges / mois", "Décaissements mensuels TTC, euros"),
               "external_charges": ("Charges externes / mois", "Décaissements mensuels TTC, euros"),
               "taxes_and_vat": ("Impôts et TVA / mois", "Décaissements mensuels, euros"),
               "loan_repayments": ("Remboursements d'emprunts / mois", "Décaissements mensuels, euros"),
               "safety_margin": ("Marge de sécurité (%)", "Objectif en plus des décaissements, en part de ceux-ci"),
               "horizon_months": ("Horizon (mois)", "Mois prévus après la date d'arrêté")},
           "columns": {"month": "mois", "required": "besoin", "target_baseline": "objectif réf.",
                       "target_proposal": "objectif prop.", "collections_baseline": "encaissé réf.",
                       "collections_proposal": "encaissé prop.", "p_met_baseline": "P(atteint) réf.",
                       "p_met_proposal": "P(atteint) prop.", "shortfall_baseline": "manque réf.",
                       "shortfall_proposal": "manque prop.", "lever": "levier", "cost": "coût",
                       "annual_rate": "taux annualisé", "risk": "risque", "extra_cash": "encaissé en plus",
                       "cost_per_euro": "coût par euro", "rank": "rang", "customer_name": "client",
                       "segment": "segment", "outstanding": "restant dû", "days_overdue": "jours de retard",
                       "next_action": "action suivante", "proposal_action": "dans la proposition"}},
    "en": {"computing": "Computing…", "ready": "Up to date", "error": "Error",
           "out_of_range": "{label}: {value} refused, choose between {lo} and {hi}",
           "not_a_number": "{label}: {value} is not a number",
           "saved": "Saved {path}", "exported": "Exported {paths}",
           "groups": {"levers": "Levers (proposal)", "burn": "Cash burn and safety margin", "horizon": "Horizon",
                      "scenario": "Scenario"},
           "save_as": "Save as", "save": "Save proposal as params YAML", "export_to": "Export to",
           "export": "Export charts", "reset": "Back to baseline",
           "costs": "Costs", "call_list": "Call list", "page_title": "{company} — scenario panel, as of {as_of}",
           "actions": {"promise call": "promise call", "cut-off notice": "cut-off notice"},
           "options": {"": "(current plan)", "email": "e-mail", "sms": "SMS", "phone": "phone",
                       "manager_call": "manager call", "sales_rep": "sales rep", "formal_notice": "formal notice",
                       "litigation": "litigation", "friendly": "friendly", "firm": "firm", "formal": "formal",
                       "legal": "legal"},
           "tone_default": "(each channel's own)",
           "controls": {},           # English labels and help are the controls' own (cashsim.panel.controls)
           "columns": {"target_baseline": "target base", "target_proposal": "target prop.",
                       "collections_baseline": "collected base", "collections_proposal": "collected prop.",
                       "p_met_baseline": "P(met) base", "p_met_proposal": "P(met) prop.",
                       "shortfall_baseline": "shortfall base", "shortfall_proposal": "shortfall prop.",
                       "proposal_action": "in the proposal"}},
}


def _text(locale: str) -> dict[str, Any]:
    return TEXT.get(fmt.parse_locale(locale).language, TEXT["en"])
