"""A no-op Dramatiq actor on the "bench" queue, for scripts/bench/job-peers."""
import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

dramatiq.set_broker(RedisBroker(url=os.environ["REDIS_URL"]))


@dramatiq.actor(queue_name="bench", max_retries=3)
def noop():
    pass
