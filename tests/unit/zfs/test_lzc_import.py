"""The background import of pyzfs: it finishes before the first use, and a failed import surfaces there."""

from __future__ import annotations

import copy

import pytest

from zfstm.errors import PyzfsMissing
from zfstm.zfs.lzc_import import BackgroundImport, installed


def test_attribute_access_waits_for_the_module() -> None:
    lazy = BackgroundImport("json")
    assert lazy.dumps([1]) == "[1]"
    assert lazy.module().__name__ == "json"


def test_a_failed_import_raises_pyzfs_missing_on_first_use_with_the_reason() -> None:
    lazy = BackgroundImport("zfstm_no_such_module")
    with pytest.raises(PyzfsMissing, match=r"zfstm_no_such_module.*python3-pyzfs"):
        _ = lazy.lzc_snapshot


def test_private_names_are_not_looked_up_in_the_module() -> None:
    lazy = BackgroundImport("json")
    with pytest.raises(AttributeError):
        _ = lazy._not_there
    assert copy.copy(lazy).dumps(0) == "0"


def test_installed_is_false_for_a_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("zfstm.zfs.lzc_import.MODULE", "zfstm_no_such_module")
    assert not installed()
