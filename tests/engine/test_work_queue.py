"""The work queue between the sweeper and the workers: it never holds an id twice, turns ids
away when full, and asks for more once it is half empty again, only if it did turn some away."""

from jobqueue_lab import InMemoryJobStore, JobStatus, WorkQueue
from tests.support import run_with_deadline

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def test_the_work_queue_never_holds_an_id_twice():
    store = InMemoryJobStore()
    queue = WorkQueue(capacity=10)
    job = store.create_job("t")
    assert queue.put(job.id) is True
    assert queue.put(job.id) is False
    assert run_with_deadline(queue.take) == job.id
    assert queue.put(job.id) is False, "still counted as queued until the claim is done"
    store.claim_job(job.id)
    queue.done_claiming(job.id)
    def still_pending(job_id):
        return store.get_job(job_id).status is PENDING

    assert queue.put(job.id, still_wanted=still_pending) is False, "a processing job is dropped"
    assert len(queue) == 0


def test_a_queue_that_turned_ids_away_asks_for_more_once_half_empty():
    queue = WorkQueue(capacity=4)
    ids = [f"job-{n}" for n in range(10)]
    assert [queue.put(job_id) for job_id in ids] == [True] * 4 + [False] * 6
    queue.done_claiming(run_with_deadline(queue.take))
    assert not queue.wants_more.is_set(), "three of four still queued"
    queue.done_claiming(run_with_deadline(queue.take))
    assert queue.wants_more.is_set(), "half empty after turning ids away"


def test_a_queue_that_never_turned_an_id_away_asks_for_nothing():
    queue = WorkQueue(capacity=4)
    queue.put("job-1")
    queue.done_claiming(run_with_deadline(queue.take))
    assert len(queue) == 0
    assert not queue.wants_more.is_set()
