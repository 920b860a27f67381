"""bench/run --db: TechEmpower's database tests (/db, /queries?q=20, /fortunes, /updates?q=20)
on brisk + brisk-orm and its peers, side by side in one run.

PostgreSQL (the local server, 127.0.0.1:5432): brisk-orm, the same brisk app on raw
tokio-postgres (the floor), axum + tokio-postgres, axum + sqlx, Django's ORM on gunicorn and
FastAPI + SQLAlchemy (asyncpg) on uvicorn. SQLite (a file in a temporary folder): brisk-orm,
raw rusqlite and sqlx's SqlitePool, on /db and /fortunes.

The run creates its own PostgreSQL database (brisk_bench_<pid>), fills World (10,000 rows) and
Fortune (TechEmpower's 12) as TechEmpower's create-postgres.sql does, and drops it at the end,
also when the run fails or is interrupted. Each server is checked against the test rules
(JSON shapes, q clamping, escaped and sorted fortunes, updates really stored) before it is
measured. Writes results/db-latest.md and .json (results/smoke/ with --smoke); BENCH_REPORT
names other files, so that a run of some servers only (BENCH_SERVERS=orm-sqlite,rusqlite, say)
does not replace the full run's report.
See bench/README.md, "The database suite"."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from statistics import median

import measure
from servers import (BENCH, MAIN, PEERS, VENV, GUNICORN, Running, Server, ServerError, binary_path, cargo_build,
                     ensure_venv, ensure_wrk, free_port, log)

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
SCRIPT = str(BENCH / "wrk" / "bench.lua")

ENDPOINTS = {
    # name: (path, backends it runs on)
    "db": ("/db", ("pg", "sqlite")),
    "queries": ("/queries?q=20", ("pg",)),
    "fortunes": ("/fortunes", ("pg", "sqlite")),
    "updates": ("/updates?q=20", ("pg",)),
}
LABELS = {"db": "/db", "queries": "/queries?q=20", "fortunes": "/fortunes", "updates": "/updates?q=20"}

# TechEmpower's Fortune table (toolset/databases/postgres/create-postgres.sql): the data.
FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "フレームワークのベンチマーク"),
]
ADDED = (0, "Additional fortune added at request time.")


@dataclass
class DbServer(Server):
    backend: str = "pg"  # "pg" or "sqlite"
    driver: str = ""  # DB_DRIVER for the Rust binaries
    url: str = ""  # set once the database exists

    def command(self, host: str, port: int) -> tuple[list[str], dict]:
        argv, env = super().command(host, port)
        env["DATABASE_URL"] = self.url
        if self.driver:
            env["DB_DRIVER"] = self.driver
        return argv, env


def _servers() -> list[DbServer]:
    return [
        DbServer("orm", "brisk + brisk-orm", "rust", package="db-brisk-orm"),
        DbServer("raw-pg", "brisk + raw tokio-postgres (floor)", "rust", package="db-brisk-raw", driver="pg"),
        DbServer("axum-pg", "axum + tokio-postgres", "rust", package="db-axum", driver="pg"),
        DbServer("axum-sqlx", "axum + sqlx PgPool", "rust", package="db-axum", driver="sqlx"),
        DbServer("django", "Django ORM on gunicorn", "python", argv=GUNICORN + ["dbsite.wsgi:application"],
                 cwd=PEERS / "django_db"),
        DbServer("fastapi", "FastAPI + SQLAlchemy (asyncpg) on uvicorn", "python",
                 argv=["{venv}/bin/python", "-m", "uvicorn", "app:app", "--host", "{host}", "--port", "{port}",
                       "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
                 cwd=PEERS / "fastapi_db"),
        DbServer("orm-sqlite", "brisk + brisk-orm (SQLite)", "rust", package="db-brisk-orm", backend="sqlite"),
        DbServer("rusqlite", "brisk + raw rusqlite, 4 threads (floor)", "rust", package="db-brisk-raw",
                 backend="sqlite", driver="rusqlite"),
        DbServer("sqlx-sqlite", "brisk + sqlx SqlitePool", "rust", package="db-brisk-raw", backend="sqlite",
                 driver="sqlx-sqlite"),
    ] + _baseline()


def _baseline() -> list[DbServer]:
    """BENCH_BASELINE=PATH: a db-brisk-orm binary built earlier (a copy of
    target/release/db-brisk-orm from before a change), measured on SQLite beside the one built
    now as `orm-sqlite-base`, so before and after share a run and its noise."""
    path = os.environ.get("BENCH_BASELINE")
    if not path:
        return []
    if not Path(path).is_file():
        raise SystemExit(f"bench --db: BENCH_BASELINE is not a file: {path}")
    return [DbServer("orm-sqlite-base", "brisk + brisk-orm (SQLite), baseline binary", "rust", backend="sqlite",
                     binary=Path(path).resolve())]


SERVERS = _servers()


def config(smoke: bool) -> dict:
    d = {
        "duration_s": measure.env_num("BENCH_DURATION", 1 if smoke else 5),
        "warmup_s": measure.env_num("BENCH_WARMUP", 1 if smoke else 2),
        "rounds": int(measure.env_num("BENCH_ROUNDS", 1 if smoke else 2)),
        "connections": int(measure.env_num("BENCH_CONNECTIONS", 64)),
        "server_core": int(measure.env_num("BENCH_SERVER_CORE", 0)),
        "wrk_core": int(measure.env_num("BENCH_WRK_CORE", 1)),
        "host": "127.0.0.1",
        "port": int(measure.env_num("BENCH_PORT", 18400)),
        "quiet_budget_s": measure.env_num("BENCH_QUIET_BUDGET", 0 if smoke else 60),
        "quiet_threshold_pct": measure.env_num("BENCH_QUIET_THRESHOLD", 15),
        "profile": os.environ.get("BENCH_PROFILE", "dev" if smoke else "release"),
        "servers": os.environ.get("BENCH_SERVERS", ",".join(s.name for s in SERVERS)).split(","),
        "endpoints": os.environ.get("BENCH_ENDPOINTS", ",".join(ENDPOINTS)).split(","),
        "nice": int(measure.env_num("BENCH_NICE", -20 if os.geteuid() == 0 else 0)),
        # The name of the report's files in results/: a partial run (some servers or tests)
        # writes its own, e.g. BENCH_REPORT=db-sqlite-latest, leaving the full run's alone.
        "report": os.environ.get("BENCH_REPORT", "db-latest"),
    }
    unknown = set(d["servers"]) - {s.name for s in SERVERS} | set(d["endpoints"]) - set(ENDPOINTS)
    if unknown:
        raise SystemExit(f"bench --db: unknown server or endpoint: {', '.join(sorted(unknown))}")
    if not d["report"].replace("-", "").replace("_", "").isalnum():
        raise SystemExit(f"bench --db: BENCH_REPORT is a file name (letters, digits, - and _): {d['report']!r}")
    return d


# --- the databases ------------------------------------------------------------------------------

def psql(sql: str, db: str = "postgres") -> str:
    res = subprocess.run(["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-v", "ON_ERROR_STOP=1",
                          "-qAtX", "-c", sql], capture_output=True, text=True)
    if res.returncode != 0:
        raise ServerError(f"psql failed: {res.stderr.strip()[:300]}")
    return res.stdout


def ensure_postgres() -> None:
    if subprocess.run(["pg_isready", "-q", "-h", PG_HOST, "-p", str(PG_PORT)]).returncode == 0:
        return
    log("PostgreSQL is down: starting it with scripts/services")
    subprocess.run([str(MAIN / "scripts" / "services")], check=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_pg(name: str) -> str:
    """Creates and fills the database; returns its URL."""
    psql(f"CREATE DATABASE {name}")
    values = ", ".join(f"({i}, {_quote(m)})" for i, m in FORTUNES)
    psql(
        "CREATE TABLE world (id integer NOT NULL, randomnumber integer NOT NULL DEFAULT 0, PRIMARY KEY (id));"
        "INSERT INTO world (id, randomnumber) SELECT x.id, least(floor(random() * 10000 + 1), 10000) "
        "FROM generate_series(1, 10000) AS x(id);"
        "CREATE TABLE fortune (id integer NOT NULL, message varchar(2048) NOT NULL, PRIMARY KEY (id));"
        f"INSERT INTO fortune (id, message) VALUES {values};"
        "ANALYZE world; ANALYZE fortune;",
        name,
    )
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_pg(name: str) -> None:
    try:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        log(f"dropped database {name}")
    except ServerError as e:
        log(f"could not drop database {name}: {e}")


def create_sqlite(folder: str) -> str:
    path = os.path.join(folder, "bench.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL DEFAULT 0)")
    conn.executemany("INSERT INTO world VALUES (?, ?)", [(i, random.randint(1, 10000)) for i in range(1, 10001)])
    conn.execute("CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)")
    conn.executemany("INSERT INTO fortune VALUES (?, ?)", FORTUNES)
    conn.commit()
    conn.close()
    return f"sqlite://{path}"


# --- checking a server against the test rules -----------------------------------------------------

class _Rows(HTMLParser):
    """The (id, message) cells of the fortunes table, character references decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self._cells, self._in_td = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._in_td = True
            self._cells.append("")
        elif tag == "tr":
            self._cells = []

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False
        elif tag == "tr" and len(self._cells) == 2:
            self.rows.append((int(self._cells[0]), self._cells[1]))

    def handle_data(self, data):
        if self._in_td:
            self._cells[-1] += data


def check_db(run: Running, server: DbServer, endpoints: list[str], pg_name: str) -> None:
    def expect(cond: bool, what: str) -> None:
        if not cond:
            raise ServerError(f"{server.name}: {what}")

    def world_ok(w) -> bool:
        return (isinstance(w, dict) and set(w) == {"id", "randomNumber"} and isinstance(w["id"], int)
                and 1 <= w["id"] <= 10000 and isinstance(w["randomNumber"], int) and 1 <= w["randomNumber"] <= 10000)

    def get_json(path: str):
        status, ctype, body = run.request("GET", path)
        expect(status == 200 and ctype.startswith("application/json"), f"GET {path} answered {status} {ctype!r} {body[:120]!r}")
        return json.loads(body)

    if "db" in endpoints:
        w = get_json("/db")
        expect(world_ok(w), f"GET /db returned {w!r}")
    if "queries" in endpoints:
        for q, n in (("20", 20), ("0", 1), ("foo", 1), ("501", 500), ("", 1)):
            ws = get_json(f"/queries?q={q}")
            expect(isinstance(ws, list) and len(ws) == n and all(map(world_ok, ws)),
                   f"GET /queries?q={q} returned {str(ws)[:120]} (expected {n} worlds)")
    if "fortunes" in endpoints:
        status, ctype, body = run.request("GET", "/fortunes")
        expect(status == 200 and re.match(r"^text/html; ?charset=utf-8$", ctype, re.I) is not None,
               f"GET /fortunes answered {status} {ctype!r}")
        text = body.decode()
        expect("<script>" not in text, "GET /fortunes did not escape the <script> fortune")
        parser = _Rows()
        parser.feed(text)
        want = sorted(FORTUNES + [ADDED], key=lambda r: r[1])
        expect(parser.rows == want, f"GET /fortunes rows {parser.rows[:3]}... differ from the sorted fortunes")
    if "updates" in endpoints:
        for q, n in (("foo", 1), ("5", 5)):
            ws = get_json(f"/updates?q={q}")
            expect(isinstance(ws, list) and len(ws) == n and all(map(world_ok, ws)), f"GET /updates?q={q} returned {str(ws)[:120]}")
        ids = ",".join(str(w["id"]) for w in ws)
        stored = dict(tuple(map(int, line.split("|"))) for line in psql(f"SELECT id, randomnumber FROM world WHERE id IN ({ids})", pg_name).split())
        expect(all(stored.get(w["id"]) == w["randomNumber"] for w in ws),
               f"GET /updates answered {ws} but the table holds {stored}")


# --- measuring ---------------------------------------------------------------------------------------

def postgres_pids() -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        out.append(int(entry))
            except OSError:
                pass
    return out


def measure_one(cfg: dict, rnd: int, endpoint: str, server: DbServer, logs: Path, pg_name: str, runs: list, problems: list,
                quiet: list) -> None:
    port = free_port(cfg["host"], cfg["port"])
    running = Running(server, cfg["host"], port, cfg["server_core"], logs / f"db-{server.name}.log", cfg["nice"])
    try:
        running.wait_ready(path="/db")
        supported = [e for e in ENDPOINTS if server.backend in ENDPOINTS[e][1]]
        check_db(running, server, supported, pg_name)
        path = ENDPOINTS[endpoint][0]
        wrk = dict(url=f"http://{cfg['host']}:{port}{path}", method="GET", body_file=None, connections=cfg["connections"],
                   core=cfg["wrk_core"], script=SCRIPT, nice=cfg["nice"], depth=1)
        if cfg["warmup_s"] > 0:
            measure.run_wrk(seconds=cfg["warmup_s"], **wrk)
        tree = measure.process_tree(running.pid)
        cores = [cfg["server_core"], cfg["wrk_core"]]
        while quiet[0] > 0 and max(measure.foreign_load(cores, 0.5, tree).values()) * 100 > cfg["quiet_threshold_pct"]:
            quiet[0] -= 2.5
            time.sleep(2)
        pg = {pid: measure.cpu_ticks([pid]) for pid in postgres_pids()} if server.backend == "pg" else {}
        measure.reset_peak_rss(tree)
        cores0 = measure.core_user_ticks()
        user0, ticks0, load0 = measure.process_user_ticks(tree), measure.cpu_ticks(tree), measure.loadavg()
        t0 = time.monotonic()
        res = measure.run_wrk(seconds=cfg["duration_s"], **wrk)
        wall = time.monotonic() - t0
        tree = measure.process_tree(running.pid)
        ticks, user = measure.cpu_ticks(tree) - ticks0, measure.process_user_ticks(tree) - user0
        # Over the postgres processes alive before and after (one that exits takes its ticks along).
        pg_after = {pid: measure.cpu_ticks([pid]) for pid in postgres_pids()}
        pg_ticks = sum(max(0, pg_after[pid] - before) for pid, before in pg.items() if pid in pg_after)
        cores1 = measure.core_user_ticks()
        span = wall * measure.CLK_TCK
        foreign = max(
            (cores1[cfg["server_core"]] - cores0[cfg["server_core"]] - user) / span,
            (cores1[cfg["wrk_core"]] - cores0[cfg["wrk_core"]] - res.wrk_user_s * measure.CLK_TCK) / span,
        )
        cpu_s = ticks / measure.CLK_TCK
        run = {
            "round": rnd, "server": server.name, "backend": server.backend, "endpoint": endpoint,
            "ok": res.requests > 0 and res.error_count == 0,
            "requests": res.requests, "duration_s": res.duration_s, "rps": res.rps, "latency_us": res.latency_us,
            "errors": res.errors, "errors_total": res.error_count,
            "server_cpu_s": cpu_s, "cpu_us_per_req": cpu_s * 1e6 / res.requests if res.requests else None,
            # The user-mode part: the server's own code. The rest is the kernel's (sockets,
            # futexes), which on this VM is more than half and varies more from round to round.
            "user_us_per_req": (user / measure.CLK_TCK) * 1e6 / res.requests if res.requests else None,
            "server_cpu_util": cpu_s / res.duration_s if res.duration_s else 0,
            "wrk_cpu_util": res.wrk_cpu_s / res.duration_s if res.duration_s else 0,
            # Every postgres process's CPU during the run: the database's side of each request
            # (other users of this PostgreSQL, such as other people's tests, add to it).
            "pg_cpu_us_per_req": (pg_ticks / measure.CLK_TCK) * 1e6 / res.requests if pg and res.requests else None,
            "peak_rss_kib": measure.peak_rss_kib(tree),
            "foreign_pct": max(0.0, foreign) * 100, "load_before": load0, "load_after": measure.loadavg(),
        }
        runs.append(run)
        flag = "" if run["ok"] else f"  ERRORS {res.errors}"
        log(f"  r{rnd} {endpoint:8} {server.name:11} {res.rps:>9,.0f} req/s  p99 {run['latency_us'].get('p99', 0) / 1000:7.2f} ms  "
            f"CPU {run['cpu_us_per_req'] or 0:7.1f} µs/req  pg {run['pg_cpu_us_per_req'] or 0:6.1f}  "
            f"server {run['server_cpu_util']:4.0%} wrk {run['wrk_cpu_util']:4.0%} other {run['foreign_pct']:3.0f}%{flag}")
        if not run["ok"]:
            problems.append(f"round {rnd}, {server.name} {endpoint}: {res.requests} responses, errors {res.errors}")
    finally:
        running.stop()


# --- figures, goals, report ----------------------------------------------------------------------

FLOOR = {"pg": "raw-pg", "sqlite": "rusqlite"}


def summarize(runs: list[dict]) -> dict:
    """summary[backend][endpoint][server]: req/s of the best round, CPU/request of the least."""
    groups: dict = {}
    for r in runs:
        if r["ok"]:
            groups.setdefault((r["backend"], r["endpoint"], r["server"]), []).append(r)
    out: dict = {}
    for (backend, endpoint, server), rs in groups.items():
        best = max(rs, key=lambda r: r["rps"])
        cpu = [r["cpu_us_per_req"] for r in rs if r["cpu_us_per_req"]]
        user = [r["user_us_per_req"] for r in rs if r.get("user_us_per_req")]
        pgc = [r["pg_cpu_us_per_req"] for r in rs if r.get("pg_cpu_us_per_req")]
        out.setdefault(backend, {}).setdefault(endpoint, {})[server] = {
            "rps": best["rps"], "rps_rounds": [round(r["rps"]) for r in rs],
            "p50_us": best["latency_us"].get("p50"), "p99_us": best["latency_us"].get("p99"),
            "cpu_us_per_req": min(cpu) if cpu else None, "cpu_us_per_req_rounds": [r["cpu_us_per_req"] for r in rs],
            "user_us_per_req": min(user) if user else None,
            "cpu_by_round": {r["round"]: r["cpu_us_per_req"] for r in rs if r["cpu_us_per_req"]},
            "rps_by_round": {r["round"]: r["rps"] for r in rs if r["rps"]},
            "pg_cpu_us_per_req": min(pgc) if pgc else None,
            "peak_rss_kib": max(r["peak_rss_kib"] for r in rs),
            "server_cpu_util": best["server_cpu_util"], "wrk_cpu_util": best["wrk_cpu_util"],
        }
    for backend, eps in out.items():
        for cells in eps.values():
            floor = cells.get(FLOOR[backend])
            for cell in cells.values():
                cell["cpu_vs_floor"] = (cell["cpu_us_per_req"] / floor["cpu_us_per_req"]
                                        if floor and floor["cpu_us_per_req"] and cell["cpu_us_per_req"] else None)
                cell["rps_vs_floor"] = cell["rps"] / floor["rps"] if floor and floor["rps"] else None
                cell["user_vs_floor"] = (cell["user_us_per_req"] / floor["user_us_per_req"]
                                         if floor and floor.get("user_us_per_req") and cell.get("user_us_per_req") else None)
                # The ratio round by round (each round runs the servers back to back), as the
                # median and range: the spread of the ratio itself, where min/min mixes rounds.
                mine, theirs = cell["cpu_by_round"], floor["cpu_by_round"] if floor else {}
                cell["cpu_vs_floor_rounds"] = [mine[r] / theirs[r] for r in sorted(mine) if r in theirs]
    return out


def paired_ratios(mine: dict, theirs: dict, key: str) -> list[float]:
    """mine ÷ theirs in each round both were measured in."""
    a, b = mine.get(key) or {}, theirs.get(key) or {}
    return [a[r] / b[r] for r in sorted(a) if r in b and b[r]]


def goals(summary: dict) -> list[dict]:
    def cell(backend, endpoint, server):
        return summary.get(backend, {}).get(endpoint, {}).get(server)

    out = []

    def goal(text, checks):
        measured = [c for c in checks if c["met"] is not None]
        out.append({"goal": text, "met": None if not measured else all(c["met"] for c in measured), "checks": checks})

    def check(what, value, limit, ok, note=""):
        return {"what": what, "value": value, "limit": limit, "met": None if value is None or limit is None else ok,
                "note": note}

    checks = []
    for endpoint, bound in (("db", 1.15), ("fortunes", 1.15), ("queries", 1.3), ("updates", 1.3)):
        o = cell("pg", endpoint, "orm")
        ratio = o["cpu_vs_floor"] if o else None
        note = ("the reads and the batched UPDATE are the ORM's (`QuerySet::bulk_update`)"
                if endpoint == "updates" else "")
        checks.append(check(f"{LABELS[endpoint]}: brisk-orm CPU/request ÷ raw tokio-postgres'", ratio, bound,
                            ratio is not None and ratio <= bound, note))
    goal("brisk-orm's server CPU per request within 1.15x of raw tokio-postgres on /db and /fortunes, "
         "within 1.3x on /queries and /updates (PostgreSQL)", checks)
    checks = []
    for endpoint in ("db", "queries", "fortunes", "updates"):
        o, a = cell("pg", endpoint, "orm"), cell("pg", endpoint, "axum-pg")
        # Judged round by round: each round runs the servers back to back, so the ratio of
        # one round's two figures cancels what drifts between rounds (PostgreSQL's caches and
        # checkpoints, other load); the median of those ratios, not best against best.
        paired = paired_ratios(o, a, "rps_by_round") if o and a else []
        ratio = median(paired) if paired else (o["rps"] / a["rps"] if o and a and a["rps"] else None)
        spread = f" (rounds {min(paired):.2f}–{max(paired):.2f})" if len(paired) > 1 else ""
        checks.append(check(f"{LABELS[endpoint]}: brisk-orm requests/s ÷ axum + tokio-postgres', median of rounds",
                            ratio, 1.0, ratio is not None and ratio >= 1.0,
                            f"best rounds {o['rps']:,.0f} against {a['rps']:,.0f}{spread}" if o and a else ""))
    goal("brisk-orm at or above axum + tokio-postgres in requests per second on all four", checks)
    checks = []
    for endpoint in ("db", "fortunes"):
        o = cell("sqlite", endpoint, "orm-sqlite")
        ratio = o["cpu_vs_floor"] if o else None
        checks.append(check(f"SQLite {LABELS[endpoint]}: brisk-orm CPU/request ÷ raw rusqlite's", ratio, 1.15,
                            ratio is not None and ratio <= 1.15,
                            f"requests/s ratio {o['rps_vs_floor']:.2f}" if o and o.get("rps_vs_floor") else ""))
    goal("brisk-orm within 1.15x of raw rusqlite on SQLite", checks)
    checks = []
    for peer in ("django", "fastapi"):
        o, p = cell("pg", "fortunes", "orm"), cell("pg", "fortunes", peer)
        ratio = o["rps"] / p["rps"] if o and p and p["rps"] else None
        cpu = (p["cpu_us_per_req"] / o["cpu_us_per_req"]) if o and p and o["cpu_us_per_req"] and p["cpu_us_per_req"] else None
        checks.append(check(f"/fortunes: brisk-orm requests/s ÷ {peer}'s", ratio, 20.0, ratio is not None and ratio >= 20.0,
                            f"{peer}'s CPU/request ÷ brisk-orm's = {cpu:.1f}" if cpu else ""))
    goal("brisk-orm at least 20x Django's and FastAPI + SQLAlchemy's requests per second on /fortunes", checks)
    return out


def _f(x, fmt="{:,.0f}"):
    return "–" if x is None else fmt.format(x)


def _rounds(cell: dict) -> str:
    paired = cell.get("cpu_vs_floor_rounds") or []
    if len(paired) < 2:
        return "–"
    return f"{median(paired):.2f} ({min(paired):.2f}–{max(paired):.2f})"


def markdown(result: dict) -> str:
    meta, summary = result["meta"], result["summary"]
    labels = {s["name"]: s["label"] for s in result["servers"]}
    inter = meta["interference"]
    lines = [
        f"# brisk-orm database benchmark — {meta['date']}",
        "",
        f"Machine: {meta['machine']}. Server pinned to core {meta['config']['server_core']}, wrk (1 thread, "
        f"{meta['config']['connections']} connections, unpipelined) to core {meta['config']['wrk_core']}; PostgreSQL "
        f"{meta['postgres']} on the same machine, not pinned (it shares both cores).",
        f"Run: `{meta['command']}` — {meta['config']['rounds']} round(s) of {meta['config']['duration_s']:.0f} s per server "
        f"and test after {meta['config']['warmup_s']:.0f} s of warm-up, servers interleaved; {meta['elapsed_min']:.1f} min "
        f"in all. brisk at {meta['main_commit']}.",
        "",
        f"**Interference.** Load average {inter['load_before']:.2f} before, {inter['load_after']:.2f} after; other "
        f"processes' user time on the pinned cores during runs: median {inter['median_foreign_pct']:.0f}%, worst "
        f"{inter['max_foreign_pct']:.0f}% of a core ({inter['disturbed']} of {inter['runs']} runs above 15%). "
        + meta.get("note", ""),
        "",
    ]
    if inter.get("spread_median") is not None:
        lines += [f"**Noise.** CPU µs/request of one server and test differed between rounds by {inter['spread_median']:.0f}% "
                  f"(median) and up to {inter['spread_max']:.0f}%; a ratio within that of its bound is not decided by this run.", ""]
    lines += ["## Goals (issue 21, scope item 8)", ""]
    for g in result["goals"]:
        mark = {True: "**met**", False: "**missed**", None: "not measured"}[g["met"]]
        lines.append(f"- {mark} — {g['goal']}")
        for c in g["checks"]:
            if c["met"] is None:
                lines.append(f"  - {c['what']}: not measured")
                continue
            fmt = "{:.2f}" if c["value"] < 100 else "{:,.0f}"
            note = f"; {c['note']}" if c.get("note") else ""
            lines.append(f"  - {'met' if c['met'] else '**missed**'}: {c['what']} = {fmt.format(c['value'])} "
                         f"(goal {fmt.format(c['limit'])}{note})")
    lines.append("")
    for backend, title in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
        for endpoint in ENDPOINTS:
            cells = summary.get(backend, {}).get(endpoint)
            if not cells:
                continue
            floor = "raw tokio-postgres" if backend == "pg" else "raw rusqlite"
            lines += [f"## {title}: {LABELS[endpoint]}", "",
                      f"| server | req/s | req/s ×floor | p50 ms | p99 ms | CPU µs/req | CPU ×floor ({floor}) | "
                      "CPU ×floor per round: median (range) | user µs/req (×floor) | "
                      "PostgreSQL CPU µs/req | peak RSS MiB | server CPU | wrk CPU |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for s in meta["server_order"]:
                c = cells.get(s)
                if not c:
                    continue
                lines.append(
                    f"| {labels[s]} | {_f(c['rps'])} | {_f(c['rps_vs_floor'], '{:.2f}')} | "
                    f"{_f(c['p50_us'] and c['p50_us'] / 1000, '{:.2f}')} | {_f(c['p99_us'] and c['p99_us'] / 1000, '{:.2f}')} | "
                    f"{_f(c['cpu_us_per_req'], '{:.1f}')} | {_f(c['cpu_vs_floor'], '{:.2f}')} | {_rounds(c)} | "
                    f"{_f(c.get('user_us_per_req'), '{:.1f}')} ({_f(c.get('user_vs_floor'), '{:.2f}')}) | "
                    f"{_f(c['pg_cpu_us_per_req'], '{:.1f}')} | {_f(c['peak_rss_kib'] / 1024, '{:.1f}')} | "
                    f"{c['server_cpu_util'] * 100:.0f}% | {c['wrk_cpu_util'] * 100:.0f}% |")
            lines.append("")
    if result["problems"]:
        lines += ["## Problems", ""] + [f"- {p}" for p in result["problems"]] + [""]
    lines += [
        "## How to read this",
        "",
        "- req/s and latency: the round with the most requests/s; CPU µs/req: the server's utime+stime (all threads, "
        "/proc/PID/stat) ÷ responses, from the round with the least (interference only adds); per round: each round's "
        "CPU/request ÷ the floor's in the same round, their median and range; user µs/req: utime alone, the least "
        "of the rounds. PostgreSQL CPU µs/req: "
        "every postgres process's CPU over the run ÷ responses (anyone else using this PostgreSQL adds to it).",
        "- Every server is checked before it is measured: JSON shapes, `q` clamped to 1..500 (`0`, `foo`, `501`, empty), "
        "the fortunes page parsed back (escaped, sorted, the added fortune), and `/updates` read back from the table.",
        "- brisk-orm's `/updates`: the 20 reads are the ORM's (`QuerySet::filter(..).get`, run concurrently), the write is "
        "ONE statement, `World::objects().bulk_update(&worlds, (World::random_number(),), &db)` (`UPDATE world SET "
        "randomnumber = v.randomnumber FROM (VALUES ($1, $2), ...) AS v WHERE world.id = v.id`, typed casts on the values, the 40 values bound, prepared "
        "once per connection). The floor, axum and sqlx send the same statement, prepared, with bound values; Django "
        "uses `bulk_update` (one UPDATE ... CASE); SQLAlchemy flushes one executemany.",
        "- Requests per second against axum + tokio-postgres are judged round by round: the median of brisk-orm's "
        "requests/s ÷ axum's in the same round (servers back to back in each round), not the best round of each.",
        "- Connections: brisk-orm 1 shared pipelined PostgreSQL connection (its default is one per core the process "
        "may run on, and the server is pinned to one; its runtime has one thread, WORKERS=1); raw tokio-postgres and "
        "axum + tokio-postgres 1 pipelined connection; sqlx a pool of 16; Django one per gunicorn thread (4); "
        "SQLAlchemy its default pool (5 + 10). SQLite: brisk-orm 4 reader threads (default), rusqlite 4 threads, sqlx 4 "
        "connections.",
        "- Servers and how they are written, and where brisk-orm's extra instructions go (callgrind, "
        "`bench/profile-db`): `bench/README.md`, \"The database suite\".",
        "",
    ]
    return "\n".join(lines)


def command(cfg: dict, smoke: bool) -> str:
    """The command line of this run, with the BENCH_* selections that differ from a full run."""
    env = [f"BENCH_{k.upper()}={','.join(v)}" for k, v, full in (
        ("servers", cfg["servers"], [s.name for s in SERVERS]), ("endpoints", cfg["endpoints"], list(ENDPOINTS)))
        if v != full]
    env += [f"BENCH_ROUNDS={cfg['rounds']}"] if os.environ.get("BENCH_ROUNDS") else []
    env += [f"BENCH_REPORT={cfg['report']}"] if cfg["report"] != "db-latest" else []
    return " ".join(env + ["bench/run --db" + (" --smoke" if smoke else "")])


def main(smoke: bool) -> int:
    import bench  # machine(), main_commit(): shared with the HTTP suite

    cfg = config(smoke)
    started = time.monotonic()
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    logs = BENCH / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("db-*.log"):
        old.unlink()
    ensure_wrk()
    servers = [s for s in SERVERS if s.name in cfg["servers"]]
    if any(s.kind == "python" for s in servers):
        ensure_venv()
    # The code measured is the code built now; the other engineer may commit during the run.
    commit = bench.main_commit()
    built_at = datetime.now(timezone.utc).strftime("%H:%M UTC")
    built: dict[str, Path] = {}
    for s in servers:
        if s.kind != "rust" or s.binary is not None:  # a baseline binary is already built
            continue
        if s.package not in built:
            log(f"building {s.package} ({cfg['profile']})")
            seconds = cargo_build(s, cfg["profile"])
            built[s.package] = binary_path(s, cfg["profile"])
            s.build["build_s"] = round(seconds, 1)
        s.binary = built[s.package]

    pg_name = f"brisk_bench_{os.getpid()}"
    folder = tempfile.mkdtemp(prefix="brisk-bench-db-")
    needs_pg = any(s.backend == "pg" for s in servers)
    runs: list[dict] = []
    problems: list[str] = []
    pg_created = False

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old_term = signal.signal(signal.SIGTERM, interrupted)
    try:
        if needs_pg:
            ensure_postgres()
            pg_url = create_pg(pg_name)
            pg_created = True
            log(f"created database {pg_name} (World 10,000 rows, Fortune 12)")
        sqlite_url = create_sqlite(folder)
        for s in servers:
            s.url = pg_url if s.backend == "pg" else sqlite_url
        load_before = measure.loadavg()
        quiet = [cfg["quiet_budget_s"]]
        for rnd in range(1, cfg["rounds"] + 1):
            for endpoint in cfg["endpoints"]:
                order = [s for s in servers if s.backend in ENDPOINTS[endpoint][1]]
                if rnd % 2 == 0:
                    order.reverse()
                for server in order:
                    try:
                        measure_one(cfg, rnd, endpoint, server, logs, pg_name, runs, problems, quiet)
                    except (ServerError, measure.WrkError, OSError, ValueError) as e:
                        problems.append(f"round {rnd}, {endpoint}, {server.name}: {e}")
                        log(f"  PROBLEM {problems[-1]}")
        load_after = measure.loadavg()
        postgres = psql("SHOW server_version").strip() if needs_pg else "–"
    finally:
        signal.signal(signal.SIGTERM, old_term)
        if pg_created:
            drop_pg(pg_name)
        shutil.rmtree(folder, ignore_errors=True)

    summary = summarize(runs)
    foreign = [r["foreign_pct"] for r in runs]
    spreads = sorted((max(r) - min(r)) / min(r) * 100 for eps in summary.values() for cells in eps.values()
                     for c in cells.values() if len(r := [x for x in c["cpu_us_per_req_rounds"] if x]) > 1)
    m = bench.machine()
    result = {
        "schema": 1,
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "smoke" if smoke else "full",
            "command": command(cfg, smoke),
            "machine": f"{m['cpu']} ({m['cores']} cores), {m['memory_gib']:.0f} GiB, Linux {m['kernel']}, {m['rustc']}, "
                       f"Python {m['python']}",
            "postgres": postgres,
            "config": cfg,
            "main_commit": f"{commit} (built {built_at})",
            "server_order": [s.name for s in servers],
            "elapsed_min": (time.monotonic() - started) / 60,
            "interference": {
                "load_before": load_before, "load_after": load_after,
                "median_foreign_pct": median(foreign) if foreign else 0.0, "max_foreign_pct": max(foreign, default=0.0),
                "disturbed": sum(1 for f in foreign if f > cfg["quiet_threshold_pct"]), "runs": len(foreign),
                "spread_median": median(spreads) if spreads else None, "spread_max": spreads[-1] if spreads else None,
            },
            "note": os.environ.get("BENCH_NOTE", ""),
        },
        "servers": [{"name": s.name, "label": s.label, "backend": s.backend, "package": s.package, "driver": s.driver,
                     "build": s.build} for s in servers],
        "summary": summary,
        "runs": runs,
        "problems": problems,
    }
    result["goals"] = goals(summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = cfg["report"]
    (out_dir / f"{report}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / f"{report}.md").write_text(markdown(result))
    log(f"wrote {out_dir / (report + '.md')} and {report}.json in {(time.monotonic() - started) / 60:.1f} min")

    failures = list(problems)
    if smoke:
        seen = {(r["server"], r["endpoint"]) for r in runs if r["ok"]}
        for s in servers:
            for e in cfg["endpoints"]:
                if s.backend in ENDPOINTS[e][1] and (s.name, e) not in seen:
                    failures.append(f"no successful run for {s.name} {e}")
    for f in failures:
        print(f"bench --db: FAILED: {f}")
    if smoke:
        print(f"bench-db-smoke: {sum(1 for r in runs if r['ok'])} passed, {len(failures)} failed")
    return 1 if failures else 0


def rewrite_report(smoke: bool) -> int:
    """Rewrites the report's .md (and the goals) from its .json (BENCH_REPORT, else db-latest)."""
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    report = config(smoke)["report"]
    result = json.loads((out_dir / f"{report}.json").read_text())
    result["summary"] = summarize(result["runs"])
    result["goals"] = goals(result["summary"])
    (out_dir / f"{report}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / f"{report}.md").write_text(markdown(result))
    log(f"rewrote {out_dir / (report + '.md')} from {report}.json")
    return 0
