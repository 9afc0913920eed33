"""Write ibm_schema_sample.csv: a small invented file in the schema of IBM's late-payment sample.

Same columns, formats (m/d/yyyy dates, Yes/No, Paper/Electronic) and quirks (DaysLate clipped at 0) as
WA_Fn-UseC_-Accounts-Receivable.csv, with made-up customers and amounts, so the adapter is tested in a clone that
has no ../shared. Run `python tests/data/make_ibm_schema_sample.py` to rebuild it (deterministic).
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(2013)
customers = [("391", "0101-AAAAA"), ("391", "0202-BBBBB"), ("406", "0303-CCCCC"),
             ("406", "0404-DDDDD"), ("770", "0505-EEEEE"), ("770", "0606-FFFFF")]
rows = []
for k in range(60):
    country, customer = customers[k % len(customers)]
    issued = pd.Timestamp("2012-01-03") + pd.Timedelta(days=int(k * 11 + rng.integers(0, 5)))
    due = issued + pd.Timedelta(days=30)
    disputed = k % 5 == 0
    delay = int(rng.integers(-12, 6)) + (15 if disputed else 0)  # days relative to the due date
    settled = due + pd.Timedelta(days=delay)
    rows.append({
        "countryCode": country, "customerID": customer,
        "PaperlessDate": f"{issued.month}/{issued.day}/{issued.year - 1}",
        "invoiceNumber": str(700000 + 37 * k), "InvoiceDate": f"{issued.month}/{issued.day}/{issued.year}",
        "DueDate": f"{due.month}/{due.day}/{due.year}", "InvoiceAmount": round(float(rng.uniform(20, 120)), 2),
        "Disputed": "Yes" if disputed else "No", "SettledDate": f"{settled.month}/{settled.day}/{settled.year}",
        "PaperlessBill": "Electronic" if k % 3 else "Paper", "DaysToSettle": (settled - issued).days,
        "DaysLate": max(0, delay),
    })
pd.DataFrame(rows).to_csv(Path(__file__).with_name("ibm_schema_sample.csv"), index=False)
