"""Runs one peer job queue through the same work as `tally bench jobs`: enqueue N no-op jobs (a
sample one at a time, the rest in bulk), start W worker processes, and time the drain from the
moment the first job completes to the moment the queue is empty. Prints one JSON line.

    python3 drive.py sidekiq|dramatiq|rq --redis-url URL --jobs N --single S --workers W --threads T
"""
import argparse
import json
import os
import subprocess
import sys
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))


def command_calls(client):
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k not in ("cmdstat_info",))


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", choices=["sidekiq", "dramatiq", "rq"])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--jobs", type=int, default=100000)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()

    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    env = dict(os.environ, REDIS_URL=args.redis_url)
    calls_before = command_calls(client)
    total = args.jobs + args.single

    if args.peer == "sidekiq":
        out = subprocess.run(["ruby", os.path.join(HERE, "sidekiq_enqueue.rb"), str(args.jobs), str(args.single)],
                             env=env, check=True, capture_output=True, text=True).stdout.split()
        single_rate, bulk_rate = float(out[0]), float(out[1])
        pending = lambda: client.llen("queue:bench")
        worker_cmd = ["sidekiq", "-r", os.path.join(HERE, "noop_sidekiq.rb"), "-q", "bench", "-c", str(args.threads)]
    elif args.peer == "dramatiq":
        sys.path.insert(0, HERE)
        os.environ["REDIS_URL"] = args.redis_url
        import noop_dramatiq
        started = time.monotonic()
        for _ in range(args.single):
            noop_dramatiq.noop.send()
        single_rate = args.single / (time.monotonic() - started) if args.single else 0
        # Dramatiq has no bulk enqueue: each message is one script call.
        started = time.monotonic()
        for _ in range(args.jobs):
            noop_dramatiq.noop.send()
        bulk_rate = args.jobs / (time.monotonic() - started)
        pending = lambda: client.hlen("dramatiq:bench.msgs")
        worker_cmd = ["dramatiq", "noop_dramatiq", "--processes", "1", "--threads", str(args.threads), "--queues", "bench"]
    else:
        from rq import Queue
        sys.path.insert(0, HERE)
        import noop_rq
        queue = Queue("bench", connection=client)
        started = time.monotonic()
        for _ in range(args.single):
            queue.enqueue(noop_rq.noop)
        single_rate = args.single / (time.monotonic() - started) if args.single else 0
        started = time.monotonic()
        for start in range(0, args.jobs, 1000):
            queue.enqueue_many([Queue.prepare_data(noop_rq.noop) for _ in range(min(1000, args.jobs - start))])
        bulk_rate = args.jobs / (time.monotonic() - started)
        pending = lambda: client.llen("rq:queue:bench")
        worker_cmd = ["rq", "worker", "--url", args.redis_url, "--burst", "bench"]

    queued = pending()
    workers = [subprocess.Popen(worker_cmd, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(args.workers)]
    try:
        # The clock starts when the first job is taken (worker start-up is not throughput).
        if not wait_until(lambda: pending() < queued, 120):
            raise SystemExit(f"{args.peer}: workers took no job within 120 s")
        started = time.monotonic()
        done = wait_until(lambda: pending() == 0, args.timeout)
        drain = time.monotonic() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    calls = command_calls(client) - calls_before
    print(json.dumps({
        "peer": args.peer, "jobs": total, "workers": args.workers, "threads": args.threads,
        "single_enqueue_per_second": round(single_rate), "bulk_enqueue_per_second": round(bulk_rate),
        "processed_per_second": round(total / drain) if done else None, "drain_seconds": round(drain, 3), "complete": done,
        "redis_commands_per_job": round(calls / total, 2),
    }))


if __name__ == "__main__":
    main()
