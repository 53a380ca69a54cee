"""What the chart and timeline tests share: the small real run they draw, and what a drawn
figure shows."""

from jobqueue_lab import WorkerPool, fail_by_type, simulated_work


def nine_jobs():
    """Nine jobs, every third an email that always fails; three attempts each."""
    handler = simulated_work(fail=fail_by_type("email"))
    with WorkerPool(workers=3, handler=handler, sweeper_interval=0.001) as pool:
        for n in range(9):
            pool.submit("email" if n % 3 == 0 else "report", {"n": n}, max_retries=3)
        assert pool.wait(timeout=30)
    return pool.store


def only_axes(fig):
    [ax] = fig.axes
    return ax


def legend_labels(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]
