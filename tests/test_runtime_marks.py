"""A store packs again only the JSON values marked changed (a customer's profile and state, a
run's context, event and locals); under the tests every commit also packs them all and fails
when one changed without its mark, which would have lost it."""
from __future__ import annotations

import json
import sqlite3

import pytest

from journeylang.runtime import SqliteStore
from journeylang.runtime.packing import CHECK_MARKS
from journeylang.runtime.sql import UnmarkedChange

from runtime_kit import Kit, journey

WAITING = journey('''
  stage s {
    send via wecom template a
    wait 1d
    exit completed
  }''', header="  entry on signup")


def _kit(tmp_path) -> Kit:
    kit = Kit(WAITING, store=SqliteStore(tmp_path / "state.sqlite"))
    kit.send("signup", attributes={"name": "Ann", "consent": {"wecom": True}},
             data={"cart": {"value": 3}})
    return kit


def _profile(customer):
    customer.profile["points"] = 7


def _sends(customer):
    customer.sends.clear()


def _entries(customer):
    customer.entries["t"][0] += 1


def _context(customer):
    customer.runs[0].context["cart"]["value"] = 4


def _variables(customer):
    customer.runs[0].vars["x"] = 1


def test_the_tests_check_the_marks():
    assert CHECK_MARKS  # tests/conftest.py sets JOURNEYLANG_CHECK_MARKS=1


@pytest.mark.parametrize("change", [_profile, _sends, _entries, _context, _variables])
def test_a_change_without_its_mark_fails_the_commit(tmp_path, change):
    kit = _kit(tmp_path)
    try:
        customer = kit.customer()  # handed out: written at the next commit
        assert customer.sends and customer.runs
        change(customer)
        with pytest.raises(UnmarkedChange):
            kit.runtime.commit()
    finally:
        kit.runtime.close()


def test_a_marked_change_is_saved(tmp_path):
    kit = _kit(tmp_path)
    try:
        customer = kit.customer()
        _profile(customer)
        _sends(customer)
        customer.profile_changed = customer.state_changed = True
        _context(customer)
        customer.runs[0].values_changed = True
        kit.runtime.commit()
    finally:
        kit.runtime.close()
    db = sqlite3.connect(tmp_path / "state.sqlite")
    try:
        profile, state = db.execute("SELECT profile, state FROM customers").fetchone()
        context, = db.execute("SELECT context FROM runs").fetchone()
    finally:
        db.close()
    assert json.loads(profile)["points"] == 7 and json.loads(state)["sends"] == []
    assert json.loads(context)["cart"]["value"] == 4
