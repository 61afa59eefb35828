"""Vectorised simulation: every event of a block's customers, searchable by type and instant.

An event has a time and a sequence number (its instant: at one time, events are handled in the
order they were made, and before timers), a customer (row), a type (kind), the source that made
it (``plan.Source``) and its data: constant per source, or drawn per event and kept in the
source's own columns. Baseline events, drawn up front and already in order, are kept per source
in one array sorted by customer and time (the static part; the sources of one type for
different segments share a stream of per-customer bounds); every other event (arrivals,
responses, chains, opt-outs, emitted events, occurrences) goes to a small matrix per type, one
row per customer, kept sorted (the dynamic part). Each customer reads forward from their cursor
(the instant of the last thing that happened to them), so ``first_after`` keeps a pointer per
customer and type; ``upto`` and ``window`` answer range questions (history, KPIs).
"""
from __future__ import annotations

import numpy as np

from ..cohort import Record
from .columns import _is_number, as_objects, dig, distinct_codes, typed


def after(at, seq, now, split):
    """Whether events at ``(at, seq)`` come after the instants ``(now, split)``."""
    found = at > now
    same = at == now
    if same.any():   # rare: the sequence numbers decide
        found |= same & (seq > split)
    return found


class Book:
    def __init__(self, plan, n: int):
        self.plan, self.n = plan, n
        kinds = len(plan.kinds)
        self.size, capacity = 0, 1024
        self.t = np.zeros(capacity)
        self.q = np.zeros(capacity)
        self.row = np.zeros(capacity, dtype=np.int64)
        self.kind = np.zeros(capacity, dtype=np.int64)
        self.src = np.zeros(capacity, dtype=np.int64)
        self.sidx = np.zeros(capacity, dtype=np.int64)
        self.depth = np.zeros(capacity, dtype=np.int64)
        self.origin = np.zeros(capacity, dtype=np.int64)   # the run that emitted it, or -1
        # when the block keeps a lineage (``track``): the node (``sim.lineage``) of the item its
        # customer handled when it was made, copied from ``makers`` (the block's, per customer)
        self.maker: np.ndarray | None = None
        self.makers: np.ndarray | None = None
        self.columns: list[dict] = [{} for _ in plan.sources]   # per source: path -> values
        self.updates: list[dict] = [{} for _ in plan.sources]   # per source: profile updates
        self.counts = np.zeros(len(plan.sources), dtype=np.int64)  # events per source
        # kind -> streams [first, end, pointer] per customer: each customer's baseline events of
        # the type are ids first..end-1 of a stream; segments' streams share one (their
        # customers differ)
        self.static: dict[int, list] = {}
        self.dyn = [np.zeros((n, 0), dtype=np.int64) for _ in range(kinds)]
        self.dyn_n = [np.zeros(n, dtype=np.int64) for _ in range(kinds)]
        self.dyn_ptr = [np.zeros(n, dtype=np.int64) for _ in range(kinds)]
        # per type, each customer's last answer of ``first_after`` (valid until an event of
        # the type is added for them, or their instant passes it); (-inf, -inf): none, as no
        # instant comes before it
        self.found_t = [np.full(n, -np.inf) for _ in range(kinds)]
        self.found_q = [np.full(n, -np.inf) for _ in range(kinds)]
        self.found_id = [np.full(n, -1, dtype=np.int64) for _ in range(kinds)]
        self.keys = None   # correlation.Keys: an event's data holds the key it inherits

    # --- adding -----------------------------------------------------------------------------

    def _grow(self, extra: int) -> None:
        need = self.size + extra
        if need <= len(self.t):
            return
        # twice what is needed: the large adds (a baseline stream) would otherwise be followed
        # by a copy of the whole book at the next small one (pages never written cost nothing)
        capacity = max(2 * need, 2 * len(self.t))
        for name in ("t", "q", "row", "kind", "src", "sidx", "depth", "origin", "maker"):
            old = getattr(self, name)
            if old is None:
                continue
            new = np.zeros(capacity, dtype=old.dtype)
            new[:self.size] = old[:self.size]
            setattr(self, name, new)

    def track(self, makers: np.ndarray) -> None:
        """Keep each event's maker from now on: ``makers[row]`` when it is made."""
        self.makers = makers
        self.maker = np.zeros(len(self.t), dtype=np.int64)

    def reserve(self, extra: int) -> None:
        """Room for ``extra`` more events known to come (all of a draw's): the book grows
        once, not part by part, each growth a copy of the whole book."""
        self._grow(extra)

    def _append(self, rows, at, seq, kind, src, depth, origin) -> np.ndarray:
        count = len(rows)
        self._grow(count)
        new = slice(self.size, self.size + count)
        self.t[new], self.q[new], self.row[new] = at, seq, rows
        self.kind[new], self.src[new] = kind, src
        self.depth[new], self.origin[new] = depth, origin
        if self.makers is not None:   # (a schedule's occurrences have no customer: row -1)
            self.maker[new] = np.where(rows >= 0, self.makers[np.maximum(rows, 0)], -1)
        self.size += count
        return np.arange(new.start, new.stop)

    def _keep(self, src, ids, data: dict | None, updates: dict | None) -> None:
        """The events' source-local index and their drawn data and profile updates."""
        for s, chosen in _groups(src, ids.shape):
            mine = ids if chosen is None else ids[chosen]
            first = self.counts[s]
            local = np.arange(first, first + len(mine))
            if chosen is None and len(mine):   # ids as _append made them: one run of numbers
                self.sidx[mine[0]:mine[0] + len(mine)] = local
            else:
                self.sidx[mine] = local
            self.counts[s] += len(mine)
            for table, values in ((self.columns[s], data), (self.updates[s], updates)):
                for path, column in (values or {}).items():
                    part = column[chosen] if chosen is not None and column.shape == ids.shape else column
                    _store(table, path, first, part)

    def add(self, rows, at, seq, kind, src, depth=0, origin=-1, data=None, updates=None,
            searched: bool = True) -> np.ndarray:
        """Events (one per row) of the dynamic part; ``data`` and ``updates``: path -> values
        of the drawn leaves. Returns their ids. ``searched=False``: kept by id only, events
        of a type no question by type can name (a schedule's occurrences, each shared by the
        customers taking it: row -1), or events ``search`` takes later with others."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros(0, dtype=np.int64)
        ids = self._append(rows, at, seq, kind, src, depth, origin)
        self._keep(src, ids, data, updates)
        if searched:
            self.search(ids, kind)
        return ids

    def search(self, ids: np.ndarray, kinds=None) -> None:
        """Events added unsearched made searchable by type and instant, a type's all at once
        (each customer's events of a type end sorted by instant however they are split
        between calls; one call sorts them together instead of merging part after part).
        ``kinds``: their types (one for all, or one each), when the caller has them."""
        for k, chosen in _groups(self.kind[ids] if kinds is None else kinds, ids.shape):
            self._insert(k, ids if chosen is None else ids[chosen])

    def add_stream(self, src: int, kind: int, counts: np.ndarray, rows: np.ndarray,
                   times: np.ndarray, seq: float, data: dict | None,
                   updates: dict | None) -> np.ndarray:
        """A baseline source's events, sorted by customer and time (``counts`` per customer;
        ``rows``: each event's customer), to the static part."""
        # room for as many again: a stream that just fits would leave the events made while
        # the block runs a copy of the whole book at their first add
        self._grow(2 * len(rows))
        ids = self._append(rows, times, seq, kind, src, 0, -1)
        self._keep(src, ids, data, updates)
        starts = np.concatenate([[0], np.cumsum(counts)]) + (ids[0] if len(ids) else self.size)
        first, end = starts[:-1], starts[1:]
        streams = self.static.setdefault(kind, [])
        mine = counts > 0
        for stream in streams:
            if not (stream[0][mine] < stream[1][mine]).any():   # none of its customers here
                stream[0][mine], stream[1][mine], stream[2][mine] = first[mine], end[mine], first[mine]
                break
        else:
            streams.append([first.copy(), end.copy(), first.copy()])
        return ids

    def _insert(self, k: int, ids: np.ndarray) -> None:
        """Into type ``k``'s matrix: each customer's events stay sorted by instant."""
        rows = self.row[ids]
        self.found_t[k][rows] = self.found_q[k][rows] = -np.inf
        if not (rows[1:] > rows[:-1]).all():   # else one each, in order already (usual)
            order = self._by_customer(ids, rows)
            ids, rows = ids[order], rows[order]
        starts = np.empty(len(rows), dtype=bool)   # rows are sorted: each customer's first
        starts[:1] = True
        np.not_equal(rows[1:], rows[:-1], out=starts[1:])
        first = np.flatnonzero(starts)
        unique, counts = rows[first], np.empty(len(first), dtype=np.int64)
        np.subtract(first[1:], first[:-1], out=counts[:-1])   # (``np.diff``, without its wrapper)
        counts[-1] = len(rows) - first[-1]
        held = self.dyn_n[k][unique]
        need = int((held + counts).max())
        matrix = self.dyn[k]
        if need > matrix.shape[1]:
            grown = np.full((self.n, max(need, 2 * matrix.shape[1], 2)), -1, dtype=np.int64)
            grown[:, :matrix.shape[1]] = matrix
            matrix = self.dyn[k] = grown
        rank = np.arange(len(ids)) - np.repeat(first, counts)
        width = matrix.shape[1]
        last = _cells(matrix, unique, np.maximum(held - 1, 0))
        new_first = ids[first]
        later = (held == 0) | after(self.t[new_first], self.q[new_first], self.t[last], self.q[last])
        if later.all():
            # the usual case: every new event comes after the customer's last one
            np.put(matrix, np.repeat(unique * width + held, counts) + rank, ids)
            self.dyn_n[k][unique] = held + counts
            return
        each = np.repeat(later, counts)   # the customers whose new events come last: appended
        if later.any():
            matrix[np.repeat(unique[later], counts[later]), (np.repeat(held, counts) + rank)[each]] = ids[each]
            self.dyn_n[k][unique[later]] = (held + counts)[later]
        earlier = ~later   # the others: their row sorted again
        unique, held, counts, ids, rank = unique[earlier], held[earlier], counts[earlier], ids[~each], rank[~each]
        used = int((held + counts).max())   # the columns beyond hold none of theirs
        block = matrix[unique, :used]
        block[np.repeat(np.arange(len(unique)), counts), np.repeat(held, counts) + rank] = ids
        valid = block >= 0
        safe = np.where(valid, block, 0)
        times = np.where(valid, self.t[safe], np.inf)
        seqs = np.where(valid, self.q[safe], np.inf)
        order = np.lexsort((seqs, times), axis=1)
        matrix[unique, :used] = np.take_along_axis(block, order, axis=1)
        self.dyn_n[k][unique] = held + counts

    def _by_customer(self, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The order of events by customer, then instant (as ``np.lexsort`` by row, time and
        number gives it): a stable sort of the customers (a radix sort while they fit in 16
        bits), then by time and number only the events of the customers whose events are not
        in order of time already."""
        keys = rows.astype(np.uint16) if self.n <= 1 << 16 else rows
        order = np.argsort(keys, kind="stable")
        ranked = rows[order]
        several = ranked[1:] == ranked[:-1]
        if not several.any():
            return order
        # a customer's events usually come in order of time already (a baseline's responses:
        # all but a few hundred of 48,000): only the customers with some out of order, or
        # several at one time, are sorted again, by time and number
        times = self.t[ids]
        ordered = times[order]
        unsorted = several & (ordered[1:] <= ordered[:-1])
        if not unsorted.any():
            return order
        again = np.zeros(self.n, dtype=bool)
        again[ranked[1:][unsorted]] = True
        places = np.flatnonzero(again[ranked])   # their events: one stretch per customer
        mine = order[places]
        order[places] = mine[np.lexsort((self.q[ids[mine]], times[mine], rows[mine]))]
        return order

    # --- reading forward ----------------------------------------------------------------------

    def holds(self, k: int) -> bool:
        """Whether the book has (or had room for) events of type ``k`` (else none can come
        first: nothing is added without growing the type's matrix)."""
        return k in self.static or self.dyn[k].shape[1] > 0

    def first_after(self, k: int, rows: np.ndarray, now: np.ndarray, split: np.ndarray):
        """Each customer's first event of type ``k`` after their instant ``(now, split)``, for
        those who have one: their places in ``rows``, and its time, sequence number and id. A
        customer's instants only move forward, so the last answer holds while it is still
        ahead of them and no event of the type was added for them (none ahead: it holds until
        one is added); else the search goes on from where the last one stopped."""
        found_t = self.found_t[k]
        t = found_t[rows]
        stale = t < now
        tied = np.flatnonzero(t == now)   # the sequence numbers decide (read for these only)
        if len(tied):
            stale[tied] = self.found_q[k][rows[tied]] <= split[tied]
        stale = np.flatnonzero(stale)
        if len(stale):
            t[stale] = self.search_again(k, rows[stale], now[stale], split[stale])[0]
        ahead = np.flatnonzero(t < np.inf)
        mine = rows[ahead]
        return ahead, t[ahead], self.found_q[k][mine], self.found_id[k][mine]

    def search_again(self, k: int, rows: np.ndarray, now: np.ndarray, split: np.ndarray):
        """``first_after`` for customers ``rows`` whose last answer of type ``k`` is no longer
        after their instant ``(now, split)`` (the caller knows): the search goes on from where
        it stopped; the new answers are kept and returned as time, sequence number and id
        (inf, inf, -1: none)."""
        # a last answer still kept (not reset by an added event) stands where its stream's
        # pointer does (usually the event just taken): that pointer steps on at once
        last = np.where(self.found_t[k][rows] > -np.inf, self.found_id[k][rows], -1)
        t, q, ident = self._search_after(k, rows, now, split, last)
        self.found_t[k][rows], self.found_q[k][rows], self.found_id[k][rows] = t, q, ident
        return t, q, ident

    def passed(self, k: int, rows: np.ndarray, until_t, until_q) -> np.ndarray:
        """How many events of type ``k`` each customer has from the one ``first_after`` last
        found for them up to the instant ``(until_t, until_q)``: the pointers move on past
        them, and each customer's first event after ``until`` is kept as ``first_after``'s
        answer (call it only while that last answer holds)."""
        before = self._places(k, rows)
        t, q, ident = self._search_after(k, rows, until_t, until_q)
        self.found_t[k][rows], self.found_q[k][rows], self.found_id[k][rows] = t, q, ident
        return self._places(k, rows) - before

    def _places(self, k: int, rows: np.ndarray) -> np.ndarray:
        """The sum of each customer's read pointers over type ``k``'s streams and matrix."""
        total = np.zeros(len(rows), dtype=np.int64)
        for _, _, pointers in self.static.get(k, ()):
            total += pointers[rows]
        if self.dyn[k].shape[1]:
            total += self.dyn_ptr[k][rows]
        return total

    def _search_after(self, k: int, rows: np.ndarray, now: np.ndarray, split: np.ndarray,
                      last: np.ndarray | None = None):
        """Each customer's first event of type ``k`` after ``(now, split)``, from their
        pointers on (which move to it); ``last``: ids of events known not after it (-1: none
        known), where a stream's pointer standing on one steps past it unread."""
        best_t = best_q = best = None   # (inf, inf, -1 where none is found)
        for _, ends, pointers in self.static.get(k, ()):
            at, end = pointers[rows], ends[rows]
            if last is not None:   # (a pointer at its end stands on another's id or none)
                at += (last == at) & (at < end)
            top = max(self.size - 1, 0)
            # usually a step or two (the second only for those the first moved); a long way
            # on by bisection
            idx = np.minimum(at, top)
            t, q = self.t[idx], self.q[idx]
            moved = np.flatnonzero((at < end) & ~after(t, q, now, split))
            if len(moved):
                at[moved] += 1
                far = moved[self._behind(at[moved], end[moved], np.minimum(at[moved], top),
                                         now[moved], split[moved])]
                if len(far):
                    at[far] += 1
                    at[far] = _search(self, at[far], end[far], now[far], split[far])
                idx[moved] = np.minimum(at[moved], top)
                t[moved], q[moved] = self.t[idx[moved]], self.q[idx[moved]]
            pointers[rows] = at
            if best is None:   # the first stream: its events are the best found so far
                found = at < end
                best_t, best_q = np.where(found, t, np.inf), np.where(found, q, np.inf)
                best = np.where(found, idx, -1)
                continue
            better = (at < end) & ((t < best_t) | ((t == best_t) & (q < best_q)))
            best_t[better], best_q[better], best[better] = t[better], q[better], idx[better]
        if best is None:
            best_t, best_q = np.full(len(rows), np.inf), np.full(len(rows), np.inf)
            best = np.full(len(rows), -1, dtype=np.int64)
        matrix = self.dyn[k]
        if matrix.shape[1]:
            # only customers with events left in the matrix can move or find one there
            at, held = self.dyn_ptr[k][rows], self.dyn_n[k][rows]
            left = np.flatnonzero(at < held)
            if len(left):
                self._search_matrix(k, rows[left], now[left], split[left], left, at[left],
                                    held[left], None if last is None else last[left],
                                    best_t, best_q, best)
        return best_t, best_q, best

    def _search_matrix(self, k: int, rows, now, split, places, at, held, last, best_t, best_q,
                       best) -> None:
        """``_search_after`` in type ``k``'s matrix, for customers ``rows`` (at ``places`` of
        the best found so far) that have events left in it (their pointers ``at``, before
        their counts ``held``; ``last`` as there)."""
        matrix = self.dyn[k]
        width = matrix.shape[1]
        if last is not None:   # a pointer on an event known not after the instant: past it unread
            at += _cells(matrix, rows, at) == last
        moving = np.arange(len(rows))   # step on those still behind (only they move)
        while len(moving):
            there = at[moving]
            idx = np.maximum(_cells(matrix, rows[moving], np.minimum(there, width - 1)), 0)
            moving = moving[self._behind(there, held[moving], idx, now[moving], split[moving])]
            at[moving] += 1
        self.dyn_ptr[k][rows] = at
        found = np.flatnonzero(at < held)
        idx = _cells(matrix, rows[found], at[found])
        t, q = self.t[idx], self.q[idx]
        places = places[found]
        better = (t < best_t[places]) | ((t == best_t[places]) & (q < best_q[places]))
        places = places[better]
        best_t[places], best_q[places], best[places] = t[better], q[better], idx[better]

    def _behind(self, at, end, idx, now, split) -> np.ndarray:
        """Whether the pointers ``at`` (before ``end``; the events ``idx`` there) are at events
        not after the instants ``(now, split)``."""
        return (at < end) & ~after(self.t[idx], self.q[idx], now, split)

    # --- ranges -------------------------------------------------------------------------------

    def window(self, k: int, rows: np.ndarray, lo_t, lo_q, hi_t, hi_q):
        """Every event of type ``k`` of each customer after the instant ``(lo_t, lo_q)`` and
        not after ``(hi_t, hi_q)``: (query index, event id) pairs, in order of query and instant."""
        found_q, found_ids = [], []
        for begins, ends, _ in self.static.get(k, ()):
            first = _search(self, begins[rows], ends[rows], lo_t, lo_q)
            last = _search(self, begins[rows], ends[rows], hi_t, hi_q)
            counts = np.maximum(last - first, 0)
            query = np.repeat(np.arange(len(rows)), counts)
            offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            found_q.append(query)
            found_ids.append(np.repeat(first, counts) + offset)
        matrix = self.dyn[k]
        if matrix.shape[1]:   # each query's customer's events of the type, then those inside
            held = self.dyn_n[k][rows]
            query = np.repeat(np.arange(len(rows)), held)
            column = np.arange(len(query)) - np.repeat(np.cumsum(held) - held, held)
            ids = matrix[rows[query], column]
            t, q = self.t[ids], self.q[ids]

            def per_query(value):
                return np.broadcast_to(np.asarray(value, dtype=float), (len(rows),))[query]
            inside = after(t, q, per_query(lo_t), per_query(lo_q))
            inside &= ~after(t, q, per_query(hi_t), per_query(hi_q))
            found_q.append(query[inside])
            found_ids.append(ids[inside])
        if not found_q:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        query, ids = np.concatenate(found_q), np.concatenate(found_ids).astype(np.int64)
        order = np.lexsort((self.q[ids], self.t[ids], query))
        return query[order], ids[order]

    def first_times(self, k: int) -> "FirstTimes":
        """Per query (customer rows, instants ``(at, seq)``), the time of its customer's first
        event of type ``k`` after the instant (inf: none): what ``window`` would give first,
        found by bisection instead of listing every event of the customer; for many sets of
        queries (a block's KPI observations, a part at a time), the customers' times of the
        type read once, here."""
        return FirstTimes(self, k)

    # --- data ---------------------------------------------------------------------------------

    def has_key(self, ids: np.ndarray, key: str) -> np.ndarray:
        """Whether each event's data has the top-level ``key`` (the root of a correlation key
        it inherits too)."""
        sources = self.plan.sources
        has = np.array([key in s.keys for s in sources], dtype=bool)
        found = has[self.src[ids]]
        if self.keys is not None:
            found = found | self.keys.inheriting_under(ids, key)
        return found

    def data(self, ids: np.ndarray, path: tuple):
        """The value at ``path`` of each event's data: a column (a Python value when every
        event's source has it as the same constant), with the correlation key an event
        inherits set in it (``runtime.correlation.with_key``)."""
        found = self.stored(ids, path)
        keys = self.keys
        if keys is None or not len(ids):
            return found
        return keys.with_keys(ids, path, found)

    def stored(self, ids: np.ndarray, path: tuple):
        """``data`` as its source made it (without an inherited key)."""
        n = len(ids)
        if not n:
            return np.zeros(0)
        src = self.src[ids]
        present = distinct_codes(src)
        if len(present) == 1:
            return self._of_source(present[0], ids, path)
        parts = [(src == s, self._of_source(s, ids[src == s], path)) for s in present]
        if all(_numeric(value) for _, value in parts):   # what ``typed`` would make of them
            numbers = np.empty(n)
            for mine, value in parts:
                numbers[mine] = np.nan if value is None else value
            return numbers
        found = np.empty(n, dtype=object)
        for mine, value in parts:
            found[mine] = as_objects(value) if isinstance(value, np.ndarray) else _fill(value, int(mine.sum()))
        return typed(found)

    def _of_source(self, s: int, ids: np.ndarray, path: tuple):
        source = self.plan.sources[s]
        if source.fixed is not None and not source.leaves and s != self.plan.staff_source \
                and source.role != "occurrence":
            return dig(source.fixed, path)
        columns = self.columns[s]
        sidx = self.sidx[ids]
        if path in columns:
            return typed(columns[path][sidx]) if columns[path].dtype == object else columns[path][sidx]
        sampler = source.data
        for depth, part in enumerate(path):   # the constant parts of a drawn record
            parts = getattr(sampler, "parts", None)
            if not isinstance(parts, dict) or part not in parts:
                return _deeper(columns, path[:depth], path[depth:], sidx) if depth else None
            sampler = parts[part]
        if isinstance(sampler, Record):
            return _whole(columns, path, sampler, sidx)
        fixed = getattr(sampler, "value", None)
        return fixed

    def whole(self, ids: np.ndarray) -> np.ndarray:
        """Each event's data as a dict (for a branch reading ``event`` as a whole)."""
        found = self._whole_stored(ids)
        return found if self.keys is None or not len(ids) else \
            self.keys.with_keys(ids, (), found)

    def _whole_stored(self, ids: np.ndarray) -> np.ndarray:
        found = np.empty(len(ids), dtype=object)
        for s in np.unique(self.src[ids]).tolist():
            mine = self.src[ids] == s
            source = self.plan.sources[s]
            if source.fixed is not None and not source.leaves:
                found[mine] = _fill(dict(source.fixed), int(mine.sum()))
            else:
                found[mine] = _whole(self.columns[s], (), source.data, self.sidx[ids[mine]])
        return found

    def update_values(self, ids: np.ndarray, path: tuple):
        """The profile update at ``path`` of each event (None: the event does not set it)."""
        n = len(ids)
        found = np.empty(n, dtype=object)
        found[:] = None
        for s in np.unique(self.src[ids]).tolist():
            mine = self.src[ids] == s
            column = self.updates[s].get(path)
            if column is not None:
                found[mine] = as_objects(column[self.sidx[ids[mine]]])
        return typed(found)


class FirstTimes:
    """``Book.first_times``: the first times of one type, for one set of queries after another. The
    times of the customers' events of the type in the matrix are read once into one array, a
    customer's after another's, each customer's in order of instant and closed by inf
    (``times[base[row] + i]``: their i-th): as long as the type's events and one more per
    customer, not every customer's row padded to the most any has. A query's count of its
    customer's events not after its instant is found by a branchless bisection, one gather
    per halving."""

    def __init__(self, book: Book, k: int):
        self.book, self.k = book, k
        matrix, held = book.dyn[k], book.dyn_n[k]
        self.dynamic = bool(matrix.shape[1]) and bool(held.any())
        if not self.dynamic:
            return
        self.held = held
        # a row's events are its first ``held`` places (the rest -1): row by row, in order
        ids = matrix[:, :int(held.max())]
        ends = np.cumsum(held)
        self.times = np.insert(book.t[ids[ids >= 0]], ends, np.inf)
        self.base = ends - held + np.arange(len(held))   # each customer's first place

    def __call__(self, rows: np.ndarray, at, seq) -> np.ndarray:
        book = self.book
        found = self._dynamic(rows, at, seq) if self.dynamic and len(rows) else np.full(len(rows), np.inf)
        for begins, ends, _ in book.static.get(self.k, ()):
            end = ends[rows]
            first = _search(book, begins[rows], end, at, seq)
            has = np.flatnonzero(first < end)
            found[has] = np.minimum(found[has], book.t[first[has]])
        return found

    def _dynamic(self, rows: np.ndarray, at, seq) -> np.ndarray:
        """The first time in the matrix after each query's instant, or the inf closing its
        customer's times."""
        times, matrix = self.times, self.book.dyn[self.k]
        held, base = self.held[rows], self.base[rows]
        last = base + held   # each query's customer's inf
        width = 1 << (max(int(held.max()), 1) - 1).bit_length()   # a power of two, not below it
        at = np.broadcast_to(np.asarray(at, dtype=float), rows.shape)
        seq = np.broadcast_to(np.asarray(seq, dtype=float), rows.shape)
        count = base.copy()   # each query's count, kept as its place in ``times``
        # halves of the most a customer has, then the place the count has reached (a count
        # of all of a customer's events reads their inf)
        for step in [width >> i for i in range(1, width.bit_length())] + [1]:
            place = np.minimum(count + (step - 1), last)   # the last of the next part: not after?
            t = np.take(times, place)
            passed = t < at
            same = np.flatnonzero(t == at)
            if len(same):   # rare: the sequence numbers decide (the inf only when at is inf)
                column = place[same] - base[same]
                ident = matrix[rows[same], np.minimum(column, matrix.shape[1] - 1)]
                passed[same] = (column < held[same]) & (self.book.q[np.maximum(ident, 0)] <= seq[same])
            np.add(count, step, out=count, where=passed)
        return np.take(times, count)


def _cells(matrix: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``matrix[rows, columns]`` (a C-ordered matrix) by one flat index: a faster gather."""
    return np.take(matrix, rows * matrix.shape[1] + columns)


def _search(book: Book, start: np.ndarray, end: np.ndarray, at, seq) -> np.ndarray:
    """Per customer, the first index in ``[start, end)`` (sorted by instant, indexes are event
    ids) whose event comes after ``(at, seq)``."""
    low, high = start.copy(), end.copy()
    at = np.broadcast_to(np.asarray(at, dtype=float), low.shape)
    seq = np.broadcast_to(np.asarray(seq, dtype=float), low.shape)
    pending = np.flatnonzero(low < high)
    while len(pending):
        middle = (low[pending] + high[pending]) // 2
        later = after(book.t[middle], book.q[middle], at[pending], seq[pending])
        high[pending[later]] = middle[later]
        low[pending[~later]] = middle[~later] + 1
        pending = pending[low[pending] < high[pending]]
    return low


def _groups(values, shape):
    """Integer ``values`` (one per item, or one for all) as (value, mask of its items) in
    increasing order; the mask is None when the value is everyone's."""
    if np.ndim(values) == 0:
        return [(int(values), None)]
    values = np.broadcast_to(values, shape)
    return [(v, values == v) for v in distinct_codes(values)]


def _store(table: dict, path: tuple, first: int, values) -> None:
    values = np.asarray(values) if not isinstance(values, np.ndarray) else values
    column = table.get(path)
    need = first + len(values)
    if column is None or len(column) < need:
        dtype = values.dtype if column is None else column.dtype
        if column is not None and column.dtype != values.dtype:
            dtype = object
        grown = np.empty(max(need, 2 * (0 if column is None else len(column)), 16), dtype=dtype)
        if dtype == object:
            grown[:] = None
        elif dtype.kind == "f":
            grown[:] = np.nan
        if column is not None:
            grown[:len(column)] = as_objects(column) if dtype == object else column
        table[path] = column = grown
    if column.dtype != values.dtype and column.dtype != object:
        table[path] = column = as_objects(column).copy()
    column[first:need] = as_objects(values) if column.dtype == object else values


def _numeric(value) -> bool:
    """Whether a source's value (a column or a constant) holds only numbers and nulls."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fiu"
    return value is None or _is_number(value)


def _fill(value, n: int) -> np.ndarray:
    found = np.empty(n, dtype=object)
    found[:] = [value] * n
    return found


def _deeper(columns: dict, leaf: tuple, rest: tuple, sidx) -> object:
    """A path through a drawn leaf (a list or mapping value) and on into it."""
    column = columns.get(leaf)
    if column is None:
        return None
    found = np.empty(len(sidx), dtype=object)
    found[:] = [dig(v, rest) for v in as_objects(column[sidx]).tolist()]
    return typed(found)


def _whole(columns: dict, path: tuple, record, sidx) -> np.ndarray:
    """A record of drawn data as one dict per event."""
    def build(prefix, sampler, i):
        if isinstance(sampler, Record):
            return {k: build(prefix + (k,), part, i) for k, part in sampler.parts.items()}
        column = columns.get(prefix)
        if column is None:
            return getattr(sampler, "value", None)
        value = column[i]
        return None if isinstance(value, float) and value != value else \
            (value.item() if hasattr(value, "item") else value)
    found = np.empty(len(sidx), dtype=object)
    found[:] = [build(path, record, i) for i in sidx.tolist()]
    return found
