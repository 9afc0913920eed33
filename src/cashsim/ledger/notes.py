"""Notes: cells the reader replaced or redirected while keeping their row, so that nothing it decided is silent.

A note row is (table, file, row, column, header, value, used, reason), numbered like the rejections (``row`` =
spreadsheet row, header = 1; a DataFrame's position + 2; ``header`` the file's own name of ``column``): ``value`` is
the raw cell, ``used`` what the ledger holds instead, ``reason`` one :class:`NoteReason`. A row has notes only if it
is used: a row rejected later loses its notes (its rejection says what happened to it).

* ``LABEL_UNKNOWN``: a coded label (payment method, dispute type, dunning channel, customer type) matching no keyword
  of :mod:`cashsim.ledger.labels`: the column's fallback is used (``transfer``, ``other``, ``company``).
* ``APPLIES_TO_IGNORED``: ``applies_to`` on an invoice with a positive amount (only credit notes settle invoices).
* ``MORE_THAN_OWED``: a payment or credit note naming an invoice that owed less than it when it came (an earlier
  credit note or allocation had settled part of it): the invoice takes what it still owed, the rest is allocated
  oldest due first like cash on account (:mod:`cashsim.ledger.credits`).
* ``NO_CLIENT_GROUP``: a customer with no client group (segment) while other customers have one: it gets the
  segment ``all``, shared by every customer without a group, whose payment habits are fitted on that group's invoices
  alone (the report's *no client group*). Noted once per customer, on its customers-file row (else its first
  invoice), ``used`` naming the customer (:data:`cashsim.ledger.wording.NO_GROUP_USED`). A ledger where no customer
  has a group is one group, ``all``, and has no such note.

>>> str(NoteReason.LABEL_UNKNOWN)
'label not recognised: fallback used'
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from cashsim.ledger.columns import NOTE_COLUMNS, TABLES


class NoteReason(StrEnum):
    """Why a cell of a used row was replaced or redirected: the vocabulary of ``ledger.notes.reason``."""

    LABEL_UNKNOWN = "label not recognised: fallback used"
    APPLIES_TO_IGNORED = "applies_to ignored: not a credit note"
    MORE_THAN_OWED = "more than its invoice still owed: the rest on account"
    NO_CLIENT_GROUP = "no client group: modelled apart, with any other customer without one"


def _note_rows(table: str, label: str, rows: np.ndarray, column: str, header: str, value: Any, used: Any,
               reason: NoteReason) -> pd.DataFrame:
    """Note rows for spreadsheet ``rows`` of one input (``header``: the file's own name of ``column``)."""
    rows = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame({"table": table, "file": label, "row": rows, "column": column, "header": header,
                         "value": np.asarray(value, dtype=object) if not isinstance(value, str) else value,
                         "used": np.asarray(used, dtype=object) if not isinstance(used, str) else used,
                         "reason": str(reason)}, index=range(len(rows)))


def _empty_notes() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in NOTE_COLUMNS})


def _notes_frame(parts: list[pd.DataFrame], rejections: pd.DataFrame) -> pd.DataFrame:
    """The notes of rows that were used (rows later rejected drop theirs), in table then row order."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_notes()
    out = pd.concat(parts, ignore_index=True)
    rejected = pd.MultiIndex.from_frame(rejections[["table", "file", "row"]])
    out = out[~pd.MultiIndex.from_frame(out[["table", "file", "row"]]).isin(rejected)]
    order = out["table"].map({t: i for i, t in enumerate(TABLES)})
    out = out.assign(_t=order).sort_values(["_t", "row"], kind="stable").drop(columns="_t")
    return out[list(NOTE_COLUMNS)].reset_index(drop=True).astype({"row": "int64", "value": "str", "used": "str"})
