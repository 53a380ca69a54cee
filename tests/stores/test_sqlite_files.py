"""The file behind a SQLite store: found again by every connection the store opens, wherever the
working folder has moved, and refused with its path and the reason when SQLite cannot use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobqueue_lab import SQLiteJobStore, UnusableDatabase
from jobqueue_lab.stores.urls import open_store


def everything_in(folder: Path) -> dict[Path, bytes | None]:
    """Every file and folder under ``folder``, with each file's contents."""
    return {path: None if path.is_dir() else path.read_bytes() for path in folder.rglob("*")}


# --- a relative path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "open_relative",
    [lambda: SQLiteJobStore("jobs.db"), lambda: open_store("sqlite:///jobs.db")],
    ids=["SQLiteJobStore", "open_store"],
)
def test_a_relative_path_names_one_file_whatever_the_working_folder_becomes(
    open_relative, tmp_path, monkeypatch
):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    with open_relative() as store:
        job = store.create_job("t")
        monkeypatch.chdir(second)
        # While one connection is lent out, the store opens another: it must find the same file.
        with store._connection():
            assert store.list_jobs() == [job]
        assert store.claim_job(job.id).claim == 1
    assert list(second.iterdir()) == []
    assert store.path == first / "jobs.db"


# --- paths SQLite cannot use -------------------------------------------------------------------


def a_missing_folder(tmp_path):
    return tmp_path / "missing" / "jobs.db", f"there is no folder {tmp_path / 'missing'}"


def a_folder(tmp_path):
    (tmp_path / "jobs.db").mkdir()
    return tmp_path / "jobs.db", "it is a folder, not a file"


def a_file_in_place_of_a_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("not a folder")
    return tmp_path / "notes.txt" / "jobs.db", f"there is no folder {tmp_path / 'notes.txt'}"


def a_file_that_is_not_a_database(tmp_path):
    (tmp_path / "jobs.db").write_text("name,status\nresize,pending\n" * 200)
    return tmp_path / "jobs.db", "it is not a SQLite database (file is not a database)"


@pytest.mark.parametrize(
    "unusable",
    [a_missing_folder, a_folder, a_file_in_place_of_a_folder, a_file_that_is_not_a_database],
)
@pytest.mark.parametrize("opener", ["SQLiteJobStore", "open_store"])
def test_a_path_sqlite_cannot_use_is_refused_with_the_path_and_why(unusable, opener, tmp_path):
    path, reason = unusable(tmp_path)
    before = everything_in(tmp_path)
    with pytest.raises(UnusableDatabase) as refused:
        if opener == "SQLiteJobStore":
            SQLiteJobStore(path)
        else:
            open_store(f"sqlite:///{path}")
    assert str(refused.value) == f"cannot keep jobs in {path}: {reason}"
    assert (refused.value.where, refused.value.reason) == (str(path), reason)
    assert isinstance(refused.value, ValueError)
    assert everything_in(tmp_path) == before, "nothing is made or changed"


def test_a_relative_path_sqlite_cannot_use_is_named_in_full(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnusableDatabase) as refused:
        SQLiteJobStore("gone/jobs.db")
    assert refused.value.where == str(tmp_path / "gone" / "jobs.db")
    assert list(tmp_path.iterdir()) == []
