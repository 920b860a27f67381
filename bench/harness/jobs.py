"""bench/run --jobs: background jobs (issue 19) — brisk-jobs on PostgreSQL and on SQLite against
Celery on Redis, the same no-op job, in one run.

Each system is a worker process started by the harness and an enqueuer process that enqueues
jobs one at a time (one enqueue call, one database statement or Redis message, each), both
speaking the same small protocol:

  enqueuer: ARGV... FIRST COUNT RATE  -> enqueues jobs FIRST..FIRST+COUNT-1, each carrying its
            sequence number and the time it was enqueued (ns since the epoch, read just before
            the enqueue call); RATE 0 = as fast as it goes, else that many a second on a fixed
            schedule. Prints one JSON line {first_enqueue_ns, last_enqueue_ns, count}.
  worker:   runs the jobs; a job's first act is to append (seq, enqueued_ns, started_ns), three
            little-endian u64, to a file of its process in BENCH_JOBS_RECORDS with one write(2).

So the harness sees every job start by reading those files, and the measurement costs both
sides the same (a clock read and a write). brisk-jobs runs either as its `worker` command beside
an enqueuer process (as Celery does), or as a web process whose own workers run what one of its
handlers enqueues (`POST /enqueue/FIRST/COUNT/RATE/PRODUCERS`: how a SQLite app runs, since only an
enqueue in the same process wakes its workers at once). Phases, per system, with a worker running:

  warm-up    BENCH_JOBS_WARMUP jobs (500), not measured (also: the worker is up and claiming);
  throughput BENCH_JOBS_N jobs (20,000) enqueued as fast as the enqueuer goes while the worker
             runs them: jobs/s = N / (last job start - first enqueue);
  concurrent the same with BENCH_JOBS_PRODUCERS (16) producers at once, as a web app's requests
             enqueue: tasks of one enqueuer, each job in its own transaction with
             `enqueue_pipelined` (brisk-jobs; JOBS_ENQUEUE=awaited for `enqueue`), or
             threads of one Python process (Celery); the goal is judged on this phase;
  latency    BENCH_JOBS_RATE jobs/s (200) for BENCH_JOBS_SECONDS (10 s): start - enqueue of
             each job, p50/p99, at a rate every system keeps up with (so it measures the wake-up
             path, LISTEN/NOTIFY or polling or BRPOP, not the depth of a queue);
then the worker is stopped and
  drain      N jobs enqueued with no worker running, then a worker started: the worker's own
             rate, N / (last start - first start), with no enqueuer competing for the 2 cores.

Afterwards: every job of every phase must have started (at-least-once: none lost), the jobs that
started more than once are counted, and the queue must be empty. The CPU time of the worker's
processes, of the enqueuer and of the broker (redis-server, or every postgres process, with the
backends that ended during the phase: see `measured`) is read from /proc over each measured phase. Nothing is pinned: on 2 cores the worker, the enqueuer and
the broker or database share both. Writes results/jobs-latest.md and .json (results/smoke/ with
--smoke). See bench/README.md, "The jobs suite"."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import http.client
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import measure
from servers import BENCH, MAIN, PEERS, ServerError, free_port, log

RECORD = struct.Struct("<QQQ")
GOAL = 5.0  # issue 19: brisk-jobs' throughput at least 5x Celery's
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
VENV = BENCH / ".venv-jobs"
CELERY_DIR = PEERS / "jobs-celery"
BRISK_PACKAGE = "jobs-brisk"


@dataclass
class System:
    name: str
    label: str
    kind: str  # "brisk" or "celery"
    backend: str  # "pg", "sqlite" or "redis"
    # brisk-jobs: "worker" (its `worker` command, a process of its own, enqueues from another
    # process) or "web" (the web process's own workers, enqueues from one of its handlers).
    mode: str = "worker"
    pool: str = ""  # Celery's pool
    processes: int = 1  # Celery: worker processes started (each with its pool)
    concurrency: int = 0  # jobs at once per worker process (0: from the config)
    async_commit: bool = False  # PostgreSQL: the bench database with synchronous_commit = off


CORES = os.cpu_count() or 2
SYSTEMS = [
    System("brisk-pg", "brisk-jobs on PostgreSQL (worker process)", "brisk", "pg"),
    System("brisk-sqlite", "brisk-jobs on SQLite (workers in the web process)", "brisk", "sqlite", mode="web"),
    System("celery", f"Celery on Redis ({CORES} solo worker processes)", "celery", "redis", pool="solo",
           processes=CORES, concurrency=1),
    System("celery-prefork", f"Celery on Redis (prefork, {CORES} pool processes)", "celery", "redis", pool="prefork",
           concurrency=CORES),
    System("brisk-pg-web", "brisk-jobs on PostgreSQL (workers in the web process)", "brisk", "pg", mode="web"),
    System("brisk-sqlite-worker", "brisk-jobs on SQLite (worker process: polls)", "brisk", "sqlite"),
    # Not a default: how much of brisk-pg's time is PostgreSQL flushing its WAL at every commit
    # (the Redis of this run keeps nothing on disk).
    System("brisk-pg-async", "brisk-jobs on PostgreSQL, synchronous_commit off (worker process)", "brisk", "pg",
           async_commit=True),
]
SMOKE = ["brisk-pg", "brisk-sqlite", "celery"]
DEFAULT = ["brisk-pg", "brisk-sqlite", "celery", "celery-prefork", "brisk-pg-web", "brisk-sqlite-worker", "brisk-pg-async"]
# The figure the goal is judged against: Celery's fastest configuration of those measured.
CELERY = ("celery", "celery-prefork")


PHASES = ("throughput", "concurrent", "latency", "drain")


def config(smoke: bool) -> dict:
    cores = os.cpu_count() or 2
    d = {
        "jobs": int(measure.env_num("BENCH_JOBS_N", 1000 if smoke else 20000)),
        "warmup": int(measure.env_num("BENCH_JOBS_WARMUP", 100 if smoke else 500)),
        "rate": measure.env_num("BENCH_JOBS_RATE", 100 if smoke else 200),
        "seconds": measure.env_num("BENCH_JOBS_SECONDS", 2 if smoke else 10),
        "rounds": int(measure.env_num("BENCH_ROUNDS", 1)),
        # brisk-jobs' jobs at once per queue in its one process (its default, 8; Celery's
        # prefork pool of 2 with the default prefetch of 4 holds 8 messages too).
        "brisk_concurrency": int(measure.env_num("BENCH_JOBS_CONCURRENCY", 8)),
        "celery_prefetch": int(measure.env_num("BENCH_CELERY_PREFETCH", 4)),
        "phases": os.environ.get("BENCH_JOBS_PHASES", "throughput,concurrent,latency,drain").split(","),
        # The concurrent phase's producers: tasks (brisk) or threads (Celery) enqueuing at once,
        # as a web app's requests do.
        "producers": int(measure.env_num("BENCH_JOBS_PRODUCERS", 16)),
        "profile": os.environ.get("BENCH_PROFILE", "dev" if smoke else "release"),
        "systems": os.environ.get("BENCH_JOBS_SYSTEMS", ",".join(SMOKE if smoke else DEFAULT)).split(","),
        "redis_db": int(measure.env_num("BENCH_REDIS_DB", 0)),
        "timeout_s": measure.env_num("BENCH_JOBS_TIMEOUT", 300),
        "report": os.environ.get("BENCH_REPORT", "jobs-latest"),
    }
    unknown = set(d["systems"]) - {s.name for s in SYSTEMS} | set(d["phases"]) - set(PHASES)
    if unknown:
        raise SystemExit(f"bench --jobs: unknown system or phase: {', '.join(sorted(unknown))}")
    if not d["report"].replace("-", "").replace("_", "").isalnum():
        raise SystemExit(f"bench --jobs: BENCH_REPORT is a file name (letters, digits, - and _): {d['report']!r}")
    return d


# --- services ------------------------------------------------------------------------------------

def redis_cli(*args: str, db: int = 0) -> str:
    res = subprocess.run(["redis-cli", "-h", REDIS_HOST, "-p", str(REDIS_PORT), "-n", str(db), *args],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise ServerError(f"redis-cli {' '.join(args)} failed: {res.stderr.strip()[:300]}")
    return res.stdout


def ensure_redis() -> None:
    try:
        if redis_cli("ping").strip() == "PONG":
            return
    except (ServerError, FileNotFoundError):
        pass
    log("Redis is down: starting it with scripts/services redis")
    subprocess.run([str(MAIN / "scripts" / "services"), "redis"], check=True)
    if redis_cli("ping").strip() != "PONG":
        raise ServerError("Redis is not answering on 127.0.0.1:6379")


def redis_keys(prefix: str, db: int) -> list[str]:
    return [k for k in redis_cli("--scan", "--pattern", prefix + "*", db=db).split("\n") if k]


def redis_clean(prefix: str, db: int) -> int:
    keys = redis_keys(prefix, db)
    for i in range(0, len(keys), 500):
        redis_cli("del", *keys[i:i + 500], db=db)
    return len(keys)


def psql(sql: str, db: str = "postgres") -> str:
    res = subprocess.run(["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-v", "ON_ERROR_STOP=1",
                          "-qAtX", "-c", sql], capture_output=True, text=True)
    if res.returncode != 0:
        raise ServerError(f"psql failed: {res.stderr.strip()[:300]}")
    return res.stdout


def ensure_postgres() -> None:
    if subprocess.run(["pg_isready", "-q", "-h", PG_HOST, "-p", str(PG_PORT)]).returncode == 0:
        return
    log("PostgreSQL is down: starting it with scripts/services postgres")
    subprocess.run([str(MAIN / "scripts" / "services"), "postgres"], check=True)


def comm_pids(name: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == name:
                        out.append(int(entry))
            except OSError:
                pass
    return out


def ensure_venv() -> None:
    """bench/.venv-jobs with peers/jobs-celery/requirements.txt (skipped when the pins did not change)."""
    req = CELERY_DIR / "requirements.txt"
    stamp = VENV / ".requirements.sha256"
    digest = hashlib.sha256(req.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest and (VENV / "bin" / "python").exists():
        return
    log("creating bench/.venv-jobs and installing peers/jobs-celery/requirements.txt (Celery on Redis)")
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", str(req)], check=True)
    stamp.write_text(digest)


# --- records -------------------------------------------------------------------------------------

class Records:
    """The record files of one system's run, read incrementally."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.offsets: dict[Path, int] = {}
        self.records: list[tuple[int, int, int]] = []

    def poll(self) -> int:
        for path in self.folder.glob("*.rec"):
            size = path.stat().st_size
            size -= size % RECORD.size
            at = self.offsets.get(path, 0)
            if size > at:
                with open(path, "rb") as f:
                    f.seek(at)
                    data = f.read(size - at)
                self.records += [RECORD.unpack_from(data, i) for i in range(0, len(data), RECORD.size)]
                self.offsets[path] = size
        return len(self.records)

    def wait(self, first: int, count: int, timeout: float, worker: subprocess.Popen | None) -> tuple[list, bool]:
        """Waits until every job first..first+count-1 has started; returns their first start
        records and whether all started in time."""
        deadline = time.monotonic() + timeout
        want = set(range(first, first + count))
        seen: dict[int, tuple] = {}
        done = 0
        while True:
            self.poll()
            for r in self.records[done:]:
                if r[0] in want and (r[0] not in seen or r[2] < seen[r[0]][2]):
                    seen[r[0]] = r
            done = len(self.records)
            if len(seen) == count:
                return list(seen.values()), True
            if time.monotonic() > deadline or (worker is not None and worker.poll() is not None):
                return list(seen.values()), False
            time.sleep(0.02)


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


# --- the systems: commands, set-up, clean-up -----------------------------------------------------

class Run:
    """One system's run: its database or key prefix, its records folder, its processes."""

    def __init__(self, system: System, cfg: dict, logs: Path, brisk_bin: Path | None):
        self.s, self.cfg, self.logs, self.brisk_bin = system, cfg, logs, brisk_bin
        self.tmp = Path(tempfile.mkdtemp(prefix=f"brisk-bench-jobs-{system.name}-"))
        self.records_dir = self.tmp / "records"
        self.records_dir.mkdir()
        self.records = Records(self.records_dir)
        self.worker: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.worker_log = open(logs / f"jobs-{system.name}-worker.log", "ab")
        self.pg_name = f"brisk_jobs_bench_{os.getpid()}_{system.name.replace('-', '_')}"
        self.prefix = f"brisk-bench-jobs-{os.getpid()}:"
        self.env = dict(os.environ, BENCH_JOBS_RECORDS=str(self.records_dir), PYTHONUNBUFFERED="1",
                        RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        self.port = 0
        if system.kind == "brisk" and system.mode == "web":
            # The web process: brisk's runtime on every core, its workers BRISK_JOBS_WORKERS at once.
            self.port = free_port("127.0.0.1", 18600)
            self.env.update(HOST="127.0.0.1", PORT=str(self.port), WORKERS=str(CORES),
                            BRISK_JOBS_WORKERS=str(cfg["brisk_concurrency"]))
        try:
            self._setup(system, cfg)
        except BaseException:
            self.close()
            raise

    def _setup(self, system: System, cfg: dict) -> None:
        brisk_bin = self.brisk_bin
        if system.backend == "pg":
            ensure_postgres()
            psql(f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)")
            psql(f"CREATE DATABASE {self.pg_name}")
            if system.async_commit:
                psql(f"ALTER DATABASE {self.pg_name} SET synchronous_commit = off")
            self.env["DATABASE_URL"] = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.pg_name}"
            # A transaction connection per producer of the concurrent phase (brisk-orm's default
            # pool has 8), as each Celery producer thread has a Redis connection of its own.
            self.env["BENCH_DB_TRANSACTIONS"] = str(max(cfg["producers"], 8))
        elif system.backend == "sqlite":
            self.env["DATABASE_URL"] = f"sqlite://{self.tmp}/jobs.db"
        else:
            ensure_redis()
            self.env.update(BENCH_CELERY_BROKER=f"redis://{REDIS_HOST}:{REDIS_PORT}/{cfg['redis_db']}",
                            BENCH_CELERY_PREFIX=self.prefix, BENCH_CELERY_PREFETCH=str(cfg["celery_prefetch"]))
            redis_clean(self.prefix, cfg["redis_db"])
        if system.kind == "brisk":
            # The tables: brisk-jobs' migrations, applied once before the worker starts.
            res = subprocess.run([str(brisk_bin), "migrate"], env=self.env, capture_output=True, text=True)
            if res.returncode != 0:
                raise ServerError(f"{system.name}: `jobs-brisk migrate` failed: {(res.stderr or res.stdout)[-800:]}")

    # commands

    def worker_argv(self) -> list[str]:
        if self.s.kind == "brisk":
            if self.s.mode == "web":
                return [str(self.brisk_bin), "runserver"]
            return [str(self.brisk_bin), "worker", "--concurrency", str(self.cfg["brisk_concurrency"]), "--no-cron"]
        return [str(VENV / "bin" / "celery"), "-A", "benchjobs", "worker", "--pool", self.s.pool,
                "--concurrency", str(self.s.concurrency), "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--loglevel", "WARNING"]

    def enqueuer_argv(self) -> list[str]:
        if self.s.kind == "brisk":
            return [str(self.brisk_bin), "enqueue"]
        return [str(VENV / "bin" / "python"), str(CELERY_DIR / "enqueue.py")]

    def cwd(self) -> Path:
        return CELERY_DIR if self.s.kind == "celery" else BENCH

    # processes

    def start_worker(self) -> None:
        """The worker: one process (brisk-jobs; Celery's prefork or threads pool), or with
        BENCH_CELERY_WORKERS=K and Celery's solo pool, K worker processes of one job each."""
        count = self.s.processes
        self.workers = []
        for i in range(count):
            argv = self.worker_argv()
            if self.s.kind == "celery":
                argv += ["-n", f"bench{os.getpid()}-{i}@%h"]
            self.workers.append(subprocess.Popen(argv, cwd=self.cwd(), env=self.env, stdin=subprocess.DEVNULL,
                                                 stdout=self.worker_log, stderr=subprocess.STDOUT,
                                                 start_new_session=True))
        self.worker = self.workers[0]
        if self.port:
            deadline = time.monotonic() + 30
            while True:
                if self.worker.poll() is not None:
                    raise ServerError(f"{self.s.name}: the web process exited with {self.worker.returncode}; "
                                      f"see {self.worker_log.name}")
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise ServerError(f"{self.s.name}: the web process is not listening on {self.port}") from None
                    time.sleep(0.05)

    def stop_worker(self) -> None:
        """SIGTERM (both shut down gracefully: running jobs finish, their acks are written), then
        wait; SIGKILL after 30 s."""
        for w in getattr(self, "workers", []):
            if w.poll() is None:
                try:
                    os.killpg(w.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for w in getattr(self, "workers", []):
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"  {self.s.name}: worker still running 30 s after SIGTERM: SIGKILL")
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
        self.workers = []
        self.worker = None

    def enqueue(self, first: int, count: int, rate: float, prefill: bool = False, producers: int = 1) -> dict:
        """Runs the enqueuer to its end; returns its JSON line. In the web mode, one request to
        the web process, whose handler enqueues (a pre-fill, with no web process running, runs
        the enqueue command)."""
        if self.port and not prefill:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.cfg["timeout_s"])
            try:
                conn.request("POST", f"/enqueue/{first}/{count}/{rate:g}/{producers}")
                res = conn.getresponse()
                body = res.read()
            finally:
                conn.close()
            if res.status != 200:
                raise ServerError(f"{self.s.name}: POST /enqueue answered {res.status}: {body[:300]!r}")
            return json.loads(body)
        proc = subprocess.Popen(self.enqueuer_argv() + [str(first), str(count), str(rate), str(producers)], cwd=self.cwd(),
                                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        out, err = proc.communicate()
        # communicate() reaped it; its rusage came with the wait: read the children's total instead.
        if proc.returncode != 0:
            raise ServerError(f"{self.s.name}: enqueuer exited with {proc.returncode}: {err.decode()[-800:]}")
        line = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
        if not line:
            raise ServerError(f"{self.s.name}: enqueuer printed no result: {out.decode()[-300:]} {err.decode()[-300:]}")
        return json.loads(line[-1])

    def worker_tree(self) -> list[int]:
        return [pid for w in getattr(self, "workers", []) for pid in measure.process_tree(w.pid)]

    def broker_pids(self) -> list[int]:
        if self.s.backend == "pg":
            return comm_pids("postgres")
        if self.s.backend == "redis":
            return comm_pids("redis-server")
        return []

    # checks and clean-up

    def leftover(self) -> dict:
        """What is still in the queue after the worker stopped."""
        if self.s.kind == "brisk":
            res = subprocess.run([str(self.brisk_bin), "status"], env=self.env, capture_output=True, text=True)
            if res.returncode != 0:
                return {"error": (res.stderr or res.stdout)[-300:]}
            line = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
            return json.loads(line[-1]) if line else {"error": res.stdout[-300:]}
        db = self.cfg["redis_db"]
        queue = int(redis_cli("llen", self.prefix + "celery", db=db).strip() or 0)
        unacked = int(redis_cli("hlen", self.prefix + "unacked", db=db).strip() or 0)
        return {"queued": queue, "unacked": unacked}

    def close(self) -> None:
        self.stop_worker()
        self.worker_log.close()
        if self.s.backend == "pg":
            try:
                psql(f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)")
            except ServerError as e:
                log(f"could not drop database {self.pg_name}: {e}")
        elif self.s.backend == "redis":
            try:
                n = redis_clean(self.prefix, self.cfg["redis_db"])
                log(f"  removed {n} Redis keys under {self.prefix}")
            except ServerError as e:
                log(f"could not remove the Redis keys under {self.prefix}: {e}")
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- one system, all phases ----------------------------------------------------------------------

def children_cpu_s() -> float:
    r = os.times()
    return r.children_user + r.children_system


def broker_sample(run: Run) -> tuple[dict, int]:
    """The broker's processes' CPU ticks, then its main process's reaped children's."""
    broker = {pid: measure.cpu_ticks([pid]) for pid in run.broker_pids()}
    return broker, measure.reaped_ticks(list(broker))


def measured(run: Run, phase: str, first: int, count: int, rate: float, prefilled: bool = False,
             producers: int = 1) -> dict:
    """One measured phase; returns its figures."""
    cfg = run.cfg
    worker0 = measure.cpu_ticks(run.worker_tree()) if run.worker else 0
    broker, reaped = broker_sample(run)
    load0 = measure.loadavg()
    enq_cpu0 = children_cpu_s()
    t0 = time.monotonic()
    if prefilled:
        enq = run.enqueue(first, count, 0, prefill=True)
        enq_cpu = children_cpu_s() - enq_cpu0
        # The drain only, once the enqueuer's PostgreSQL backends (ending with its connections)
        # are gone: one read above and reaped before its parent's reaped time was read counted
        # in both, and the drain's figure once came out below zero.
        time.sleep(0.5)
        broker, reaped = broker_sample(run)
        started_ns = time.time_ns()
        run.start_worker()
        worker0 = 0
    else:
        enq = run.enqueue(first, count, rate, producers=producers)
        enq_cpu = children_cpu_s() - enq_cpu0
    recs, complete = run.records.wait(first, count, cfg["timeout_s"], run.worker)
    wall = time.monotonic() - t0
    tree = run.worker_tree()
    worker_cpu = (measure.cpu_ticks(tree) - worker0) / measure.CLK_TCK
    broker_after = {pid: measure.cpu_ticks([pid]) for pid in run.broker_pids()}
    # Processes that started during the phase (the worker's database connections) count whole.
    # Those that ended (the enqueuer's PostgreSQL backends end with its connections, before
    # this sample) count through their parent's reaped children's time, less what they had
    # used before the phase: without them the broker's CPU missed most of PostgreSQL's work.
    gone = sum(ticks for pid, ticks in broker.items() if pid not in broker_after)
    reaped_during = measure.reaped_ticks(list(broker_after)) - reaped
    broker_cpu = (sum(broker_after[p] - broker.get(p, 0) for p in broker_after) + reaped_during - gone) / measure.CLK_TCK
    starts = sorted(r[2] for r in recs)
    out = {
        "system": run.s.name, "phase": phase, "jobs": count, "started": len(recs), "complete": complete,
        "first_enqueue_ns": enq["first_enqueue_ns"], "last_enqueue_ns": enq["last_enqueue_ns"],
        "enqueue_s": (enq["last_enqueue_ns"] - enq["first_enqueue_ns"]) / 1e9,
        "wall_s": wall, "worker_cpu_s": worker_cpu, "enqueuer_cpu_s": enq_cpu, "broker_cpu_s": broker_cpu,
        "load_before": load0, "load_after": measure.loadavg(),
    }
    out["enqueue_per_s"] = (count - 1) / out["enqueue_s"] if out["enqueue_s"] > 0 else None
    if starts:
        if prefilled:
            out["worker_started_ns"] = started_ns
            span = (starts[-1] - starts[0]) / 1e9
            out["span_s"] = span
            out["jobs_per_s"] = (len(starts) - 1) / span if span > 0 else None
            out["first_start_after_worker_s"] = (starts[0] - started_ns) / 1e9
        else:
            span = (starts[-1] - enq["first_enqueue_ns"]) / 1e9
            out["span_s"] = span
            out["jobs_per_s"] = len(starts) / span if span > 0 else None
        lat = sorted((r[2] - r[1]) / 1e6 for r in recs)
        out["latency_ms"] = {"p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99), "max": lat[-1],
                             "mean": sum(lat) / len(lat), "min": lat[0]}
    jobs_done = len(recs) or 1
    out["cpu_us_per_job"] = {"worker": worker_cpu * 1e6 / jobs_done, "enqueuer": enq_cpu * 1e6 / jobs_done,
                             "broker": broker_cpu * 1e6 / jobs_done}
    out["cpu_us_per_job"]["total"] = sum(out["cpu_us_per_job"].values())
    return out


def run_system(system: System, cfg: dict, logs: Path, brisk_bin: Path | None, rnd: int) -> tuple[list[dict], list[str]]:
    phases, problems = [], []
    run = Run(system, cfg, logs, brisk_bin)
    seq = 0

    def phase_log(p: dict) -> None:
        lat = p.get("latency_ms", {})
        log(f"  r{rnd} {system.name:12} {p['phase']:10} {p['started']:>6}/{p['jobs']} jobs  "
            f"{p.get('jobs_per_s') or 0:>9,.0f} jobs/s  enqueue {p.get('enqueue_per_s') or 0:>8,.0f}/s  "
            f"p50 {lat.get('p50', 0):8.2f} ms  p99 {lat.get('p99', 0):8.2f} ms  "
            f"CPU µs/job worker {p['cpu_us_per_job']['worker']:6.0f} enq {p['cpu_us_per_job']['enqueuer']:5.0f} "
            f"broker {p['cpu_us_per_job']['broker']:5.0f}")
        if not p["complete"]:
            problems.append(f"round {rnd}, {system.name} {p['phase']}: only {p['started']} of {p['jobs']} jobs started "
                            f"within {cfg['timeout_s']:.0f} s")

    try:
        run.start_worker()
        # Warm-up: the worker is up and claiming once these have run (Celery's worker takes a
        # second or two to start).
        run.enqueue(seq, cfg["warmup"], 0)
        recs, ok = run.records.wait(seq, cfg["warmup"], 120, run.worker)
        if not ok:
            raise ServerError(f"{system.name}: the warm-up's {cfg['warmup']} jobs did not all start "
                              f"({len(recs)} did); see {run.worker_log.name}")
        seq += cfg["warmup"]
        time.sleep(0.5)
        if "throughput" in cfg["phases"]:
            p = measured(run, "throughput", seq, cfg["jobs"], 0)
            seq += cfg["jobs"]
            phases.append(p)
            phase_log(p)
            time.sleep(0.5)
        if "concurrent" in cfg["phases"]:
            p = measured(run, "concurrent", seq, cfg["jobs"], 0, producers=cfg["producers"])
            p["producers"] = cfg["producers"]
            seq += cfg["jobs"]
            phases.append(p)
            phase_log(p)
            time.sleep(0.5)
        if "latency" in cfg["phases"]:
            n = max(1, int(cfg["rate"] * cfg["seconds"]))
            p = measured(run, "latency", seq, n, cfg["rate"])
            p["rate"] = cfg["rate"]
            seq += n
            phases.append(p)
            phase_log(p)
        run.stop_worker()
        if "drain" in cfg["phases"]:
            p = measured(run, "drain", seq, cfg["jobs"], 0, prefilled=True)
            seq += cfg["jobs"]
            phases.append(p)
            phase_log(p)
            run.stop_worker()
        # Every job ran at least once; count those that ran more than once; the queue is empty.
        run.records.poll()
        counts: dict[int, int] = {}
        for r in run.records.records:
            counts[r[0]] = counts.get(r[0], 0) + 1
        missing = [s for s in range(seq) if s not in counts]
        dup = sum(c - 1 for c in counts.values() if c > 1)
        left = run.leftover()
        check = {"enqueued": seq, "started_once_or_more": len(counts), "missing": len(missing),
                 "extra_starts": dup, "leftover": left}
        for p in phases:
            p["check"] = check
        if missing:
            problems.append(f"round {rnd}, {system.name}: {len(missing)} of {seq} jobs never started "
                            f"(first: {missing[:5]})")
        if left.get("error") or any(v for k, v in left.items() if k in ("queued", "unacked", "available", "running")):
            problems.append(f"round {rnd}, {system.name}: the queue is not empty after the run: {left}")
        log(f"  r{rnd} {system.name:12} check: {seq} enqueued, {len(counts)} started, {dup} started twice, "
            f"left in the queue {left}")
    finally:
        run.close()
    return phases, problems


# --- report --------------------------------------------------------------------------------------

# PostgreSQL's own ceiling for the concurrent phase: pgbench's clients committing the enqueue's
# one-row transaction on the same table, no worker, no brisk. Three forms: the three statements
# as three round trips (what a plain client sends); two round trips, BEGIN pipelined with the
# INSERT and then COMMIT (brisk-jobs' `enqueue(&tx)`: the app awaits the INSERT's answer, its id,
# before the transaction can end); and all three pipelined, one round trip per transaction
# (brisk-jobs' `enqueue_pipelined(&tx)`, what the concurrent phase's producers use: the COMMIT
# goes out before the INSERT's answer is read).
CEILING_INSERT = (
    "INSERT INTO jobs_job (queue, name, payload, state, priority, attempts, max_attempts, run_at, timeout_ms, "
    "unique_key, cron_tick, created_at) VALUES ('default', 'noop', '{\"seq\":1,\"enqueued_ns\":1}', 'available', "
    "0, 0, 25, now(), NULL, NULL, NULL, now()) ON CONFLICT DO NOTHING RETURNING id;"
)
CEILING_SCRIPTS = {
    "three round trips": f"BEGIN;\n{CEILING_INSERT}\nCOMMIT;\n",
    "two round trips (enqueue awaited)": f"\\startpipeline\nBEGIN;\n{CEILING_INSERT}\n\\endpipeline\nCOMMIT;\n",
    "pipelined (as brisk-jobs)": f"\\startpipeline\nBEGIN;\n{CEILING_INSERT}\nCOMMIT;\n\\endpipeline\n",
}
CEILING_SECONDS = 6


def pg_ceiling(cfg: dict, brisk_bin: Path, rnd: int) -> list[dict]:
    """pgbench with the concurrent phase's producers as clients, each script for
    CEILING_SECONDS, on a database of its own made by `jobs-brisk migrate` (dropped after)."""
    ensure_postgres()
    name = f"brisk_jobs_ceiling_{os.getpid()}"
    url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    out = []
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name}")
    try:
        res = subprocess.run([str(brisk_bin), "migrate"], env=dict(os.environ, DATABASE_URL=url, RUST_LOG="warn"),
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise ServerError(f"ceiling: `jobs-brisk migrate` failed: {(res.stderr or res.stdout)[-400:]}")
        with tempfile.TemporaryDirectory() as tmp:
            for form, script in CEILING_SCRIPTS.items():
                path = Path(tmp) / "enqueue.sql"
                path.write_text(script)
                clients = cfg["producers"]
                cmd = ["pgbench", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-n", "-M", "prepared",
                       "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 2)), "-T", str(CEILING_SECONDS),
                       "-f", str(path), name]
                res = subprocess.run(cmd, capture_output=True, text=True)
                tps = None
                for line in res.stdout.splitlines():
                    if line.startswith("tps = "):
                        tps = float(line.split()[2])
                if res.returncode != 0 or tps is None:
                    raise ServerError(f"ceiling: pgbench ({form}) failed: {(res.stderr or res.stdout)[-400:]}")
                log(f"  ceiling, round {rnd}: pgbench {form}, {clients} clients: {tps:,.0f} transactions/s")
                out.append({"round": rnd, "form": form, "clients": clients, "tps": tps})
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return out


def best(phases: list[dict], system: str, phase: str, key: str = "jobs_per_s", low: bool = False) -> dict | None:
    cands = [p for p in phases if p["system"] == system and p["phase"] == phase and p["complete"] and p.get(key) is not None]
    if not cands:
        return None
    return (min if low else max)(cands, key=lambda p: p[key])


def summarize(phases: list[dict], systems: list[str]) -> dict:
    out = {}
    for s in systems:
        t = best(phases, s, "throughput")
        cc = best(phases, s, "concurrent")
        d = best(phases, s, "drain")
        # Latency: the round with the lowest p99.
        lats = [p for p in phases if p["system"] == s and p["phase"] == "latency" and p["complete"] and p.get("latency_ms")]
        la = min(lats, key=lambda p: p["latency_ms"]["p99"]) if lats else None
        out[s] = {"throughput": t, "concurrent": cc, "drain": d, "latency": la}
    return out


def reference(summary: dict) -> str | None:
    """The Celery configuration ratios are taken against: the one with the most jobs/s in the
    throughput phase (Celery at its fastest of those measured)."""
    have = [c for c in CELERY if summary.get(c) and summary[c]["throughput"]]
    if not have:
        have = [c for c in CELERY if summary.get(c)]
    return max(have, key=lambda c: (summary[c]["throughput"] or {}).get("jobs_per_s") or 0) if have else None


def ratios(summary: dict) -> dict:
    ref = reference(summary)
    out = {}
    if not ref:
        return out
    c = summary[ref]
    for s, v in summary.items():
        if s == ref:
            continue
        r = {}
        for ph in ("throughput", "concurrent", "drain"):
            if v[ph] and c[ph] and c[ph]["jobs_per_s"] and v[ph]["jobs_per_s"]:
                r[ph] = v[ph]["jobs_per_s"] / c[ph]["jobs_per_s"]
        if v["latency"] and c["latency"]:
            r["p50"] = c["latency"]["latency_ms"]["p50"] / v["latency"]["latency_ms"]["p50"]
            r["p99"] = c["latency"]["latency_ms"]["p99"] / v["latency"]["latency_ms"]["p99"]
        out[s] = r
    return out


def goals(summary: dict, rat: dict) -> list[dict]:
    """The goal, judged on the concurrent phase when it ran (many producers, each job in its own
    transaction: how a web app enqueues), else on the one-producer throughput phase; both
    ratios are reported."""
    out = []
    ref = reference(summary)
    for s in ("brisk-pg", "brisk-sqlite"):
        if s not in summary:
            continue
        phase = "concurrent" if summary[s].get("concurrent") else "throughput"
        r = rat.get(s, {}).get(phase)
        t = summary[s][phase]
        check = (t or {}).get("check", {})
        at_least_once = bool(t and check.get("missing") == 0)
        how = (f"{t['producers']} producers at once, each job in its own transaction" if phase == "concurrent" and t
               else "one producer")
        out.append({
            "system": s,
            "goal": f"{s}: jobs/s at least {GOAL:g}x Celery's ({ref}; enqueue and run together, {how}), no job lost",
            "phase": phase,
            "ratio": r,
            "met": None if r is None else (r >= GOAL and at_least_once),
            "one_producer_ratio": rat.get(s, {}).get("throughput"),
            "drain_ratio": rat.get(s, {}).get("drain"),
            "against": ref,
        })
    return out


def _f(x, fmt="{:,.0f}", none="–"):
    if x is not None and fmt == "{:.1f}x" and x < 0.995:
        fmt = "{:.2f}x"  # a ratio below 1: two places, so 0.04x does not read 0.0x
    return none if x is None else fmt.format(x)


def ceiling_section(result: dict) -> list[str]:
    """PostgreSQL's own rate for the concurrent phase's transactions (pgbench, same run), beside
    brisk-pg's and the goal's: how far the goal is from what the database commits at all."""
    ceiling = result.get("ceiling") or []
    if not ceiling:
        return []
    summary, ref = result["summary"], reference(result["summary"])
    lines = [
        "## PostgreSQL's own ceiling (same run)",
        "",
        f"pgbench ({CEILING_SECONDS} s per form and round, `-M prepared`, as many clients as producers) committing "
        "the enqueue's transaction — `BEGIN`, the same one-row `INSERT` into `jobs_job` (same migrations, same "
        "indexes), `COMMIT` — on a database of its own, with no worker and no brisk: what this PostgreSQL commits "
        "at most, each job in its own transaction, in three forms: each statement its own round trip; `BEGIN` "
        "pipelined with the `INSERT`, then `COMMIT` (two round trips: brisk-jobs' `enqueue(&tx)` awaited, the app "
        "reading the `INSERT`'s answer, its id, before its transaction ends); and all three pipelined (one round "
        "trip: `enqueue_pipelined(&tx)`, what the concurrent phase's producers use).",
        "",
        "| round | " + " | ".join(CEILING_SCRIPTS) + " |",
        "|---:|" + "---:|" * len(CEILING_SCRIPTS),
    ]
    for rnd in sorted({c["round"] for c in ceiling}):
        cells = [next((f"{c['tps']:,.0f}" for c in ceiling if c["round"] == rnd and c["form"] == f), "–")
                 for f in CEILING_SCRIPTS]
        lines.append(f"| {rnd} | " + " | ".join(cells) + " |")
    pg = (summary.get("brisk-pg") or {}).get("concurrent")
    celery = (summary.get(ref) or {}).get("concurrent") if ref else None
    goal = GOAL * celery["jobs_per_s"] if celery and celery.get("jobs_per_s") else None
    lines.append("")
    for form in ("two round trips (enqueue awaited)", "pipelined (as brisk-jobs)"):
        top = max((c["tps"] for c in ceiling if c["form"] == form), default=None)
        if not top:
            continue
        said = [f"best pgbench rate, {form}: {top:,.0f}/s"]
        if pg:
            said.append(f"brisk-pg's concurrent phase with its worker running {pg['jobs_per_s'] / top:.0%} of it "
                        f"({pg['jobs_per_s']:,.0f} jobs/s)")
        if goal:
            said.append(f"{GOAL:g}x Celery's concurrent rate ({goal:,.0f} jobs/s) {goal / top:.0%} of it")
        lines.append("- " + "; ".join(said) + ".")
    lines.append("- pgbench runs no worker: a worker's claims and completions are two more writes per job.")
    lines.append("")
    return lines


def markdown(result: dict) -> str:
    meta, cfg, summary, rat = result["meta"], result["meta"]["config"], result["summary"], result["ratios"]
    m = meta["machine"]
    labels = {s["name"]: s["label"] for s in result["systems"]}
    lines = [
        f"# brisk-jobs against Celery on Redis (issue 19) — {meta['date']}",
        "",
        f"Machine: {m['cpu']} ({m['cores']} cores), {m['memory_gib']:.0f} GiB, Linux {m['kernel']}, {m['rustc']}, "
        f"Python {m['python']}, {m.get('postgres', '?')}, Redis {m.get('redis', '?')}. Nothing pinned: the worker, "
        "the enqueuer and the database or broker share both cores.",
        f"Run: `{meta['command']}` — {cfg['rounds']} round(s); {meta['elapsed_min']:.1f} min in all. brisk at "
        f"{meta['main_commit']}, jobs-brisk built {cfg['profile']}. Load average {meta['load_before']:.2f} before, "
        f"{meta['load_after']:.2f} after.",
        "",
        f"The job: a no-op that records its start (sequence number, enqueue time, start time: one clock read and one "
        f"write(2) to a file of its process, the same on both sides). Throughput: {cfg['jobs']:,} jobs enqueued one "
        f"at a time as fast as one enqueuer process goes while the worker runs them, jobs/s = N ÷ (last start − first "
        f"enqueue). Concurrent: the same with {cfg.get('producers', 1)} producers at once (tasks of one enqueuer "
        "process, each job in its own transaction, for brisk-jobs: "
        + ("`enqueue(&tx)` awaited" if os.environ.get("JOBS_ENQUEUE") == "awaited" else "`enqueue_pipelined(&tx)`")
        + "; threads of one process for Celery), as a web "
        f"app's requests enqueue. Latency: {cfg['rate']:g} jobs/s on a fixed schedule for {cfg['seconds']:g} s, start − enqueue of "
        f"each job. Drain: {cfg['jobs']:,} jobs enqueued with no worker, then a worker started: N ÷ (last start − "
        "first start), the workers alone. Settings of each system below.",
        "",
        "## Goal (issue 19)",
        "",
    ]
    for g in result["goals"]:
        state = {True: "**met**", False: "**missed**", None: "**not decided**"}[g["met"]]
        lines.append(f"- {state} — {g['goal']}: {_f(g['ratio'], '{:.1f}x')} "
                     f"(one producer, one enqueue at a time: {_f(g.get('one_producer_ratio'), '{:.1f}x')}; "
                     f"worker alone, queue pre-filled: {_f(g['drain_ratio'], '{:.1f}x')})")
    if not result["goals"]:
        lines.append("- not evaluated (no brisk-jobs system in this run)")
    ref = reference(summary)
    lines += [
        "",
        f"Ratios against **{labels.get(ref, ref)}**, the faster Celery configuration in this run.",
        "",
        "| system | jobs/s | ÷ Celery | enqueue/s | concurrent jobs/s | ÷ Celery | drain jobs/s | ÷ Celery | p50 ms | p99 ms | p50 ÷ | p99 ÷ | CPU µs/job worker / enqueuer / broker |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in meta["system_order"]:
        v = summary.get(s, {})
        t, cc, d, la = v.get("throughput"), v.get("concurrent"), v.get("drain"), v.get("latency")
        r = rat.get(s, {})
        cpu = t["cpu_us_per_job"] if t else None
        lines.append(
            f"| {labels.get(s, s)} | {_f(t and t['jobs_per_s'])} | {_f(r.get('throughput'), '{:.1f}x', '–' if s != ref else '1')} "
            f"| {_f(t and t['enqueue_per_s'])} | {_f(cc and cc['jobs_per_s'])} | {_f(r.get('concurrent'), '{:.1f}x', '–' if s != ref else '1')} "
            f"| {_f(d and d['jobs_per_s'])} | {_f(r.get('drain'), '{:.1f}x', '–' if s != ref else '1')} "
            f"| {_f(la and la['latency_ms']['p50'], '{:.2f}')} | {_f(la and la['latency_ms']['p99'], '{:.2f}')} "
            f"| {_f(r.get('p50'), '{:.1f}x', '–' if s != ref else '1')} | {_f(r.get('p99'), '{:.1f}x', '–' if s != ref else '1')} "
            f"| {'–' if not cpu else '%.0f / %.0f / %.0f' % (cpu['worker'], cpu['enqueuer'], cpu['broker'])} |")
    slow = [f"{labels.get(s, s)} ({v['latency']['enqueue_per_s']:.0f}/s)" for s, v in summary.items()
            if v.get("latency") and (v["latency"].get("enqueue_per_s") or 0) < 0.9 * cfg["rate"]]
    if slow:
        lines += ["", f"**Latency not at the set rate**: the enqueuer of {', '.join(slow)} did not keep up with "
                  f"{cfg['rate']:g} jobs/s (each enqueue took longer than 1/{cfg['rate']:g} s): its latency was "
                  "measured at that lower rate."]
    lines += [
        "",
        "- `÷ Celery`: brisk-jobs' jobs/s ÷ Celery's; `p50 ÷`, `p99 ÷`: Celery's latency ÷ brisk-jobs' (above 1: "
        "brisk-jobs starts jobs sooner). Each figure is the best round's (throughput: most jobs/s; latency: lowest p99).",
        "- `enqueue/s`: the enqueuer's own rate in the throughput phase. When it is close to `jobs/s`, the enqueuer "
        "(one process, one enqueue at a time) and not the worker set the pace; `drain jobs/s` is then the worker's rate.",
        "- CPU µs/job (throughput phase, /proc): the worker's processes, the enqueuer, and the broker or database "
        "(redis-server; every postgres process, the backends that ended during the phase too, so others' use of "
        "this PostgreSQL adds to it; SQLite runs inside "
        "the worker and the enqueuer).",
        "",
    ]
    lines += ceiling_section(result)
    lines += [
        "## Settings",
        "",
    ]
    for s in result["systems"]:
        lines.append(f"- **{s['label']}**: {s['how']}")
    lines += ["", "## Every phase", "",
              "| round | system | phase | jobs | started | jobs/s | enqueue/s | p50 ms | p90 ms | p99 ms | max ms | worker CPU s | enqueuer CPU s | broker CPU s |",
              "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in result["phases"]:
        la = p.get("latency_ms", {})
        lines.append(f"| {p['round']} | {p['system']} | {p['phase']} | {p['jobs']:,} | {p['started']:,} | {_f(p.get('jobs_per_s'))} "
                     f"| {_f(p.get('enqueue_per_s'))} | {_f(la.get('p50'), '{:.2f}')} | {_f(la.get('p90'), '{:.2f}')} "
                     f"| {_f(la.get('p99'), '{:.2f}')} | {_f(la.get('max'), '{:.2f}')} | {p['worker_cpu_s']:.2f} "
                     f"| {p['enqueuer_cpu_s']:.2f} | {p['broker_cpu_s']:.2f} |")
    lines += ["", "## At-least-once, checked", ""]
    for s in meta["system_order"]:
        checks = [p["check"] for p in result["phases"] if p["system"] == s and "check" in p]
        if checks:
            c = checks[-1]
            lines.append(f"- {labels.get(s, s)}: {c['enqueued']:,} jobs enqueued in the run (warm-up included), "
                         f"{c['started_once_or_more']:,} started, {c['missing']} never started, {c['extra_starts']} "
                         f"started more than once; left in the queue after the worker stopped: {c['leftover']}")
    if result["problems"]:
        lines += ["", "## Problems", ""] + [f"- {p}" for p in result["problems"]]
    lines.append("")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------

def versions(systems: list[System]) -> dict:
    out = {}
    try:
        out["redis"] = redis_cli("info", "server").split("redis_version:")[1].split()[0]
    except (ServerError, IndexError, FileNotFoundError):
        pass
    try:
        out["postgres"] = "PostgreSQL " + psql("SHOW server_version").strip().split()[0]
    except (ServerError, FileNotFoundError):
        pass
    if (VENV / "bin" / "python").exists() and any(s.kind == "celery" for s in systems):
        freeze = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
        pins = dict(line.split("==", 1) for line in freeze.splitlines() if "==" in line)
        out["celery"] = f"Celery {pins.get('celery')}, kombu {pins.get('kombu')}, redis-py {pins.get('redis')}, billiard {pins.get('billiard')}"
    return out


def how(system: System, cfg: dict, vers: dict) -> str:
    if system.kind == "celery":
        if system.pool == "prefork":
            procs = (f"one worker process with a prefork pool of {system.concurrency} processes (the main process "
                     "fetches messages, the pool runs tasks)")
        else:
            procs = (f"{system.processes} worker process(es) with pool `{system.pool}`, {system.concurrency} task at "
                     "a time each")
        return (f"{vers.get('celery', 'Celery')}, Python {platform.python_version()}: `celery -A benchjobs worker --pool "
                f"{system.pool} --concurrency {system.concurrency} --without-gossip --without-mingle --without-heartbeat`, "
                f"{procs}; Redis {vers.get('redis', '?')} at 127.0.0.1:6379 db {cfg['redis_db']} as the broker, every key "
                f"under the run's own prefix (kombu's `global_keyprefix`), removed afterwards; `task_acks_late=True` and "
                f"`task_reject_on_worker_lost=True` (at-least-once: a message is acknowledged after its task ran, an "
                f"unacknowledged one comes back after the visibility timeout), prefetch multiplier "
                f"{cfg['celery_prefetch']}, no result backend, no remote control; JSON messages. Enqueue: "
                f"`noop.delay(seq, enqueued_ns)`, one message each, from one Python process (`peers/jobs-celery/enqueue.py`).")
    where = ("PostgreSQL (a database of its own on 127.0.0.1:5432, dropped afterwards; claims with `FOR UPDATE SKIP "
             "LOCKED`, woken by LISTEN/NOTIFY; the enqueuer's transaction pool sized to the concurrent phase's "
             f"producers, `DbOptions {{ transactions: {max(cfg['producers'], 8)} }}`, brisk-orm's default 8 otherwise)"
             if system.backend == "pg" else
             "SQLite (a file in a temporary folder, removed afterwards; claims in an immediate transaction)")
    if system.mode == "web":
        runs = (f"the web process (`jobs-brisk runserver`, brisk's runtime on WORKERS={CORES} threads) runs its own "
                f"workers, `BRISK_JOBS_WORKERS={cfg['brisk_concurrency']}` jobs at once; enqueue: a handler of the same "
                "process (`POST /enqueue/FIRST/COUNT/RATE/PRODUCERS`, one request per phase) enqueues one job per "
                "statement (autocommit; in the concurrent phase, each in its own transaction), so the enqueuer's CPU is part of the worker's; an enqueue wakes this process's workers "
                "at once")
    else:
        runs = (f"brisk-jobs' own `worker` command (`jobs-brisk worker --concurrency {cfg['brisk_concurrency']} "
                "--no-cron`: one process, brisk's commands run on a single-threaded tokio runtime); enqueue: "
                "`Noop { .. }.enqueue(&db)`, one statement each (autocommit), from one other process (`jobs-brisk "
                "enqueue`)" + (", so the worker learns of a job on its next poll (brisk-jobs' default 1 s: SQLite has no "
                               "LISTEN)" if system.backend == "sqlite" else ", whose NOTIFY wakes the worker"))
    if system.async_commit:
        runs += ("; the bench database set to `synchronous_commit = off` (a commit does not wait for its WAL flush: "
                 "a crash may lose the last jobs enqueued or finished, as the Redis here, which keeps nothing on disk, "
                 "loses everything); brisk-jobs' defaults otherwise")
    return (f"`bench/peers/jobs-brisk` ({cfg['profile']} build), brisk-jobs' defaults (30 s leases renewed by a "
            f"heartbeat: at-least-once); jobs stored in {where}; {runs}.")


def machine() -> dict:
    import bench  # noqa: PLC0415
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "kernel": platform.release(),
            "rustc": bench.rustc_version(), "python": platform.python_version()}


def command(cfg: dict, smoke: bool) -> str:
    env = [f"BENCH_JOBS_SYSTEMS={','.join(cfg['systems'])}"] if cfg["systems"] != (SMOKE if smoke else DEFAULT) else []
    env += [f"{k}={os.environ[k]}" for k in ("BENCH_JOBS_N", "BENCH_JOBS_RATE", "BENCH_JOBS_SECONDS", "BENCH_ROUNDS",
                                             "BENCH_JOBS_CONCURRENCY", "BENCH_CELERY_PREFETCH", "BENCH_JOBS_PHASES")
            if os.environ.get(k)]
    return " ".join(env + ["bench/run --jobs" + (" --smoke" if smoke else "")])


def build_brisk(cfg: dict) -> tuple[Path, dict]:
    """jobs-brisk in the bench workspace (bench/target, or CARGO_TARGET_DIR when set)."""
    log(f"building {BRISK_PACKAGE} ({cfg['profile']}, bench workspace)")
    argv = ["cargo", "build", "-p", BRISK_PACKAGE] + (["--release"] if cfg["profile"] == "release" else [])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or BENCH / "target")
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    t0 = time.monotonic()
    subprocess.run(argv, cwd=BENCH, env=env, check=True)
    binary = target / ("release" if cfg["profile"] == "release" else "debug") / BRISK_PACKAGE
    return binary, {"build_s": round(time.monotonic() - t0, 1), "binary_bytes": binary.stat().st_size}


def main(smoke: bool) -> int:
    import bench  # noqa: PLC0415

    cfg = config(smoke)
    started = time.monotonic()
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    logs = BENCH / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("jobs-*.log"):
        old.unlink()
    by_name = {s.name: s for s in SYSTEMS}
    systems = [by_name[n] for n in dict.fromkeys(cfg["systems"])]
    brisk_bin, build = None, {}
    if any(s.kind == "brisk" for s in systems):
        brisk_bin, build = build_brisk(cfg)
    if any(s.kind == "celery" for s in systems):
        ensure_venv()
    commit = bench.main_commit()
    vers = versions(systems)

    # SIGTERM (a CI timeout, a ^C'd parent) cleans up like a failure: databases and keys go.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    phases, problems, ceiling = [], [], []
    load_before = measure.loadavg()
    for rnd in range(1, cfg["rounds"] + 1):
        order = systems if rnd % 2 else list(reversed(systems))
        for system in order:
            log(f"round {rnd}: {system.label}")
            try:
                ps, pr = run_system(system, cfg, logs, brisk_bin, rnd)
            except (ServerError, OSError, ValueError, subprocess.CalledProcessError) as e:
                ps, pr = [], [f"round {rnd}, {system.name}: {e}"]
                log(f"  PROBLEM {pr[0]}")
            for p in ps:
                p["round"] = rnd
            phases += ps
            problems += pr
        if brisk_bin and "brisk-pg" in [x.name for x in systems] and "concurrent" in cfg["phases"] and not smoke:
            log(f"round {rnd}: PostgreSQL's own ceiling (pgbench)")
            try:
                ceiling += pg_ceiling(cfg, brisk_bin, rnd)
            except (ServerError, OSError) as e:
                problems.append(f"round {rnd}, ceiling: {e}")
                log(f"  PROBLEM {problems[-1]}")
    load_after = measure.loadavg()

    names = [s.name for s in systems]
    summary = summarize(phases, names)
    rat = ratios(summary)
    m = machine()
    m.update({k: v for k, v in vers.items() if k in ("redis", "postgres")})
    result = {
        "schema": 1,
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "smoke" if smoke else "full",
            "command": command(cfg, smoke),
            "machine": m,
            "config": cfg,
            "main_commit": commit,
            "system_order": names,
            "elapsed_min": (time.monotonic() - started) / 60,
            "load_before": load_before, "load_after": load_after,
            "brisk_build": build,
        },
        "systems": [{"name": s.name, "label": s.label, "backend": s.backend, "how": how(s, cfg, vers)} for s in systems],
        "summary": summary,
        "ratios": rat,
        "phases": phases,
        "ceiling": ceiling,
        "problems": problems,
    }
    result["goals"] = goals(summary, rat)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{cfg['report']}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / f"{cfg['report']}.md").write_text(markdown(result))
    log(f"wrote {out_dir / (cfg['report'] + '.md')} and .json in {(time.monotonic() - started) / 60:.1f} min")
    for g in result["goals"]:
        log(f"goal: {g['goal']}: {_f(g['ratio'], '{:.1f}x')} — {({True: 'met', False: 'missed', None: 'not decided'})[g['met']]}")
    for p in problems:
        print(f"bench: FAILED: {p}", file=sys.stderr)
    if smoke:
        ok = sum(1 for p in phases if p["complete"])
        print(f"bench-jobs-smoke: {ok} passed, {len(problems)} failed")
    return 1 if problems else 0


def rewrite_report(smoke: bool) -> int:
    cfg = config(smoke)
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    result = json.loads((out_dir / f"{cfg['report']}.json").read_text())
    (out_dir / f"{cfg['report']}.md").write_text(markdown(result))
    log(f"rewrote {out_dir / (cfg['report'] + '.md')} from its .json")
    return 0
