"""Every registry behaves the same: tests loop over `all_registries()`, never pin contents."""

from __future__ import annotations

import pytest

from ohq.errors import OhqError
from ohq.registry import REGISTRIES, Registry, all_registries

ALL = all_registries()
EXPECTED = {"model", "scheme", "observer", "probe", "sensitivity method", "export format", "objective",
            "search", "trainer"}


def test_every_extension_point_has_a_registry():
    assert EXPECTED <= set(ALL)


@pytest.mark.parametrize("kind", sorted(ALL))
def test_registry_lookup_and_errors(kind):
    reg = ALL[kind]
    for name, entry in reg.items():
        assert reg.get(name) is entry and name in reg
        if isinstance(entry, type) or reg.instantiate:
            assert entry.name == name  # the decorator names the class
    with pytest.raises(OhqError, match=f"unknown {kind} 'no-such-thing'; known "):
        reg.get("no-such-thing")


@pytest.mark.parametrize("kind", sorted(ALL))
def test_register_twice_is_refused_and_unregister_cleans_up(kind):
    reg = ALL[kind]

    class Toy:
        pass

    reg.register("toy-entry")(Toy)
    try:
        assert "toy-entry" in reg.names()
        with pytest.raises(RuntimeError, match="registered twice"):
            reg.register("toy-entry")(Toy)
    finally:
        reg.unregister("toy-entry")
    assert "toy-entry" not in reg


def test_register_needs_a_name():
    reg: Registry[object] = Registry("test-thing")
    try:
        with pytest.raises(TypeError, match="register a test-thing with its name"):
            reg.register(object)  # type: ignore[arg-type]
    finally:
        del REGISTRIES["test-thing"]
