"""The rows of a commit reach the writer process as they were taken: one message per job."""
from __future__ import annotations

import pytest

from journeylang.runtime.packing import (Statement, decode_job, dumps, encode_job, finish, pack,
                                        unpack)


def test_a_job_reaches_the_writer_as_it_was_taken():
    shared = "客户-c000001"  # the same text in many rows, as ids and names are
    profile = pack({"name": "安", "consent": {"wecom": True}, "n": 2 ** 70, "x": -0.0})
    rows = [(1, shared, "product_viewed", 1772409600.5, None),
            [2, shared, "cart_abandoned", 1772409601.0, "no loaded journey takes it"]]
    job = [Statement("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows),
           Statement("UPDATE customers SET profile = ? WHERE id = ?", [(profile, shared)], (0,)),
           ("DELETE FROM timers WHERE seq = ?", [(7,)], ())]
    decoded = decode_job(encode_job(job))
    assert decoded == [(sql, [tuple(row) for row in rows], packed) for sql, rows, packed in job]
    assert all(type(statement) is Statement for statement in decoded)
    assert repr(decoded[0].rows[1][3]) == "1772409601.0"
    (row,) = finish(decoded[1].rows, decoded[1].packed)
    assert row == ['{"name":"安","consent":{"wecom":true},"n":1180591620717411303424,"x":-0.0}',
                   shared]


@pytest.mark.parametrize("value", [2 ** 70, -(2 ** 64), "half a pair \ud800"])
def test_what_messagepack_cannot_hold_reaches_the_writer_exactly(value):
    """A value beyond MessagePack (a whole number past 64 bits, half a surrogate pair) is
    packed another way, in a row as in a JSON value, and comes back the same."""
    job = [Statement("INSERT INTO meta VALUES (?, ?)", [("k", value)]),
           Statement("UPDATE customers SET profile = ? WHERE id = ?",
                     [(pack({"n": [value, 1, 1.0, True]}), "c1")], (0,))]
    decoded = decode_job(encode_job(job))
    assert repr(decoded[0].rows[0][1]) == repr(value)
    assert unpack(decoded[1].rows[0][0]) == {"n": [value, 1, 1.0, True]}
    assert [type(v) for v in unpack(decoded[1].rows[0][0])["n"]] == [type(value), int, float, bool]


def test_equal_packed_bytes_mean_equal_json():
    """A commit compares packed bytes to find what changed: values whose JSON differs never
    pack the same."""
    values = [1, 1.0, True, "1", None, [1], {"a": 1}, {"a": 1.0}, -0.0, 0.0, 2 ** 64 - 1,
              2 ** 64, {"a": 1, "b": 2}, {"b": 2, "a": 1}]
    assert len({pack(v) for v in values}) == len(values)
    for value in values:
        assert dumps(unpack(pack(value))) == dumps(value)
