"""Dataclasses' methods compiled once and kept in the cache folder: the same classes."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

import pytest

from journeylang import compiled_methods
from journeylang.compiled_methods import kept_between_runs
from journeylang.records import record

ROOT = Path(__file__).resolve().parent.parent


def make_classes():
    """Dataclasses of every kind the project writes: frozen records, frozen with order,
    mutable with factories, keyword-only fields."""

    @record
    class Point:
        """A frozen record."""

        x: int
        label: str = "origin"
        tags: tuple[str, ...] = ()
        _: KW_ONLY
        note: str | None = None

    @dataclass(frozen=True, order=True)
    class Ordered:
        """Frozen and ordered."""

        rank: int
        name: str = field(default="", compare=False)

    @dataclass
    class Mutable:
        """Mutable, with a factory."""

        items: list[int] = field(default_factory=list)
        seen: int = 0

    return [Point, Ordered, Mutable]


METHODS = ("__init__", "__setattr__", "__delattr__", "__eq__", "__lt__", "__le__", "__gt__",
           "__ge__", "__repr__", "__hash__")


def signature_of(classes) -> list:
    """What dataclasses wrote for each class: each method's code, defaults and annotations."""
    written = []
    for cls in classes:
        for name in METHODS:
            method = cls.__dict__.get(name)
            code = getattr(method, "__code__", None)
            written.append((cls.__name__, name, code,
                            getattr(method, "__defaults__", None),
                            getattr(method, "__kwdefaults__", None),
                            getattr(method, "__annotations__", None)))
    return written


def behaviour_of(classes) -> list:
    Point, Ordered, Mutable = classes
    point = Point(1, "a", note="n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.label
    mutable = Mutable()
    mutable.items.append(1)
    return [repr(point), point == Point(1, "a", note="n"), hash(point) == hash(Point(1, "a", note="n")),
            Ordered(1) < Ordered(2), Ordered(1, "x") == Ordered(1, "y"), repr(Mutable()),
            mutable.items, Mutable().items, [f.name for f in dataclasses.fields(Point)]]


def test_classes_made_in_a_block_are_those_made_without(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", str(tmp_path))
    plain = make_classes()
    with kept_between_runs("test"):  # nothing cached yet: compiled here, then kept
        first = make_classes()
    assert list(tmp_path.glob("methods-*.marshal"))
    with kept_between_runs("test"):  # read from the cache folder
        second = make_classes()
    assert signature_of(first) == signature_of(plain) == signature_of(second)
    assert behaviour_of(first) == behaviour_of(plain) == behaviour_of(second)


def test_a_second_run_compiles_nothing_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", str(tmp_path))
    with kept_between_runs("test"):
        make_classes()
    [kept] = tmp_path.glob("methods-*.marshal")
    written = kept.stat().st_mtime_ns, kept.read_bytes()

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled a text that the cache holds")

    monkeypatch.setattr(compiled_methods, "compile", no_compile, raising=False)
    with kept_between_runs("test"):
        make_classes()
    assert (kept.stat().st_mtime_ns, kept.read_bytes()) == written


def test_a_changed_class_is_compiled_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", str(tmp_path))
    with kept_between_runs("test"):
        make_classes()
    with kept_between_runs("test"):
        @record
        class Other:
            """Fields no class had before."""

            y: int
            z: int = 3
    assert Other(1) == Other(1, 3) and repr(Other(1)).endswith("Other(y=1, z=3)")
    compiled = []
    monkeypatch.setattr(compiled_methods, "compile", lambda *a, **k: compiled.append(a) or
                        compile(*a, **k), raising=False)
    with kept_between_runs("test"):
        @record
        class Other:  # noqa: F811  the same text again: read from the file
            """Fields no class had before."""

            y: int
            z: int = 3
    assert compiled == []


def test_a_damaged_file_is_ignored_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", str(tmp_path))
    with kept_between_runs("test"):
        make_classes()
    [kept] = tmp_path.glob("methods-*.marshal")
    for damage in (b"", b"\x00garbage", kept.read_bytes()[:100]):
        kept.write_bytes(damage)
        with kept_between_runs("test"):
            classes = make_classes()
        assert signature_of(classes) == signature_of(make_classes())
        assert kept.read_bytes() != damage


def test_dataclasses_left_as_they_were(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", str(tmp_path))
    with pytest.raises(RuntimeError):
        with kept_between_runs("test"):
            assert "exec" in vars(dataclasses)
            raise RuntimeError
    assert "exec" not in vars(dataclasses)
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", "")  # no cache folder: nothing changes
    with kept_between_runs("test"):
        assert "exec" not in vars(dataclasses)
        assert signature_of(make_classes()) == signature_of(make_classes())
    assert not list(tmp_path.iterdir())


def test_journey_check_with_a_cold_and_a_warm_cache(tmp_path):
    env = {"JOURNEYLANG_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "journeylang.cli", "check",
               str(ROOT / "tests" / "fixtures" / "rules" / "JL101" / "fail.journey")]
    cold = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert list(tmp_path.glob("methods-*.marshal"))
    warm = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert (cold.returncode, cold.stdout, cold.stderr) == (warm.returncode, warm.stdout, warm.stderr)
    assert cold.returncode == 1 and "JL101" in cold.stdout
