"""Enqueues Celery no-op jobs for `bench/run --jobs`: `enqueue.py FIRST COUNT RATE`.

Jobs FIRST .. FIRST+COUNT-1, one `noop.delay(seq, enqueued_ns)` each (one message, one Redis
round trip), from this one process. RATE 0: as fast as it goes; otherwise RATE jobs a second on a
fixed schedule (job i is due at start + i/RATE; a late one is sent at once, not skipped).
PRODUCERS (optional, default 1) above 1 with RATE 0: that many threads send at once (the
GIL lets their Redis round trips overlap).
Prints one JSON line: first and last enqueue time (ns since the epoch) and the count sent."""

import itertools
import json
import sys
import threading
import time

from benchjobs import noop


def main() -> None:
    first, count, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    # Connect before the clock starts (the first delay would otherwise pay it).
    with noop.app.connection_for_write() as conn:
        conn.ensure_connection()
    noop.app.producer_pool  # noqa: B018  (created here, not in the first delay)
    producers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    if producers > 1 and rate <= 0:
        concurrently(first, count, producers)
        return
    first_ns = last_ns = 0
    t0 = time.monotonic()
    for i in range(count):
        if rate > 0:
            wait = t0 + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        now = time.time_ns()
        if i == 0:
            first_ns = now
        last_ns = now
        noop.delay(first + i, now)
    print(json.dumps({"first_enqueue_ns": first_ns, "last_enqueue_ns": last_ns, "count": count,
                      "done_ns": time.time_ns()}), flush=True)


def concurrently(first: int, count: int, producers: int) -> None:
    taken = itertools.count()  # next() on it is atomic under the GIL

    def produce() -> None:
        while (i := next(taken)) < count:
            noop.delay(first + i, time.time_ns())

    first_ns = time.time_ns()
    threads = [threading.Thread(target=produce) for _ in range(min(producers, max(count, 1)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    last_ns = time.time_ns()
    print(json.dumps({"first_enqueue_ns": first_ns, "last_enqueue_ns": last_ns, "count": count,
                      "done_ns": last_ns}), flush=True)


if __name__ == "__main__":
    main()
