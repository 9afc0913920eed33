"""cashsim.errors: errors and warnings carry where the problem is as fields, not only in their text."""

from __future__ import annotations

import pickle
import warnings

import pytest

from cashsim.errors import (
    CashsimError,
    CashsimWarning,
    DataWarning,
    LedgerError,
    ModelError,
    ModelWarning,
    OutputError,
    ParamsError,
    ReportError,
)


@pytest.mark.parametrize("kind", [CashsimError, ParamsError, LedgerError, ModelError, ReportError, OutputError])
def test_errors_carry_fields(kind):
    err = kind("factures.csv, row 4: not a date", file="factures.csv", row=4, column="issue_date", value="31/02")
    assert (err.file, err.row, err.column, err.key, err.value) == ("factures.csv", 4, "issue_date", None, "31/02")
    assert err.fields == {"file": "factures.csv", "row": 4, "column": "issue_date", "value": "31/02"}
    assert str(err) == "factures.csv, row 4: not a date" and isinstance(err, CashsimError)
    again = pickle.loads(pickle.dumps(err))           # crosses process boundaries (dask workers) with its fields
    assert type(again) is kind and again.fields == err.fields and str(again) == str(err)
    plain = kind("a message only")                    # every existing raise site keeps working
    assert plain.fields == {} and plain.file is None and plain.args == ("a message only",)
    with pytest.raises(TypeError, match="reserved"):
        kind("x", args=1)


def test_params_and_ledger_errors_name_their_key_and_file(tmp_path):
    from cashsim.ledger import read_ledger
    from cashsim.params import parse_params

    with pytest.raises(ParamsError) as err:
        parse_params({"simulation": {"n_paths": 0}}, source="company.yml")
    assert (err.value.file, err.value.key) == ("company.yml", "simulation.n_paths")
    with pytest.raises(LedgerError) as err:
        read_ledger(tmp_path / "nope.csv", tmp_path / "p.csv")
    assert "nope.csv" in str(err.value)


def test_warnings_are_named_and_carry_fields():
    assert issubclass(DataWarning, CashsimWarning) and issubclass(ModelWarning, CashsimWarning)
    assert issubclass(CashsimWarning, UserWarning) and not issubclass(CashsimWarning, CashsimError)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(DataWarning("3 rows without a due date: 30 days assumed", file="f.csv", column="due_date"),
                      stacklevel=1)
    assert caught[0].category is DataWarning and caught[0].message.column == "due_date"
    with warnings.catch_warnings():
        warnings.simplefilter("error", CashsimWarning)   # one filter turns every soft problem into an error
        with pytest.raises(ModelWarning):
            warnings.warn(ModelWarning("thin history: prior used", key="sme"), stacklevel=1)
