"""The work queue between the sweeper and the workers: it turns ids away when full, and asks
for more once it is half empty again, only if it did turn some away."""

from jobqueue_lab import WorkQueue


def test_a_queue_that_turned_ids_away_asks_for_more_once_half_empty():
    queue = WorkQueue(capacity=4)
    ids = [f"job-{n}" for n in range(10)]
    assert [queue.put(job_id) for job_id in ids] == [True] * 4 + [False] * 6
    queue.done_claiming(queue.take())
    assert not queue.wants_more.is_set(), "three of four still queued"
    queue.done_claiming(queue.take())
    assert queue.wants_more.is_set(), "half empty after turning ids away"


def test_a_queue_that_never_turned_an_id_away_asks_for_nothing():
    queue = WorkQueue(capacity=4)
    queue.put("job-1")
    queue.done_claiming(queue.take())
    assert len(queue) == 0
    assert not queue.wants_more.is_set()
