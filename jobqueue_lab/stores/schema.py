"""Making a database the store's: its tables created in a database that has none of them,
recognised in one that this store made, refused in any other.

A database that has any of the store's tables must say, in ``store_info``, that they are this
store's, of this schema version. Anything else is refused (``UnusableDatabase``, saying what
was found) before anything is made, in the same transaction as the look: the store's tables are
never added beside another program's tables that share their names.

A database made by version 1 of the store, which did not say so, is recognised by its tables'
exact columns and marked: jobs kept before an upgrade are kept after it, and another program's
tables are most unlikely to match the store's column for column.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnusableDatabase
from .statements import SCHEMA_VERSION, STORE, VERSION_1, Statements

Tables = dict[str, frozenset[str]]
"""The store's tables that a database has, each with the names of its columns."""


def make_it_the_stores(db: Any, sql: Statements, now: float, where: str) -> float:
    """Create, recognise or refuse the store's tables in the transaction open on ``db`` (see
    the module), and return when the store was first made. ``where`` names the database in
    an error."""
    tables = store_tables(db, sql)
    if not tables:
        create_tables(db, sql, now)
    elif tables == VERSION_1:
        for statement in sql.mark_version_1:
            db.execute(statement)
    else:
        check_the_marker(db, sql, tables, where)
    (started,) = db.execute(sql.started).fetchone()
    return started


def store_tables(db: Any, sql: Statements) -> Tables:
    """Each of the store's tables that the database has, with the names of its columns."""
    names = {name for (name,) in db.execute(sql.names_in_use).fetchall()}
    return {table: columns(db, sql, table) for table in VERSION_1 if table in names}


def columns(db: Any, sql: Statements, table: str) -> frozenset[str]:
    """The names of a table's columns, as the driver describes a query that reads none of its
    rows: the one way to ask that SQLite and PostgreSQL share."""
    described = db.execute(sql.columns_of.format(table=table)).description
    return frozenset(column[0] for column in described)


def create_tables(db: Any, sql: Statements, now: float) -> None:
    """Every table and index of the store, and the row in ``store_info`` that marks them as
    this store's and says when it was made."""
    for statement in sql.schema:
        db.execute(statement)
    db.execute(sql.mark_the_store, (STORE, SCHEMA_VERSION, now))


def check_the_marker(db: Any, sql: Statements, tables: Tables, where: str) -> None:
    """Refuse (``UnusableDatabase``) tables that ``store_info`` does not mark as this store's,
    of this version."""
    marked = {"store", "schema_version"} <= tables.get("store_info", frozenset())
    marks = db.execute(sql.marks).fetchall() if marked else None
    problem = schema_problem(tables, marks)
    if problem is not None:
        raise UnusableDatabase(where, problem)


def schema_problem(
    tables: dict[str, frozenset[str]], marks: list[tuple[str, int]] | None
) -> str | None:
    """What shows that a database holding ``tables`` (the store's table names it has, with
    their columns) is not this store's, of this version; ``None`` if nothing does.

    ``marks`` are the rows of ``store_info``, or ``None`` when it has no marker columns.
    """
    found = ", ".join(sorted(tables))
    missing = ", ".join(sorted(set(VERSION_1) - set(tables)))
    start_afresh = "open the store on a new database (a new file, or an empty schema)"
    if missing:
        return (
            f"it has tables named {found} but no {missing}, so they are another program's; "
            f"the store will not add its tables beside them: {start_afresh}"
        )
    if marks is not None and len(marks) == 1 and tuple(marks[0]) == (STORE, SCHEMA_VERSION):
        return None
    if marks is not None and len(marks) == 1 and marks[0][0] == STORE:
        return (
            f"it is a {STORE} store of schema version {marks[0][1]}, and this version of "
            f"{STORE} reads version {SCHEMA_VERSION}: open it with the {STORE} that made it, "
            f"or {start_afresh}"
        )
    return (
        f"it has tables named {found}, but store_info does not mark them as a {STORE} store "
        f"(another program's tables, or an early {STORE}'s with other columns): {start_afresh}"
    )
