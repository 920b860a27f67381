"""The Celery side of `bench/run --jobs`: one no-op task on a Redis broker.

The task takes the job's sequence number and the time it was enqueued (ns since the epoch,
taken by the enqueuer just before `delay`) and, first thing when it starts, appends one record
(seq, enqueued_ns, started_ns: three little-endian u64) to a file of its own process with one
unbuffered write(2). The brisk-jobs side (bench/peers/jobs-brisk) records the same three numbers
the same way, so the measurement costs both sides the same: one clock read and one write.

Settings (all from the environment, set by bench/harness/jobs.py):
  BENCH_CELERY_BROKER   redis://127.0.0.1:6379/N
  BENCH_CELERY_PREFIX   a key prefix of the run's own (kombu's global_keyprefix): every key
                        and channel of this run's broker traffic carries it; removed afterwards
  BENCH_JOBS_RECORDS    the folder for the record files

At-least-once, as brisk-jobs: `task_acks_late` (a message is acknowledged after the task ran; a
worker that dies first leaves it unacknowledged, and kombu's Redis transport restores it after
the visibility timeout) and `task_reject_on_worker_lost` (a pool process killed mid-task gives
its message back rather than acknowledging it). No result backend: the task's return value is
not stored (`task_ignore_result`), brisk-jobs stores none either."""

import os
import struct
import time

from celery import Celery

app = Celery("benchjobs", broker=os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    broker_transport_options={"global_keyprefix": os.environ.get("BENCH_CELERY_PREFIX", "brisk-bench-jobs:")},
    broker_connection_retry_on_startup=True,
    # No remote control (its pidbox is a fanout exchange on pub/sub): the harness never uses it.
    worker_enable_remote_control=False,
    worker_hijack_root_logger=False,
    # The rest is Celery's default: JSON messages, prefetch multiplier 4.
    worker_prefetch_multiplier=int(os.environ.get("BENCH_CELERY_PREFETCH", "4")),
)

RECORD = struct.Struct("<QQQ")
_RECORDS = os.environ.get("BENCH_JOBS_RECORDS", "/tmp")
_fd = None


@app.task(name="noop")
def noop(seq: int, enqueued_ns: int) -> None:
    started = time.time_ns()
    global _fd
    if _fd is None:
        _fd = os.open(os.path.join(_RECORDS, f"celery-{os.getpid()}.rec"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(_fd, RECORD.pack(seq, enqueued_ns, started))
