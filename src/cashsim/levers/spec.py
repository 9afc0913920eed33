"""The lever contract: a frozen, validated spec with ``apply``, ``costs``, ``actions`` and a relationship risk.

Every lever derives from :class:`LeverSpec`: ``kind`` names it in a params file, unknown keys are rejected with the
closest valid one named, ``apply(book, model=None)`` returns a new ``Book``, ``costs`` the expected costs by month
(``COST_COLUMNS``), ``actions`` who is targeted. Building a spec directly with bad values raises
:class:`cashsim.errors.ParamsError` naming the lever kind and the field, one line per problem:
``EarlyPaymentDiscount(rate=5)`` raises ``lever 'early_payment_discount', field 'rate': Input should be less than
0.2 (got 5)``. A params file validates the same models nested in ``Params``, which calls neither ``__init__`` nor
``model_validate``: its messages stay :func:`cashsim.params.format_validation_error`'s (file and dotted key).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cashsim.errors import ParamsError
from cashsim.levers._book import empty_costs

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book

Probability = Annotated[float, Field(ge=0, le=1)]
RISK_LEVELS: tuple[str, ...] = ("none", "low", "medium", "high")
Risk = Literal["none", "low", "medium", "high"]


def _spec_error(what: str, valid: list[str], exc: ValidationError) -> ParamsError:
    """One line per problem naming the spec (``what``) and the field (dotted for nested ones: ``steps.0.day``)."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        if not field and err["type"] == "value_error":   # an unknown lever key: the message names lever and key
            lines.append(err["msg"].removeprefix("Value error, "))
        elif not field:
            lines.append(f"{what}: {err['msg']}")
        elif err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(field, valid, n=1, cutoff=0.5)
            lines.append(f"{what}: unknown key '{field}'" + (f"; did you mean '{close[0]}'?" if close else ""))
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            lines.append(f"{what}, field '{field}': {err['msg']}{shown}")
    return ParamsError("\n".join(lines))


class SpecModel(BaseModel):
    """A spec built from keyword values (or ``model_validate``) raises :class:`ParamsError`, not pydantic's error."""

    @classmethod
    def _spec_name(cls, data: Any) -> str:
        return cls.__name__

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _spec_error(self._spec_name(data), list(type(self).model_fields), exc) from None

    # pydantic calls an overridden __init__ for nested models too (a params file's scenarios); marked as its base
    # __init__ (as pydantic's RootModel does), nested specs are validated without it and keep the params messages.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise _spec_error(cls._spec_name(obj), list(cls.model_fields), exc) from None


class LeverSpec(SpecModel):
    """Common base: frozen, unknown keys rejected with the closest valid one named."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    #: A label for tables and charts; defaults to the kind.
    label: str | None = None

    risk_note: ClassVar[str] = ""

    @classmethod
    def _spec_name(cls, data: Any) -> str:
        kind = cls.model_fields["kind"].default
        if not isinstance(kind, str):  # the base class: the kind given, if any
            kind = data.get("kind", cls.__name__) if isinstance(data, dict) else cls.__name__
        return f"lever '{kind}'"

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            valid = list(cls.model_fields)
            for key in data:
                if key not in valid:
                    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
                    hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
                    raise ValueError(f"unknown key '{key}' for {cls._spec_name(data)}; {hint}")
        return data

    @property
    def name(self) -> str:
        return self.label or self.kind

    @property
    def risk(self) -> Risk:
        return "low"

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:  # pragma: no cover - every lever overrides
        raise NotImplementedError

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        """Expected costs by month; ``after`` = ``self.apply(book, model)`` when the caller already has it."""
        return empty_costs()

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        return pd.DataFrame(columns=["lever", "customer_id", "invoice_id", "amount", "action"])

    def is_financing(self) -> bool:
        return False

    def changes_nothing(self) -> bool:
        """True when the lever is current practice itself (a dunning plan equal to the current one)."""
        return False
