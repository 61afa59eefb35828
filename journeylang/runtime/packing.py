"""Runtime persistence: the values of a commit on their way from the runtime to the database.

The runtime's process packs each JSON value of a commit (a profile, a run's context, a message's
payload) as MessagePack (msgspec), about three times faster than marshal and than encoding it
as JSON, and compares the packed bytes with what it last wrote to see whether a row changed.
Only the rows that changed travel to the writer, as one MessagePack job (``encode_job``); the
JSON text a column stores is made there, on the other core (``finish``). MessagePack is exact about
types (1, 1.0 and true pack differently), so equal bytes always mean equal JSON. What it cannot
hold (a whole number beyond 64 bits, half a surrogate pair) is marshalled instead, behind a
first byte MessagePack never uses.
"""
from __future__ import annotations

import io
import json
import marshal
import os
import pickle
from typing import NamedTuple

import msgspec

# marshal format 2, for what MessagePack cannot hold: no back-references, so the bytes depend
# on the value only, never on which other objects happen to share it.
FORMAT = 2
_NOT_MSGPACK = b"\xc1"  # first byte of what is marshalled or pickled: never MessagePack's

# Pack every value at each commit to check the marks of what changed (state.Customer): tests.
CHECK_MARKS = os.environ.get("JOURNEYLANG_CHECK_MARKS") == "1"

# The commit path calls ``encode`` itself where it packs several values per record (a call
# less each), and ``pack`` for them all when it raises one of UNPACKABLE.
encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode
# a job's rows as tuples, as pickle gave them: lists are tracked by the cyclic collector
# (measured: decoding a job into lists costs half as much again)
_decode_job = msgspec.msgpack.Decoder(list[tuple[str, list[tuple], tuple]]).decode
UNPACKABLE = (TypeError, ValueError, OverflowError, RecursionError)


def pack(value) -> bytes:
    """A JSON value (dicts, lists, text, numbers, booleans, None) as bytes."""
    try:
        return encode(value)
    except UNPACKABLE:  # beyond 64 bits, half a surrogate pair: marshal keeps them exactly
        return _NOT_MSGPACK + marshal.dumps(value, FORMAT)


def unpack(data: bytes):
    if data[:1] == _NOT_MSGPACK:
        return marshal.loads(data[1:])
    return _decode(data)


def _compact_encoder():
    """Compact JSON text (no sorting: processing is deterministic, so dicts are built in the
    same order). The C encoder made once: JSONEncoder.encode builds a new one per call."""
    plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return plain.encode
    encode = make(None, plain.default, json.encoder.encode_basestring, None, ":", ",",
                  False, False, True)
    return lambda value: "".join(encode(value, 0))


dumps = _compact_encoder()


class Statement(NamedTuple):
    """One statement of a commit and its rows, as the writer receives it. ``packed``: the
    columns whose values are packed JSON values (None stays NULL), to store as JSON text."""

    sql: str
    rows: list
    packed: tuple = ()


Job = list  # of Statement (or plain (sql, rows, packed) tuples): one transaction, in order


def finish(rows: list, packed: tuple) -> list:
    """Rows as the database stores them: each packed column as JSON text."""
    if not packed:
        return rows
    text = _Texts()
    done = []
    for row in rows:
        row = list(row)
        for column in packed:
            if row[column] is not None:
                row[column] = text(row[column])
        done.append(row)
    return done


class _Texts:
    """The JSON text of packed values, remembering the short ones: most repeat row after row
    (an empty object, the same context, the same experiment arms)."""

    SHORT = 200  # bytes

    def __init__(self):
        self._known: dict[bytes, str] = {}

    def __call__(self, data: bytes) -> str:
        found = self._known.get(data)
        if found is None:
            found = dumps(unpack(data))
            if len(data) <= self.SHORT:
                self._known[data] = found
        return found


def encode_job(job: Job) -> bytes:
    """A job as one message for the writer: MessagePack, a job being plain values (text,
    numbers, None, packed bytes) in lists. It costs the runtime's process about half what
    pickle without a memo did (marshal, and pickle with its memo, look up every value that
    something else also refers to, and cost more still). A job holding what MessagePack
    cannot (a whole number beyond 64 bits, half a surrogate pair) is pickled, behind 0xc1.
    ``decode_job`` reads either back."""
    statements = [tuple(statement) for statement in job]
    try:
        return encode(statements)
    except UNPACKABLE:
        buffer = io.BytesIO()
        buffer.write(_NOT_MSGPACK)
        pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
        pickler.fast = True  # no memo (deprecated for objects that refer to themselves: none)
        pickler.dump(statements)
        return buffer.getvalue()


def decode_job(data: bytes) -> Job:
    if data[:1] == _NOT_MSGPACK:
        statements = pickle.loads(memoryview(data)[1:])
    else:
        statements = _decode_job(data)
    return [Statement(*statement) for statement in statements]
