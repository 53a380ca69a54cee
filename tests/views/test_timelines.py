"""The timelines (``jobqueue_lab/views/timelines.py``): ``attempts_timeline``, one bar per
attempt coloured by its outcome, by worker or by job, with the sweeper's retries marked; and
``lease_timeline`` (notebook 09), which draws each lease as granted, where it ran out, the
recovery, the backoff waits and the late reports that were fenced off."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from jobqueue_lab import InMemoryJobStore, ManualClock, StaleClaim, exponential
from jobqueue_lab.views.charts import OUTCOME_COLOURS, WIDE
from jobqueue_lab.views.timelines import (
    LEASE_EXPIRED,
    LEASE_OUTCOME_COLOURS,
    attempts_timeline,
    lease_timeline,
)
from tests.views.figures import legend_labels, nine_jobs, only_axes


@pytest.fixture(scope="module")
def store():
    return nine_jobs()


def bars_coloured(ax, outcome):
    colour = to_rgba(OUTCOME_COLOURS[outcome])
    return [bar for bar in ax.patches if bar.get_facecolor() == colour]


# --- the attempts timeline ---------------------------------------------------------------------


@pytest.mark.parametrize("by", ["worker", "job"])
def test_the_timeline_has_one_bar_per_attempt_coloured_by_outcome(store, by):
    ax = only_axes(attempts_timeline(store, by=by))
    jobs = store.list_jobs()
    failures = [t for t in store.transitions() if t.accepted and t.to_status.value == "failed"]
    assert len(ax.patches) == sum(job.attempts for job in jobs) == 15
    assert len(bars_coloured(ax, "failed")) == len(failures) == 9
    assert len(bars_coloured(ax, "completed")) == 6


def test_the_timeline_by_job_has_a_row_per_job_and_marks_each_retry(store):
    ax = only_axes(attempts_timeline(store, by="job"))
    rows = [label.get_text() for label in ax.get_yticklabels()]
    assert rows == [job.id for job in store.list_jobs()]
    [ticks] = ax.collections
    retries = [t for t in store.transitions() if t.accepted and t.from_status == "failed"]
    assert len(ticks.get_segments()) == len(retries) == 6
    heights = {round(abs(b[1] - a[1]), 2) for a, b in ticks.get_segments()}
    assert heights == {0.9}, "each retry tick spans most of its row, so it is easy to see"


def test_the_timeline_legend_lists_only_what_appears(store):
    assert legend_labels(only_axes(attempts_timeline(store))) == [
        "completed",
        "failed",
        "sweeper retry",
    ]
    unfinished = InMemoryJobStore()
    unfinished.claim_job(unfinished.create_job("report").id, actor="worker-1")
    assert legend_labels(only_axes(attempts_timeline(unfinished))) == ["in progress"]


def test_the_timeline_by_worker_adds_a_sweeper_row(store):
    ax = only_axes(attempts_timeline(store, by="worker"))
    rows = [label.get_text() for label in ax.get_yticklabels()]
    workers = {t.actor for t in store.transitions() if t.to_status.value == "processing"}
    assert rows[:-1] == sorted(workers)
    assert rows[-1] == "sweeper"


def test_the_timeline_shows_an_unfinished_attempt_as_in_progress():
    store = InMemoryJobStore()
    job = store.create_job("report")
    store.claim_job(job.id, actor="worker-1")
    ax = only_axes(attempts_timeline(store, by="job"))
    assert len(bars_coloured(ax, "in progress")) == 1


def test_the_timeline_refuses_an_unknown_grouping(store):
    with pytest.raises(ValueError, match="by must be 'worker' or 'job'"):
        attempts_timeline(store, by="type")


# --- the lease timeline (notebook 09) ----------------------------------------------------------


def lost_and_backed_off():
    """Moved by hand on a manual clock, so every time is known.

    job-001: worker-1 claims it at 0 and goes quiet; its 30 s lease runs out, and the sweep at
    40 recovers it; after a backoff of 1 s, worker-2 runs it again from 41 to 51, and
    worker-1's late report at 46 is refused. job-002 fails three times under exponential
    backoff (waits of 1, 2 and 4 s), then completes. job-003 is released by a stopping worker.
    """
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=30, backoff=exponential(base=1))
    lost, flaky, released = (store.create_job(t, max_retries=4).id for t in "abc")
    store.claim_job(lost, actor="worker-1")
    store.claim_job(released, actor="worker-3")
    clock.advance(2)
    store.release_job(released, claim=1, actor="worker-3")
    for claim in (1, 2, 3):
        store.claim_job(flaky, actor="worker-3")
        clock.advance(1)
        store.update_status(flaky, "failed", "busy", claim=claim, actor="worker-3")
        clock.advance(store.get_job(flaky).retry_at - store.now())
        store.retry_failed_jobs(actor="sweeper")
    store.claim_job(flaky, actor="worker-3")
    clock.advance(1)
    store.update_status(flaky, "completed", claim=4, actor="worker-3")
    clock.advance(40 - store.now())
    store.recover_expired_leases(actor="sweeper")
    clock.advance(1)
    store.retry_failed_jobs(actor="sweeper")
    store.claim_job(lost, actor="worker-2")
    clock.advance(5)
    with pytest.raises(StaleClaim):
        store.update_status(lost, "completed", claim=1, actor="worker-1")
    clock.advance(5)
    store.update_status(lost, "completed", claim=2, actor="worker-2")
    return store


def gids(fig, prefix):
    return {
        artist.get_gid(): artist
        for artist in only_axes(fig).get_children()
        if (artist.get_gid() or "").startswith(prefix)
    }


def bar_span(bar):
    return round(bar.get_x(), 2), round(bar.get_x() + bar.get_width(), 2)


def test_the_lease_timeline_draws_the_lost_lease_its_expiry_and_the_recovery():
    fig = lease_timeline(lost_and_backed_off())
    [lease] = gids(fig, "lease:").values()
    assert lease.get_gid() == "lease:job-001:1"
    assert list(lease.get_xdata()) == [0.0, 30.0], "from the claim to the deadline"
    [expiry] = gids(fig, "expiry:").values()
    assert list(expiry.get_xdata()) == [30.0] and expiry.get_marker() == "x"
    [recovery] = gids(fig, "recovery:").values()
    assert list(recovery.get_xdata()) == [40.0], "where the sweeper failed the job"
    [overdue] = gids(fig, "overdue:").values()
    assert bar_span(overdue) == (30.0, 40.0), "processing after the lease ran out"


def test_the_lease_timeline_colours_each_attempt_by_how_it_ended():
    fig = lease_timeline(lost_and_backed_off())
    bars = gids(fig, "attempt:")
    colour = {gid: bar.get_facecolor() for gid, bar in bars.items()}
    expected = {
        "attempt:job-001:1": LEASE_EXPIRED,
        "attempt:job-001:2": "completed",
        "attempt:job-002:1": "failed",
        "attempt:job-002:4": "completed",
        "attempt:job-003:1": "released",
    }
    for gid, outcome in expected.items():
        assert colour[gid] == to_rgba(LEASE_OUTCOME_COLOURS[outcome]), gid
    assert len(bars) == 2 + 4 + 1


def test_the_lease_timeline_marks_the_late_report_it_refused():
    store = lost_and_backed_off()
    [fenced] = gids(lease_timeline(store), "fenced:").values()
    assert fenced.get_gid() == "fenced:job-001:1"
    [refusal] = [t for t in store.transitions() if not t.accepted]
    assert list(fenced.get_xdata()) == [refusal.at] == [46.0]


def test_the_lease_timeline_shows_backoff_gaps_growing():
    fig = lease_timeline(lost_and_backed_off())
    waits = sorted(gids(fig, "wait:job-002").values(), key=lambda line: line.get_xdata()[0])
    assert [line.get_xdata()[1] - line.get_xdata()[0] for line in waits] == [1, 2, 4]
    assert all(line.get_linestyle() == ":" for line in waits)
    labels = [text.get_text() for text in gids(fig, "waited:job-002").values()]
    assert set(labels) <= {"1 s", "2 s", "4 s"} and "4 s" in labels


def test_the_lease_timeline_writes_each_wait_when_there_is_room():
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, backoff=exponential(base=2))
    job = store.create_job("t", max_retries=4)
    for claim in (1, 2, 3):
        store.claim_job(job.id)
        clock.advance(1)
        store.update_status(job.id, "failed", "busy", claim=claim)
        clock.advance(store.get_job(job.id).retry_at - store.now())
        store.retry_failed_jobs()
    labels = [t.get_text() for t in only_axes(lease_timeline(store)).texts if t.get_gid()]
    assert labels == ["2 s", "4 s", "8 s"]


def test_the_lease_timeline_legend_lists_only_what_appears():
    assert legend_labels(only_axes(lease_timeline(lost_and_backed_off()))) == [
        "completed",
        "failed",
        "lease expired",
        "released",
        "still processing after its lease ran out",
        "waiting to be retried (seconds above)",
        "lease as granted, and where it ran out",
        "sweeper recovers the job",
        "back to pending",
        "late report refused (fenced)",
    ]
    plain = InMemoryJobStore()
    plain.claim_job(plain.create_job("t").id)
    assert legend_labels(only_axes(lease_timeline(plain))) == ["in progress"]


def test_the_lease_timeline_is_a_fixed_size_figure_pyplot_will_not_show_again():
    before = plt.get_fignums()
    fig = lease_timeline(lost_and_backed_off())
    assert isinstance(fig, Figure) and tuple(fig.get_size_inches()) == WIDE
    assert plt.get_fignums() == before
    assert [t.get_text() for t in only_axes(lease_timeline(InMemoryJobStore())).texts] == [
        "no attempts yet"
    ]


def test_the_lease_timeline_leaves_out_refusals_of_jobs_never_claimed():
    store = InMemoryJobStore()
    waiting = store.create_job("t").id
    store.claim_job(store.create_job("t").id)
    with pytest.raises(StaleClaim):
        store.renew_lease(waiting, claim=1)
    ax = only_axes(lease_timeline(store))
    assert [label.get_text() for label in ax.get_yticklabels()] == ["job-002"]
    assert not gids(ax.figure, "fenced:")
