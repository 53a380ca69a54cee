"""One contender in a race between processes for the jobs of one store.

Run as ``python -m tests.claim_race URL READY GO OUT``: open the store, create the file READY,
wait until the file GO exists, then claim jobs with ``claim_next`` and complete them until none
is left, appending ``job-id claim`` to OUT for each claim. All contenders wait for the same GO,
so they start claiming at the same moment.
"""

import sys
import time
from pathlib import Path

from jobqueue_lab import COMPLETED
from jobqueue_lab.stores.urls import open_store


def main(url: str, ready: str, go: str, out: str) -> None:
    with open_store(url) as store, open(out, "a") as claims:
        Path(ready).touch()
        deadline = time.monotonic() + 60
        while not Path(go).exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        while (job := store.claim_next()) is not None:
            claims.write(f"{job.id} {job.claim}\n")
            store.update_status(job.id, COMPLETED, claim=job.claim)


if __name__ == "__main__":
    main(*sys.argv[1:])
