"""Basic tests of the linli Python bindings: version and exception hierarchy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import linli
from linli import (
    AuthorizationError,
    ConflictError,
    LinliError,
    StorageError,
    SyncError,
    ValidationError,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomllib is only in the standard library from 3.11 on
    tomllib = pytest.importorskip("tomli")

REPO_ROOT = Path(__file__).resolve().parents[3]

SUBCLASSES = [
    ValidationError,
    AuthorizationError,
    ConflictError,
    StorageError,
    SyncError,
]


def workspace_version() -> str:
    with (REPO_ROOT / "Cargo.toml").open("rb") as f:
        version = tomllib.load(f)["workspace"]["package"]["version"]
    assert isinstance(version, str)
    return version


def test_version_is_non_empty_string() -> None:
    assert isinstance(linli.__version__, str)
    assert linli.__version__


def test_version_matches_cargo_workspace() -> None:
    assert linli.__version__ == workspace_version()


def test_core_version_matches_dunder_version() -> None:
    assert linli.core_version() == linli.__version__


def test_all_names_exist() -> None:
    for name in linli.__all__:
        assert hasattr(linli, name), name


def test_package_reexports_whole_extension_module() -> None:
    # The extension module, the generated result classes, the module itself and `connect`.
    whole = [*linli._linli.__all__, *linli.results.__all__, "results", "connect"]
    assert sorted(linli.__all__) == sorted(whole)


def test_linli_error_is_exception() -> None:
    assert issubclass(LinliError, Exception)
    assert LinliError.__module__ == "linli"


@pytest.mark.parametrize("exc", SUBCLASSES, ids=lambda e: e.__name__)
def test_subclass_hierarchy(exc: type[LinliError]) -> None:
    assert issubclass(exc, LinliError)
    assert issubclass(exc, Exception)
    assert exc is not LinliError
    # The extension module and the package expose the very same class.
    assert getattr(linli._linli, exc.__name__) is exc


@pytest.mark.parametrize("exc", SUBCLASSES, ids=lambda e: e.__name__)
def test_raise_and_catch(exc: type[LinliError]) -> None:
    with pytest.raises(exc, match="boom"):
        raise exc("boom")
    with pytest.raises(LinliError) as info:
        raise exc("boom")
    assert type(info.value) is exc
    assert info.value.args == ("boom",)
    try:
        raise exc("caught")
    except LinliError as e:
        assert str(e) == "caught"


def test_subclasses_are_distinct() -> None:
    for a in SUBCLASSES:
        for b in SUBCLASSES:
            if a is not b:
                assert not issubclass(a, b)
