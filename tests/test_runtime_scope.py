"""What conditions read and how events change a profile: the runtime's shortcuts against the
plain rules (a path walked part by part; attribute updates merged key by key)."""
from __future__ import annotations

import copy

from hypothesis import given, settings, strategies as st

from journeylang.runtime.scope import RunScope, copy_json, merge

NAMES = ["a", "b", "customer", "consent", "event", "cart", "x.y"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2),
                    st.sampled_from(["", "gold"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=2), st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)),
    max_leaves=8)
objects = st.dictionaries(st.sampled_from(NAMES), json_values, max_size=4)
paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map(tuple)


def walked(scope: RunScope, parts) -> object:
    """A path as docs/runtime.md reads it: the root's value, then one field at a time."""
    root = parts[0]
    if root == "customer":
        value = scope.profile
        if scope.defaults and len(parts) > 1 and parts[1] not in scope.profile:
            value = {parts[1]: scope.defaults.get(parts[1])}
    elif root == "consent":
        value = scope.profile.get("consent")
    elif root == "event":
        value = scope.event
    elif scope.run_vars is not None and root in scope.run_vars:
        value = scope.run_vars[root]
    elif root in scope.event:
        value = scope.event[root]
    else:
        value = scope.context.get(root)
    for part in parts[1:]:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@settings(max_examples=300, deadline=None)
@given(objects, objects, objects, st.one_of(st.none(), objects), objects, paths)
def test_a_path_reads_what_walking_it_reads(profile, event, context, run_vars, defaults, parts):
    scope = RunScope(profile, event, context, run_vars, defaults)
    found, expected = scope.resolve(parts), walked(scope, parts)
    assert found == expected and type(found) is type(expected)
    assert found is expected or expected is None  # the value itself, not a copy


def merged(target: dict, updates: dict) -> None:
    """Attribute updates merged one key at a time (docs/runtime.md): a dotted key is a
    nested path, null deletes, an object merges into an object, anything else replaces."""
    for key, value in updates.items():
        key = str(key)
        if "." in key:
            *parents, last = key.split(".")
            holder = target
            for part in parents:
                if not isinstance(holder.get(part), dict):
                    holder[part] = {}
                holder = holder[part]
            merged(holder, {last: value})
        elif value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            merged(target[key], value)
        else:
            target[key] = copy_json(value)


@settings(max_examples=300, deadline=None)
@given(objects, objects)
def test_merging_attributes_follows_the_rules_key_by_key(profile, updates):
    expected = copy.deepcopy(profile)
    merged(expected, updates)
    merge(profile, updates)
    assert profile == expected
    assert repr(profile) == repr(expected)  # the same keys in the same order
