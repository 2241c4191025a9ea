"""Reads on every page's path, written with the ORM, compiled once per connection.

Building and compiling a queryset costs the ORM 0.2-0.5 ms; running its SQL on an indexed row
costs 0.02 ms. The few reads that every study page makes (the membership, the coding page's
source, codes, assignments and codings) are written here as ordinary querysets of
`values_list`, compiled by the ORM the first time a connection runs them, and then run with new
values in their parameter slots. The SQL, its parameters and the column converters are the ORM's
own, so the rows are exactly what the queryset would have returned (a test compares them on both
databases), and the query counts as one query to Django's query capture.

A slot is a value the queryset takes as a keyword argument: an `int` (a primary key) or a `str`
(a slug). The queryset is built once with a stand-in value per slot that no real row holds; the
stand-in must reach the SQL as a parameter (not be inlined into its text), which compiling
checks.

`run` takes several reads whose values are known together (`read.bind(**values)`); on
PostgreSQL it sends them in one round trip, so a page's independent reads wait for the server
once instead of once each.

On PostgreSQL the statement is also prepared on the server (psycopg's `prepare=True`), so
PostgreSQL plans it once per connection too: a third to a half of such a read's time there.
Django leaves server-side prepared statements off by default for the sake of transaction-pooling
connection poolers; `TRUSTCODER_SERVER_PREPARED_STATEMENTS=0` turns them off here as well (see
docs/decisions.md).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet

# Stand-ins no key the app makes comes near, and within every integer column's range: Django
# refuses to compile a lookup beyond its column's (PostgreSQL's `integer` ends at 2,147,483,647,
# the user table's key is one). They are only compiled, never run.
_INT_STAND_IN = 2_147_483_001
_STR_STAND_IN = "prepared-slot-"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str], ...]
    converters: tuple


class PreparedRead:
    """A `values_list` queryset compiled once per database connection.

    `build` returns the queryset for keyword values; `slots` names them with their types, e.g.
    ``PreparedRead(lambda source_id: Coding.objects.filter(...).values_list(...), source_id=int)``.
    `rows(**values)` returns the rows as tuples, as ``list(build(**values))`` would.
    """

    def __init__(self, build: Callable[..., QuerySet], **slots: type) -> None:
        for name, kind in slots.items():
            if kind not in (int, str):
                raise ImproperlyConfigured(f"Slot {name!r} must be int or str, not {kind!r}.")
        self.build = build
        self.slots = slots
        # One compiled form per connection object (each thread has its own): the SQL and the
        # converters are the ones of that connection's database.
        self._compiled: weakref.WeakKeyDictionary[Any, _Compiled] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _stand_ins(self) -> dict[str, Any]:
        return {
            name: (_INT_STAND_IN + i if kind is int else f"{_STR_STAND_IN}{i}-{name}")
            for i, (name, kind) in enumerate(self.slots.items())
        }

    def compile(self, connection) -> _Compiled:
        stand_ins = self._stand_ins()
        queryset = self.build(**stand_ins)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in stand_ins.items()}
        slots = tuple(
            (i, by_value[param])
            for i, param in enumerate(params)
            if isinstance(param, int | str) and not isinstance(param, bool) and param in by_value
        )
        found = {name for _, name in slots}
        if found != set(self.slots):
            missing = ", ".join(sorted(set(self.slots) - found))
            raise ImproperlyConfigured(f"Slots not passed as parameters: {missing}.")
        if any(str(value) in sql for value in stand_ins.values()):
            raise ImproperlyConfigured("A slot's value was written into the SQL text.")
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        converters = tuple(compiler.get_converters(fields).items())
        return _Compiled(sql, tuple(params), slots, converters)

    def _for(self, connection) -> _Compiled:
        compiled = self._compiled.get(connection)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(connection)
                if compiled is None:
                    compiled = self.compile(connection)
                    self._compiled[connection] = compiled
        return compiled

    def bind(self, **values: Any) -> Bound:
        """This read with its values, to be run by `run` (alone or with others)."""
        if values.keys() != self.slots.keys():
            raise TypeError(f"Expected the values {sorted(self.slots)}, got {sorted(values)}.")
        return Bound(self, values)

    def rows(self, *, using: str = "default", **values: Any) -> list[tuple]:
        return run(self.bind(**values), using=using)[0]

    def _params(self, compiled: _Compiled, values: dict[str, Any]) -> list:
        params = list(compiled.params)
        for position, name in compiled.slots:
            params[position] = self.slots[name](values[name])
        return params

    @staticmethod
    def _converted(compiled: _Compiled, rows, connection) -> list[tuple]:
        if not compiled.converters:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            row = list(row)
            for position, (functions, expression) in compiled.converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            converted.append(tuple(row))
        return converted


def _rows(rows: list[tuple]) -> list[tuple]:
    return rows


@dataclass(frozen=True)
class Bound:
    """A prepared read with its values; `shape` turns its rows into what the caller returns."""

    read: PreparedRead
    values: dict[str, Any]
    shape: Callable[[list[tuple]], Any] = _rows

    def then(self, shape: Callable[[list[tuple]], Any]) -> Bound:
        return Bound(self.read, self.values, shape)


def run(*reads: Bound, using: str = "default") -> list[Any]:
    """Each read's rows (through its `shape`), in order: one query each, as `rows` runs them.

    On PostgreSQL reads run together are sent in one round trip (psycopg's pipeline mode): none
    waits for another's answer. Pass together only reads whose values do not depend on each
    other's rows.
    """
    connection = connections[using]
    compiled = [bound.read._for(connection) for bound in reads]
    params = [
        bound.read._params(each, bound.values) for bound, each in zip(reads, compiled, strict=True)
    ]
    results = []
    if connection.vendor == "postgresql" and len(reads) > 1:
        connection.ensure_connection()
        cursors = []
        try:
            with connection.connection.pipeline():
                for each, values in zip(compiled, params, strict=True):
                    cursor = _cursor(connection)
                    cursors.append(cursor)
                    cursor.execute(each.sql, values)
                results = [cursor.fetchall() for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
    else:
        for each, values in zip(compiled, params, strict=True):
            with _cursor(connection) as cursor:
                cursor.execute(each.sql, values)
                results.append(cursor.fetchall())
    return [
        bound.shape(PreparedRead._converted(each, rows, connection))
        for bound, each, rows in zip(reads, compiled, results, strict=True)
    ]


_preparing_cursor_class = None


def _cursor(connection):
    """A cursor of the connection, wrapped by Django as `connection.cursor()` wraps its own (so
    the query is logged and counted); on PostgreSQL one that binds on the server and prepares."""
    if connection.vendor != "postgresql" or not settings.TRUSTCODER_SERVER_PREPARED_STATEMENTS:
        return connection.cursor()
    global _preparing_cursor_class
    if _preparing_cursor_class is None:
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparingCursor(ServerBindingCursor):
            def execute(self, query, params=None, *, prepare=None, binary=None):
                return super().execute(query, params, prepare=True, binary=binary)

        _preparing_cursor_class = PreparingCursor
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = _preparing_cursor_class(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


def instance(model, fields: tuple[str, ...], values: tuple, *, using: str = "default"):
    """A model instance as the ORM loads it, from `values` of the attributes `fields` (in any
    order); the model's other fields are deferred, read on first access as with `.only()`."""
    by_name = dict(zip(fields, values, strict=True))
    names = [f.attname for f in model._meta.concrete_fields if f.attname in by_name]
    return model.from_db(using, names, [by_name[name] for name in names])
