"""The rows of a commit reach the writer process as they were taken: one message per job."""
from __future__ import annotations

from journeylang.runtime.packing import Statement, decode_job, encode_job, finish, pack


def test_a_job_reaches_the_writer_as_it_was_taken():
    shared = "客户-c000001"  # the same text in many rows, as ids and names are
    profile = pack({"name": "安", "consent": {"wecom": True}, "n": 2 ** 70, "x": -0.0})
    rows = [(1, shared, "product_viewed", 1772409600.5, None),
            [2, shared, "cart_abandoned", 1772409601.0, "no loaded journey takes it"]]
    job = [Statement("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows),
           Statement("UPDATE customers SET profile = ? WHERE id = ?", [(profile, shared)], (0,)),
           ("DELETE FROM timers WHERE seq = ?", [(7,)], ())]
    decoded = decode_job(encode_job(job))
    assert decoded == [tuple(statement) for statement in job]
    assert all(type(statement) is Statement for statement in decoded)
    assert [type(row) for row in decoded[0].rows] == [tuple, list]
    assert repr(decoded[0].rows[1][3]) == "1772409601.0"
    (row,) = finish(decoded[1].rows, decoded[1].packed)
    assert row == ['{"name":"安","consent":{"wecom":true},"n":1180591620717411303424,"x":-0.0}',
                   shared]
