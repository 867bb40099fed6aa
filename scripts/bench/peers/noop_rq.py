"""A no-op function for RQ, for scripts/bench/job-peers."""


def noop():
    pass
