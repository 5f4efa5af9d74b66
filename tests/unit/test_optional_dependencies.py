from __future__ import annotations

import sys

import pytest

from ferryml._optional import require
from ferryml.errors import MissingDependencyError
from ferryml.spark import spark_session


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import pyspark.sql` raise ImportError, as when absent.
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(MissingDependencyError) as info:
        spark_session()
    assert info.value.hint == "install it with: pip install 'ferryml[spark]'"
    assert "Spark computation needs the optional package 'pyspark'" in str(info.value)


def test_an_installed_module_is_returned() -> None:
    assert require("json", extra="core", purpose="JSON").__name__ == "json"
