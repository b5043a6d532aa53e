"""Every public function and class says what it does and shows it in a runnable example.

Public means exported through ``__all__`` by a module whose dotted path has no part
starting with ``_``. The examples themselves run as doctests (``--doctest-modules`` in
pyproject.toml); this test makes sure there is one to run. Exceptions and warnings need
a docstring only: what raises them is shown where they are raised.
"""

import importlib
import inspect
import pkgutil

import pytest

import autodiff
import nn


def public_modules() -> list[str]:
    names = []
    for package in (autodiff, nn):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names)


def public_objects() -> dict[str, object]:
    found = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.setdefault(f"{module_name}.{name}", obj)
    return found


PUBLIC = public_objects()


def test_the_walk_finds_the_public_api():
    assert len(PUBLIC) > 150
    for name in ("autodiff.testing.gradcheck", "nn.Linear", "nn.optim.Adam", "autodiff.viz.render"):
        assert name in PUBLIC


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_name_has_a_docstring_with_an_example(name):
    obj = PUBLIC[name]
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    if inspect.isclass(obj) and issubclass(obj, (BaseException, Warning)):
        return
    assert ">>>" in doc, f"{name}: its docstring has no runnable example (a '>>>' line)"
