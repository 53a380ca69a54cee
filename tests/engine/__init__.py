"""The parts around the store: pool, workers, sweeper, work queue, backoff, clock, checks."""
