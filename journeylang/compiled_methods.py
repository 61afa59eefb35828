"""Dataclasses' generated methods, compiled once and kept in the cache folder.

``@dataclass`` writes the text of the methods it gives a class (``__init__``, and for a
frozen class ``__setattr__`` and ``__delattr__``; the others when asked for) and runs it
with ``exec``, which compiles it: about 300 texts while `journey check` imports its modules
(the model's nodes, the diagnostics, the lint rules' records), a tenth of the command's CPU,
nearly all of it the compile. Inside ``kept_between_runs(name)`` the ``exec`` that the
``dataclasses`` module calls runs the code an earlier run compiled from the same text, read
from the cache folder (a file per block name, Python and journeylang version); a text not
found there is compiled as ``exec`` compiles it, and at the end of the block the file is
written again with the code of every text the block ran. The text is the key, so a class
whose fields changed simply misses; the classes, their methods and the methods' code are
the same as without the block. Outside a block, and with the cache folder off, nothing
changes.
"""
from __future__ import annotations

import dataclasses
import marshal
import sys
from contextlib import contextmanager

from . import __version__


@contextmanager
def kept_between_runs(name: str):
    """A block (importing modules) whose dataclasses' methods are compiled from the cache."""
    if "exec" in vars(dataclasses):  # inside another block
        yield
        return
    from .cache_folder import cached_path, write_atomically
    made_from = [name, sys.version, str(sys.flags.optimize), __version__]
    path = cached_path("methods-", made_from, ".marshal")
    if path is None:
        yield
        return
    known = _read(path)
    ran: dict[str, object] = {}

    def compiled_exec(source, globals=None, locals=None, /):
        if type(source) is str:
            code = known.get(source)
            if code is None:  # as exec compiles a text (no flags from this module)
                code = compile(source, "<string>", "exec", dont_inherit=True)
            ran[source] = source = code
        exec(source, globals, locals)

    dataclasses.exec = compiled_exec  # found before the built-in by dataclasses' functions
    try:
        yield
    finally:
        del dataclasses.exec
        if ran.keys() - known.keys():
            write_atomically(path, lambda handle: handle.write(marshal.dumps(ran)))


def _read(path) -> dict:
    """The texts and their code kept in ``path``; empty when missing or damaged."""
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return data if type(data) is dict else {}
