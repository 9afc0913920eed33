"""The fit cache: a loaded model equals the fitted one bit for bit; changed inputs refit; bad entries are refitted."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_index_equal, assert_series_equal

import cashsim.behaviour.model as model_module
import cashsim.cache.fits as fits
from cashsim import pipeline
from cashsim.behaviour import PayerModel
from cashsim.book import Book
from cashsim.cache import (
    CacheError,
    FitCacheWarning,
    cache_folder,
    clear_cache,
    fit_key,
    ledger_digest,
    load_dataclass,
    save_dataclass,
)
from cashsim.cache.archive import _Reader, _Writer
from cashsim.cache.store import MAX_ENTRIES, cache_off, prune
from cashsim.cli import build_parser
from cashsim.params import load_params
from cashsim.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]


def assert_same(a, b, where="value"):
    """Equal bit for bit: same types (dict keys too), dtypes, index types and names, array bytes."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, pd.DataFrame):
        assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True, check_freq=True)
        assert a.attrs == b.attrs
        for col in range(a.shape[1]):
            assert_same(a.iloc[:, col], b.iloc[:, col], f"{where}[{a.columns[col]!r}]")
    elif isinstance(a, pd.Series):
        assert_series_equal(a, b, check_exact=True, check_index_type=True, check_freq=True)
        if isinstance(a.dtype, np.dtype) and a.dtype != object:
            assert a.to_numpy().tobytes() == b.to_numpy().tobytes(), where
        elif a.dtype == object:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                assert_same(x, y, f"{where}.iloc[{i}]")
    elif isinstance(a, pd.Index):
        assert_index_equal(a, b, exact=True, check_exact=True)
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel(), strict=True)):
                assert_same(x, y, f"{where}[{i}]")
        else:
            assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, dict):
        assert [type(k) for k in a] == [type(k) for k in b] and list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, float | np.floating) and np.isnan(a):
        assert np.isnan(b) and np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
        if isinstance(a, pd.Timestamp):
            assert (a.unit, a.tz) == (b.unit, b.tz), where


@pytest.fixture
def params():
    return load_params(ROOT / "params" / "demo.yml")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A cache folder of this test alone, the cache on."""
    monkeypatch.setenv("CASHSIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CASHSIM_NO_CACHE", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def fit_calls(monkeypatch):
    """How many times the cache had to fit (fit_behaviour as seen by cashsim.cache.fits)."""
    calls = []
    real = fits.fit_behaviour

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(fits, "fit_behaviour", counting)
    return calls


@pytest.fixture(scope="module")
def fitted(demo):
    """The demo's baseline fitted without the cache."""
    return pipeline.prepare(load_params(ROOT / "params" / "demo.yml"), demo.ledger, cache=False)


def test_conftest_keeps_the_suite_out_of_the_home_cache():
    folder = Path(os.environ["CASHSIM_CACHE_DIR"]).resolve()
    assert not folder.is_relative_to(Path.home() / ".cache")
    assert cache_folder() == Path(os.environ["CASHSIM_CACHE_DIR"])


def test_every_field_of_the_fitted_model_round_trips_bit_for_bit(fitted, tmp_path):
    path = save_dataclass(fitted.model, tmp_path / "model.npz")
    loaded = load_dataclass(path, PayerModel)
    for f in dataclasses.fields(PayerModel):
        assert_same(getattr(fitted.model, f.name), getattr(loaded, f.name), f"PayerModel.{f.name}")
    book = load_dataclass(save_dataclass(fitted.book, tmp_path / "book.npz"), Book)
    assert_same(fitted.book, book, "Book")


def test_loaded_model_gives_the_same_book_and_simulation(fitted, params, demo, folder, fit_calls):
    cold = pipeline.prepare(params, demo.ledger)
    warm = pipeline.prepare(params, demo.ledger)
    assert len(fit_calls) == 1  # the second prepare read the cache
    assert_same(fitted.model, warm.model, "model")
    assert_same(fitted.book, warm.book, "book")
    # and the book the loaded model builds is the fitted one's, as is a simulation from it
    known = demo.ledger.known_at(warm.as_of)
    rebuilt = warm.model.book(known.open_book(warm.as_of), params.sales_plan, horizon_end=warm.horizon_end,
                              promises=known.promises)
    assert_same(fitted.book, rebuilt, "book from the loaded model")
    kw = dict(horizon_end=warm.horizon_end, n_paths=200, seed=3)
    a = simulate(fitted.book, rho_month=fitted.model.rho_month, rho_customer=fitted.model.rho_customer, **kw)
    b = simulate(rebuilt, rho_month=warm.model.rho_month, rho_customer=warm.model.rho_customer, **kw)
    assert a.daily.tobytes() == b.daily.tobytes() and a.daily_cost.tobytes() == b.daily_cost.tobytes()
    assert_same(cold.model, warm.model, "cold vs warm")
    assert sorted(p.name.split("-")[0] for p in folder.glob("*.npz")) == ["book", "fit"]


def test_a_changed_ledger_as_of_or_setting_refits(params, demo, folder, fit_calls):
    pipeline.prepare(params, demo.ledger)
    pipeline.prepare(params, demo.ledger)
    assert len(fit_calls) == 1
    inv = demo.ledger.invoices.copy()
    inv.loc[inv.index[0], "amount"] += 0.01
    pipeline.prepare(params, dataclasses.replace(demo.ledger, invoices=inv))
    assert len(fit_calls) == 2
    pipeline.prepare(params.model_copy(update={"as_of": pd.Timestamp("2026-09-30").date()}), demo.ledger)
    assert len(fit_calls) == 3
    slower = params.behaviour.model_copy(update={"half_life_days": 200.0})
    pipeline.prepare(params.model_copy(update={"behaviour": slower}), demo.ledger)
    assert len(fit_calls) == 4
    # the sales plan is the book's, not the fit's: the fit is read, the book rebuilt
    base = pipeline.prepare(params.model_copy(update={"sales_plan": []}), demo.ledger)
    assert len(fit_calls) == 4 and not base.book.invoices["is_future"].any()


def test_the_key_covers_content_not_identity(demo):
    as_of = pd.Timestamp("2026-10-31")
    copy = dataclasses.replace(demo.ledger, invoices=demo.ledger.invoices.copy())
    assert ledger_digest(copy) == ledger_digest(demo.ledger)
    renamed = demo.ledger.invoices.rename(columns={"amount": "montant"})
    assert ledger_digest(dataclasses.replace(demo.ledger, invoices=renamed)) != ledger_digest(demo.ledger)
    key = fit_key(demo.ledger, as_of, {"half_life_days": 365.0})
    assert key == fit_key(copy, as_of, {"half_life_days": 365.0})
    assert key != fit_key(demo.ledger, as_of, {"half_life_days": 365.5})
    assert key != fit_key(demo.ledger, as_of + pd.Timedelta(days=1), {"half_life_days": 365.0})


def test_a_corrupt_entry_warns_and_is_refitted(params, demo, folder, fit_calls, fitted):
    pipeline.prepare(params, demo.ledger)
    entry = next(folder.glob("fit-*.npz"))
    entry.write_bytes(b"not a zip file")
    with pytest.warns(FitCacheWarning, match="ignoring"):
        again = pipeline.prepare(params, demo.ledger)
    assert len(fit_calls) == 2
    assert_same(fitted.model, again.model, "refitted")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipeline.prepare(params, demo.ledger)  # rewritten: read without a warning
    assert len(fit_calls) == 2


def test_an_entry_of_another_kind_or_format_is_ignored(params, demo, folder, fit_calls, monkeypatch):
    pipeline.prepare(params, demo.ledger)
    fit_file, book_file = next(folder.glob("fit-*.npz")), next(folder.glob("book-*.npz"))
    fit_file.write_bytes(book_file.read_bytes())  # a Book where a PayerModel is expected
    with pytest.warns(FitCacheWarning):
        pipeline.prepare(params, demo.ledger)
    assert len(fit_calls) == 2
    monkeypatch.setattr("cashsim.cache.archive.ARCHIVE_FORMAT", 999)  # a newer cashsim's files
    with pytest.warns(FitCacheWarning, match="format"):
        pipeline.prepare(params, demo.ledger)
    assert len(fit_calls) == 3


def test_the_cache_can_be_turned_off(params, demo, folder, fit_calls):
    pipeline.prepare(params, demo.ledger, cache=False)
    pipeline.prepare(params.model_copy(update={"cache": params.cache.model_copy(update={"enabled": False})}),
                     demo.ledger)
    with cache_off():
        pipeline.prepare(params, demo.ledger)
    assert "CASHSIM_NO_CACHE" not in os.environ
    assert not folder.exists() or not list(folder.iterdir())
    assert len(fit_calls) == 1  # only the call under cache_off went through the cache module


def test_cache_folder_order(params, tmp_path, monkeypatch):
    monkeypatch.setenv("CASHSIM_CACHE_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "env"
    assert cache_folder(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("CASHSIM_CACHE_DIR")
    assert cache_folder() == tmp_path / "xdg" / "cashsim"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_folder() == Path.home() / ".cache" / "cashsim"
    # a params file's cache.dir is relative to the file
    p = params.model_copy(update={"cache": params.cache.model_copy(update={"dir": Path("cache")})})
    assert p.resolve(p.cache.dir) == ROOT / "params" / "cache"


def test_params_cache_dir_is_used(params, demo, tmp_path, folder):
    p = params.model_copy(update={"cache": params.cache.model_copy(update={"dir": tmp_path / "mine"})})
    pipeline.prepare(p, demo.ledger)
    assert len(list((tmp_path / "mine").glob("fit-*.npz"))) == 1 and not folder.exists()


def test_unsupported_types_fail_at_save_naming_the_field(fitted, tmp_path):
    odd = dataclasses.replace(fitted.model, diagnostics={"solver": object()})
    with pytest.raises(CacheError, match=r"PayerModel\.diagnostics\['solver'\]"):
        save_dataclass(odd, tmp_path / "odd.npz")
    assert not list(tmp_path.iterdir())
    period = dataclasses.replace(fitted.model, month_effects=pd.Series([1.0], index=pd.PeriodIndex(["2026-10"],
                                                                                                    freq="M")))
    with pytest.raises(CacheError, match="month_effects"):
        save_dataclass(period, tmp_path / "odd.npz")


def test_new_fields_of_supported_types_round_trip_without_code_changes(fitted, tmp_path, monkeypatch):
    """Another field on PayerModel (array, float, frame...) is stored by its runtime type."""
    extra = {
        "new_array": np.arange(12, dtype=np.int32).reshape(3, 4),
        "new_float": 0.1 + 0.2,
        "new_frame": pd.DataFrame({"when": pd.to_datetime(["2026-01-01", None]), "n": pd.array([1, None], "Int64"),
                                   "cat": pd.Categorical(["b", "a"]), "s": ["x", np.nan], "flag": [True, False],
                                   "tz": pd.to_datetime(["2026-03-29 01:00", "2026-03-29 03:00"]).tz_localize(
                                       "Europe/Paris")},
                                  index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "v"])),
        "new_series": pd.Series([1.5, -0.0, np.inf], index=pd.date_range("2026-01-01", periods=3, freq="D"),
                                name="daily"),
        "new_objects": pd.Series([(1, 2), ("a",), None, 2.5], dtype=object),
        "new_pairs": pd.Series([(1, 2)], dtype=object),  # a lone tuple stays one element, not an axis
        "new_nested": {1: [np.float32(0.5), np.int16(-3)], "t": pd.Timestamp("2026-10-31 12:00", tz="UTC"),
                       ("a", 1): pd.Timedelta(days=2), "nan": float("nan"), "s": "é\x00"},
    }
    cls = dataclasses.make_dataclass("PayerModelPlus", [(k, object, dataclasses.field(default=None)) for k in extra],
                                     bases=(PayerModel,),
                                     frozen=True, eq=False)
    cls.__module__ = model_module.__name__
    monkeypatch.setattr(model_module, "PayerModelPlus", cls, raising=False)
    plus = cls(**{f.name: getattr(fitted.model, f.name) for f in dataclasses.fields(PayerModel)}, **extra)
    loaded = load_dataclass(save_dataclass(plus, tmp_path / "plus.npz"), cls)
    for f in dataclasses.fields(cls):
        assert_same(getattr(plus, f.name), getattr(loaded, f.name), f"PayerModelPlus.{f.name}")


def test_loading_never_runs_code_from_the_file(tmp_path):
    writer = _Writer()
    tree = writer.encode({"x": 1}, "value")
    with pytest.raises(CacheError, match="not a cashsim dataclass"):
        _Reader({}).decode({"t": "dataclass", "cls": "os:system", "fields": {}})
    assert _Reader(writer.arrays).decode(tree) == {"x": 1}
    np.savez(tmp_path / "evil.npz", __meta__=np.frombuffer(b"{}", np.uint8), x=np.array([object()], dtype=object))
    with pytest.raises(CacheError):
        load_dataclass(tmp_path / "evil.npz")  # and numpy refuses the pickled array (allow_pickle=False)


def test_writes_leave_no_temporary_files_and_prune_keeps_the_newest(fitted, tmp_path):
    for i in range(MAX_ENTRIES + 3):
        path = save_dataclass(fitted.model.as_of, tmp_path / f"fit-{i:03d}.npz")
        os.utime(path, (i, i))
    prune(tmp_path)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == MAX_ENTRIES and kept[0] == "fit-003.npz"
    assert clear_cache(tmp_path) == MAX_ENTRIES and not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["forecast", "targets", "levers", "report", "panel"])
def test_commands_that_fit_take_no_cache(command):
    required = {"forecast": [], "targets": ["--params", "p.yml"], "levers": ["--params", "p.yml"],
                "report": ["--params", "p.yml", "--month", "2026-11"], "panel": ["--params", "p.yml"]}
    parser = build_parser()
    assert parser.parse_args([command, *required[command], "--no-cache"]).no_cache is True
    assert parser.parse_args([command, *required[command]]).no_cache is False


def test_forecast_command_with_no_cache_writes_nothing(tmp_path, folder, capsys):
    from cashsim.cli import main

    out = tmp_path / "f.json"
    assert main(["forecast", "--params", str(ROOT / "params" / "demo.yml"), "--paths", "20", "--months", "1",
                 "--no-cache", "--json", str(out)]) == 0
    assert out.exists() and not folder.exists()
    assert "CASHSIM_NO_CACHE" not in os.environ
