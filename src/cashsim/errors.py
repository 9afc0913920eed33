"""Exception types, one per stage, under a single root so callers can catch all of cashsim's errors at once."""


class CashsimError(Exception):
    """Root of every error cashsim raises on purpose."""


class ParamsError(CashsimError):
    """A parameter file is unreadable or invalid; the message names the file, the key and the fix."""


class LedgerError(CashsimError):
    """A ledger input cannot be used at all (missing file or column, bad mapping); names the file and column."""


class ModelError(CashsimError):
    """Payer behaviour cannot be fitted from the history given (for example no closed invoice at all)."""


class ReportError(CashsimError):
    """A monthly report run failed; the message says which cell and where the failed notebook was kept."""
