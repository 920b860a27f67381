"""bench/run --admin: brisk-admin's list page against Django's admin, on the same PostgreSQL
server, with the same models, options and rows.

Each framework gets its own database on the local server (127.0.0.1:5432), created by the
run and dropped at its end (also when it fails or is interrupted). Its own migrations make
the tables (`admin-brisk migrate`, `manage.py migrate`); then one `INSERT ... SELECT
generate_series(...)` fills both with the same rows: 1,000 suppliers and 1,000,000 items
(10,000 with --smoke), `VACUUM ANALYZE`d; a superuser is made by each framework's own
command (`createsuperuser --no-input` / `--noinput`).

Two pages, each requested with the session cookie of a login (brisk-auth's `POST /auth/login`,
Django's admin login form):

- search: `?q=lamp` and the `in_stock` filter, the foreign-key column shown (brisk
  `/admin/bench/item?q=lamp&in_stock=true`, Django `/admin/bench/item/?q=lamp&in_stock__exact=1`);
- plain: the first page of the list (`/admin/bench/item`, `/admin/bench/item/`).

Before measuring, each server is started with its database reached through a small proxy
in this process that reads the PostgreSQL protocol: every statement a page runs is counted
and its SQL kept (a simple Query, or an Execute of a parsed statement), the rows on the page
are checked (the 100 expected items, newest first, with their suppliers), and any COUNT in
the SQL is reported. Then, per round (servers interleaved, every other round reversed), each
server is started on the database directly, pinned to one core, logged in, warmed up, and
measured by wrk (one thread, pinned to the other core) twice per page: one connection
("sequential": the time of one page) and BENCH_CONNECTIONS connections ("concurrent").
The server's CPU time and every postgres process's CPU time are read around each run.

Writes results/admin-latest.md and .json (results/smoke/ with --smoke). See bench/README.md,
"The admin suite"."""

from __future__ import annotations

import functools
import http.client
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from statistics import median
from urllib.parse import urlencode

import measure
from db import PG_HOST, PG_PORT, PG_USER, drop_pg, ensure_postgres, postgres_pids, psql
from servers import (BENCH, GUNICORN, PEERS, VENV, Running, Server, ServerError, binary_path, cargo_build,
                     ensure_venv, ensure_wrk, free_port, log)

SCRIPT = str(BENCH / "wrk" / "bench.lua")
GOAL_RATIO = 10.0  # the issue: brisk's admin at least 10x faster than Django's
PER_PAGE = 100  # both admins' default list_per_page
SUPPLIERS = 1000
PASSWORD = "bench-admin-passphrase-0123"
SECRET_KEY = "bench-only-secret-key-not-secret-0123456789abcdef"
HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"

# The rows, identical in both databases (the SQL below and its mirror in Python for the check).
NOUNS = ["Desk", "Lamp", "Chair", "Shelf", "Table", "Sofa", "Rug", "Mirror", "Clock", "Vase"]
WORDS = ["oak", "brass", "linen", "steel", "glass", "walnut", "velvet"]
SEARCH = "lamp"  # NOUNS[1]: one item in 10; in stock: two in 3
# A search for one particular item, as one looks an item up: two words, each of which must match
# (both admins split the terms so). Item 424242 is the only match of a million (none of 10,000).
RARE_ID = 424242
RARE = f"{WORDS[RARE_ID % 7]} {RARE_ID}"


def item_name(i: int) -> str:
    return f"{NOUNS[i % 10]} {WORDS[i % 7]} {i}"


def supplier_of(i: int) -> int:
    return 1 + i % SUPPLIERS


def in_stock(i: int) -> bool:
    return i % 3 != 0


def load_sql(items: int) -> list[str]:
    """The statements that fill one database (after its migrations ran); run one by one (VACUUM
    cannot run in a transaction)."""
    arr = lambda xs: "array[" + ", ".join(f"'{x}'" for x in xs) + "]"  # noqa: E731
    return [
        f"INSERT INTO bench_supplier (id, name) SELECT s, 'Supplier ' || s FROM generate_series(1, {SUPPLIERS}) AS s",
        "INSERT INTO bench_item (id, name, price, in_stock, supplier_id) "
        f"SELECT i, ({arr(NOUNS)})[1 + i % 10] || ' ' || ({arr(WORDS)})[1 + i % 7] || ' ' || i, "
        f"round(((i * 7919) % 100000) / 100.0, 2), i % 3 <> 0, 1 + i % {SUPPLIERS} "
        f"FROM generate_series(1::bigint, {items}) AS i",
        # The next key after the loaded rows, for either kind of key column (identity or serial).
        f"SELECT setval(pg_get_serial_sequence('bench_supplier', 'id'), {SUPPLIERS})",
        f"SELECT setval(pg_get_serial_sequence('bench_item', 'id'), {items})",
        # What autovacuum does to a table that has been there a while: statistics, and a
        # visibility map (which lets a COUNT(*) read the primary key's index alone).
        "VACUUM ANALYZE bench_supplier",
        "VACUUM ANALYZE bench_item",
    ]


@dataclass
class AdminServer(Server):
    peer: str = ""
    pages: dict = field(default_factory=dict)  # page name -> path and query
    login_path: str = ""
    cookie_name: str = ""
    url: str = ""  # DATABASE_URL, set once the database exists

    def command(self, host: str, port: int) -> tuple[list[str], dict]:
        argv, env = super().command(host, port)
        env["DATABASE_URL"] = self.url
        env["SECRET_KEY"] = SECRET_KEY
        return argv, env

    def manage(self, args: list[str], extra_env: dict | None = None, log_path: Path | None = None) -> str:
        """Runs one of the framework's management commands on its database."""
        env = dict(os.environ, DATABASE_URL=self.url, SECRET_KEY=SECRET_KEY, RUST_LOG="warn", **(extra_env or {}))
        argv = [str(self.binary)] + args if self.kind == "rust" else [str(VENV / "bin" / "python"), "manage.py"] + args
        res = subprocess.run(argv, cwd=self.cwd, env=env, capture_output=True, text=True)
        if log_path:
            with open(log_path, "a") as f:
                f.write(f"$ {' '.join(argv)}\n{res.stdout}{res.stderr}\n")
        if res.returncode != 0:
            raise ServerError(f"{self.name}: `{' '.join(argv[-len(args) - 1:])}` exited {res.returncode}: "
                              f"{(res.stderr or res.stdout).strip()[-400:]}")
        return res.stdout


SERVERS = [
    AdminServer("brisk", "brisk-admin", "rust", package="admin-brisk", peer="admin-brisk",
                pages={"search": f"/admin/bench/item?q={SEARCH}&in_stock=true", "plain": "/admin/bench/item",
                       "search_p2": f"/admin/bench/item?q={SEARCH}&in_stock=true&p=2",
                       "rare": f"/admin/bench/item?q={RARE.replace(' ', '+')}"},
                login_path="/auth/login", cookie_name="session"),
    AdminServer("django", "Django admin on gunicorn", "python", argv=GUNICORN + ["adminsite.wsgi:application"],
                cwd=PEERS / "admin-django", peer="admin-django",
                pages={"search": f"/admin/bench/item/?q={SEARCH}&in_stock__exact=1", "plain": "/admin/bench/item/",
                       "search_p2": f"/admin/bench/item/?q={SEARCH}&in_stock__exact=1&p=2",
                       "rare": f"/admin/bench/item/?q={RARE.replace(' ', '+')}"},
                login_path="/admin/login/", cookie_name="sessionid"),
]
MEASURED = ("search", "plain", "rare")  # search_p2 is only counted and checked
GOAL_PAGES = ("search", "plain")  # the pages the issue names; "rare" is measured beside them
PAGE_LABELS = {
    "search": "search + filter (`q=lamp`, in stock), supplier column",
    "plain": "first page, no search or filter",
    "search_p2": "search + filter, page 2",
    "rare": f"a search one item matches (`q={RARE}`), no filter",
}


def config(smoke: bool) -> dict:
    d = {
        "items": int(measure.env_num("BENCH_ITEMS", 10_000 if smoke else 1_000_000)),
        "duration_s": measure.env_num("BENCH_DURATION", 1 if smoke else 8),
        "warmup_s": measure.env_num("BENCH_WARMUP", 1 if smoke else 2),
        "rounds": int(measure.env_num("BENCH_ROUNDS", 1 if smoke else 2)),
        "connections": int(measure.env_num("BENCH_CONNECTIONS", 8)),
        "count_requests": int(measure.env_num("BENCH_COUNT_REQUESTS", 3 if smoke else 5)),
        "server_core": int(measure.env_num("BENCH_SERVER_CORE", 0)),
        "wrk_core": int(measure.env_num("BENCH_WRK_CORE", 1)),
        "host": "127.0.0.1",
        "port": int(measure.env_num("BENCH_PORT", 18400)),
        "quiet_budget_s": measure.env_num("BENCH_QUIET_BUDGET", 0 if smoke else 60),
        "quiet_threshold_pct": measure.env_num("BENCH_QUIET_THRESHOLD", 15),
        "profile": os.environ.get("BENCH_PROFILE", "dev" if smoke else "release"),
        "servers": os.environ.get("BENCH_SERVERS", ",".join(s.name for s in SERVERS)).split(","),
        "nice": int(measure.env_num("BENCH_NICE", -20 if os.geteuid() == 0 else 0)),
    }
    unknown = set(d["servers"]) - {s.name for s in SERVERS}
    if unknown:
        raise SystemExit(f"bench --admin: unknown server: {', '.join(sorted(unknown))}")
    if d["items"] < 2 * PER_PAGE * 30:
        raise SystemExit("bench --admin: BENCH_ITEMS must be at least 6,000 (two pages of search results)")
    return d


# --- counting statements: a PostgreSQL protocol proxy -----------------------------------------------

SSL_REQUEST, GSS_REQUEST = 80877103, 80877104


class PgCounter:
    """Listens on a local port and forwards to the PostgreSQL server, reading what clients send:
    each simple Query and each Execute (of a statement parsed earlier on that connection, named
    or not) is one statement, kept with its SQL in `statements`. It answers "no" to a request
    for TLS, so that the protocol stays readable. Used to count, never while timing."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.statements: list[str] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def mark(self) -> int:
        with self.lock:
            return len(self.statements)

    def since(self, mark: int) -> list[str]:
        with self.lock:
            return list(self.statements[mark:])

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _record(self, sql: str) -> None:
        with self.lock:
            self.statements.append(sql)

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        for s in (client, server):  # forwarded message by message: no Nagle delay on each
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()
        src = client.makefile("rb")

        def exact(n: int) -> bytes:
            data = src.read(n)
            if data is None or len(data) < n:
                raise EOFError
            return data

        try:
            while True:  # the startup packet, after any TLS/GSS request refused here
                head = exact(4)
                body = exact(int.from_bytes(head, "big") - 4)
                if int.from_bytes(body[:4], "big") in (SSL_REQUEST, GSS_REQUEST):
                    client.sendall(b"N")
                    continue
                server.sendall(head + body)
                break
            parsed: dict[bytes, str] = {}
            portals: dict[bytes, str] = {}
            while True:
                kind = exact(1)
                head = exact(4)
                body = exact(int.from_bytes(head, "big") - 4)
                server.sendall(kind + head + body)
                if kind == b"Q":
                    self._record(body[:-1].decode("utf-8", "replace"))
                elif kind == b"P":
                    name, rest = body.split(b"\0", 1)
                    parsed[name] = rest.split(b"\0", 1)[0].decode("utf-8", "replace")
                elif kind == b"B":
                    portal, rest = body.split(b"\0", 1)
                    portals[portal] = parsed.get(rest.split(b"\0", 1)[0], "?")
                elif kind == b"E":
                    self._record(portals.get(body.split(b"\0", 1)[0], "?"))
                elif kind == b"X":
                    break
        except (EOFError, OSError, ValueError):
            pass
        finally:
            for s in (client, server):
                try:
                    s.close()
                except OSError:
                    pass

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def is_count(sql: str) -> bool:
    return re.search(r"\bcount\s*\(", sql, re.I) is not None


def is_full_count(sql: str) -> bool:
    """A COUNT over the item table with no WHERE: every row of it read."""
    return is_count(sql) and "bench_item" in sql and re.search(r"\bwhere\b", sql, re.I) is None


# --- a browser: login, cookies, pages --------------------------------------------------------------

class Browser:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            h = {"Accept": HTML, **(headers or {})}
            if self.cookies:
                h["Cookie"] = self.cookie_header()
            conn.request(method, path, body=body, headers=h)
            res = conn.getresponse()
            data = res.read()
            for value in res.headers.get_all("Set-Cookie") or []:
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                if val and "max-age=0" not in value.lower():
                    self.cookies[name.strip()] = val.strip()
                else:
                    self.cookies.pop(name.strip(), None)
            return res.status, res.getheader("Content-Type") or "", data
        finally:
            conn.close()

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def login(self, server: AdminServer) -> None:
        if server.name == "brisk":
            status, _, body = self.request("POST", server.login_path,
                                           json.dumps({"username": "admin", "password": PASSWORD}).encode(),
                                           {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"})
            ok = status == 200
        else:
            status, _, body = self.request("GET", server.login_path)
            m = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
            if status != 200 or not m:
                raise ServerError(f"{server.name}: GET {server.login_path} answered {status}, no CSRF token")
            form = urlencode({"csrfmiddlewaretoken": m.group(1).decode(), "username": "admin",
                              "password": PASSWORD, "next": "/admin/"}).encode()
            status, _, body = self.request("POST", server.login_path, form,
                                           {"Content-Type": "application/x-www-form-urlencoded"})
            ok = status == 302
        if not ok or server.cookie_name not in self.cookies:
            raise ServerError(f"{server.name}: login answered {status} {body[:200]!r}, cookies {sorted(self.cookies)}")


ITEM = re.compile(r"\b(" + "|".join(NOUNS) + r") (" + "|".join(WORDS) + r") (\d+)\b")
SUPPLIER = re.compile(r"\bSupplier (\d+)\b")


@functools.lru_cache(maxsize=None)
def expected_ids(page: str, items: int) -> list[int]:
    if page == "plain":
        return list(range(items, items - PER_PAGE, -1))
    if page == "rare":
        words = RARE.lower().split()
        return [i for i in range(items, 0, -1) if all(w in item_name(i).lower() for w in words)][:PER_PAGE]
    hits = (i for i in range(items, 0, -1) if i % 10 == 1 and in_stock(i))
    skip = PER_PAGE if page == "search_p2" else 0
    return [i for n, i in enumerate(hits) if skip <= n < skip + PER_PAGE]


def check_page(server: AdminServer, page: str, status: int, ctype: str, body: bytes, items: int) -> dict:
    """The page shows the expected items (100; fewer for the rare search), newest first, each with
    its supplier's name."""
    def expect(cond: bool, what: str) -> None:
        if not cond:
            raise ServerError(f"{server.name} {page}: {what}")

    expect(status == 200, f"answered {status}: {body[:200]!r}")
    expect(ctype.startswith("text/html"), f"Content-Type {ctype!r}")
    text = body.decode("utf-8", "replace")
    seen: list[int] = []
    for m in ITEM.finditer(text):
        i = int(m.group(3))
        expect(item_name(i) == m.group(0), f"shows {m.group(0)!r}, which is not item {i}'s name")
        if i not in seen:
            seen.append(i)
    want = expected_ids(page, items)
    expect(seen == want, f"shows items {seen[:5]}... ({len(seen)}), expected {want[:5]}... ({len(want)})")
    suppliers = {int(s) for s in SUPPLIER.findall(text)}
    missing = [i for i in want if supplier_of(i) not in suppliers]
    expect(not missing, f"does not show the supplier of items {missing[:5]}")
    return {"bytes": len(body), "rows": len(seen)}


# --- the databases and the servers -------------------------------------------------------------------

def prepare_database(server: AdminServer, db_name: str, items: int, logs: Path) -> dict:
    """Creates the database, runs the framework's migrations, loads the rows, makes the superuser."""
    psql(f"CREATE DATABASE {db_name}")
    server.url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}"
    log_path = logs / f"admin-{server.name}-setup.log"
    t0 = time.monotonic()
    server.manage(["migrate"] + (["--noinput"] if server.kind == "python" else []), log_path=log_path)
    migrate_s = time.monotonic() - t0
    t0 = time.monotonic()
    for sql in load_sql(items):
        psql(sql, db_name)
    load_s = time.monotonic() - t0
    if server.kind == "rust":
        server.manage(["createsuperuser", "--no-input"], {"BRISK_SUPERUSER_USERNAME": "admin",
                      "BRISK_SUPERUSER_EMAIL": "admin@example.com", "BRISK_SUPERUSER_PASSWORD": PASSWORD},
                      log_path=log_path)
    else:
        server.manage(["createsuperuser", "--noinput"], {"DJANGO_SUPERUSER_USERNAME": "admin",
                      "DJANGO_SUPERUSER_EMAIL": "admin@example.com", "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
                      log_path=log_path)
    counts = psql("SELECT (SELECT count(*) FROM bench_item) || ' ' || (SELECT count(*) FROM bench_supplier) || ' ' "
                  "|| pg_size_pretty(pg_total_relation_size('bench_item'))", db_name).split()
    if int(counts[0]) != items or int(counts[1]) != SUPPLIERS:
        raise ServerError(f"{server.name}: the tables hold {counts[0]} items and {counts[1]} suppliers")
    log(f"{db_name}: {server.name} migrated in {migrate_s:.1f} s, {items:,} items loaded in {load_s:.1f} s "
        f"({counts[2]} {counts[3]} with indexes)")
    return {"database": db_name, "migrate_s": round(migrate_s, 1), "load_s": round(load_s, 1),
            "item_table_size": f"{counts[2]} {counts[3]}"}


def start(cfg: dict, server: AdminServer, logs: Path, url: str | None = None) -> Running:
    saved = server.url
    if url:
        server.url = url
    try:
        running = Running(server, cfg["host"], free_port(cfg["host"], cfg["port"]), cfg["server_core"],
                          logs / f"admin-{server.name}.log", cfg["nice"])
    finally:
        server.url = saved
    try:
        running.wait_ready(timeout=60, path=server.login_path)
    except Exception:
        running.stop()
        raise
    return running


def count_queries(cfg: dict, server: AdminServer, logs: Path) -> dict:
    """Starts the server on its database through the counting proxy, logs in, checks each page
    and counts the statements of each request of it."""
    proxy = PgCounter((PG_HOST, PG_PORT))
    url = server.url.replace(f":{PG_PORT}/", f":{proxy.port}/")
    running = start(cfg, server, logs, url)
    out: dict = {"pages": {}}
    try:
        browser = Browser(cfg["host"], running.port)
        mark = proxy.mark()
        browser.login(server)
        time.sleep(0.3)
        out["login_statements"] = len(proxy.since(mark))
        for page, path in server.pages.items():
            facts = {}
            for _ in range(2):  # warm: prepared statements, caches, the first CSRF token
                facts = check_page(server, page, *browser.request("GET", path), cfg["items"])
            counts, last, times = [], [], []
            for _ in range(cfg["count_requests"]):
                time.sleep(0.2)  # anything a previous request left running has finished
                mark = proxy.mark()
                t0 = time.monotonic()
                check_page(server, page, *browser.request("GET", path), cfg["items"])
                times.append((time.monotonic() - t0) * 1000)
                time.sleep(0.3)  # and anything this one does after answering is counted
                last = proxy.since(mark)
                counts.append(len(last))
            out["pages"][page] = {
                "path": path, "statements": counts, "sql": last, **facts,
                "counts": [s for s in last if is_count(s)],
                "full_table_counts": [s for s in last if is_full_count(s)],
                "ms_through_proxy": [round(t, 1) for t in times],
            }
            log(f"  {server.name:6} {page:9} {counts} statements per page, "
                f"{sum(map(is_count, last))} COUNT ({sum(map(is_full_count, last))} of the whole table), "
                f"{facts.get('bytes', 0):,} bytes, {median(times):.1f} ms (through the proxy)")
        out["cookie_names"] = sorted(browser.cookies)
    finally:
        running.stop()
        proxy.close()
    return out


def pg_ticks() -> dict[int, tuple[int, int]]:
    """Per postgres process: (all CPU ticks, user ticks), its reaped children's included — the
    parallel workers a big scan starts come and go within a request, and their time is added
    to the postmaster's cutime/cstime when they exit."""
    out = {}
    for pid in postgres_pids():
        f = measure._stat_fields(pid)  # noqa: SLF001  (utime, stime, cutime, cstime: 11-14)
        if f:
            out[pid] = (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14]), int(f[11]) + int(f[13]))
    return out


def explain_counts(db_name: str, sqls: list[str]) -> list[dict]:
    """Each COUNT statement run alone by PostgreSQL (`EXPLAIN (ANALYZE, TIMING OFF)`, best of 3): its time and
    its plan, to show what a count of the table costs on every page."""
    out = []
    for sql in dict.fromkeys(sqls):
        best, nodes = None, []
        for _ in range(3):
            plan = json.loads(psql(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", db_name))[0]
            ms = plan["Execution Time"]
            if best is None or ms < best:
                best, nodes, todo = ms, [], [plan["Plan"]]
                while todo:
                    node = todo.pop(0)
                    workers = f" ({node['Workers Launched']} workers)" if node.get("Workers Launched") else ""
                    nodes.append(node["Node Type"] + workers)
                    todo = node.get("Plans", []) + todo
        out.append({"sql": sql, "ms": round(best, 1), "plan": " > ".join(nodes)})
        log(f"  alone: {best:7.1f} ms  {' > '.join(nodes)}  {sql[:90]}")
    return out


def measure_one(cfg: dict, rnd: int, server: AdminServer, logs: Path, state: dict) -> None:
    running = start(cfg, server, logs)
    try:
        browser = Browser(cfg["host"], running.port)
        browser.login(server)
        headers = [f"Cookie: {browser.cookie_header()}", f"Accept: {HTML}"]
        time.sleep(0.3)
        tree = measure.process_tree(running.pid)
        state["idle_rss"].setdefault(server.name, []).append(measure.rss_kib(tree))
        for page in MEASURED:
            path = server.pages[page]
            check_page(server, page, *browser.request("GET", path), cfg["items"])
            for mode, connections in (("sequential", 1), ("concurrent", cfg["connections"])):
                wrk = dict(url=f"http://{cfg['host']}:{running.port}{path}", method="GET", body_file=None,
                           connections=connections, core=cfg["wrk_core"], script=SCRIPT, nice=cfg["nice"], depth=1,
                           headers=headers)
                if cfg["warmup_s"] > 0:
                    measure.run_wrk(seconds=cfg["warmup_s"], **wrk)
                tree = measure.process_tree(running.pid)
                cores = [cfg["server_core"], cfg["wrk_core"]]
                while state["quiet_left"] > 0 and \
                        max(measure.foreign_load(cores, 0.5, tree).values()) * 100 > cfg["quiet_threshold_pct"]:
                    state["quiet_left"] -= 2.5
                    time.sleep(2)
                pg = pg_ticks()
                measure.reset_peak_rss(tree)
                cores0 = measure.core_user_ticks()
                ticks0, user0, load0 = measure.cpu_ticks(tree), measure.process_user_ticks(tree), measure.loadavg()
                t0 = time.monotonic()
                res = measure.run_wrk(seconds=cfg["duration_s"], **wrk)
                wall = time.monotonic() - t0
                tree = measure.process_tree(running.pid)
                ticks, user = measure.cpu_ticks(tree) - ticks0, measure.process_user_ticks(tree) - user0
                pg_after = pg_ticks()
                pg_cpu = sum(max(0, pg_after[pid][0] - b[0]) for pid, b in pg.items() if pid in pg_after)
                pg_user = sum(max(0, pg_after[pid][1] - b[1]) for pid, b in pg.items() if pid in pg_after)
                cores1 = measure.core_user_ticks()
                span = wall * measure.CLK_TCK
                # Other processes' user time on the two pinned cores: what is left of the cores'
                # busy time after the server's, wrk's and PostgreSQL's (which runs on both cores,
                # unpinned, and is part of what a page costs).
                busy = sum(cores1[c] - cores0[c] for c in {cfg["server_core"], cfg["wrk_core"]})
                others = (busy - user - res.wrk_user_s * measure.CLK_TCK - pg_user) / span
                cpu_s = ticks / measure.CLK_TCK
                n = res.requests
                run = {
                    "round": rnd, "server": server.name, "page": page, "mode": mode, "connections": connections,
                    "ok": n > 0 and res.error_count == 0,
                    "requests": n, "duration_s": res.duration_s, "rps": res.rps, "latency_us": res.latency_us,
                    "bytes_per_response": res.bytes / n if n else None,
                    "errors": res.errors, "errors_total": res.error_count,
                    "server_cpu_s": cpu_s, "cpu_us_per_req": cpu_s * 1e6 / n if n else None,
                    "pg_cpu_us_per_req": (pg_cpu / measure.CLK_TCK) * 1e6 / n if n else None,
                    "server_cpu_util": cpu_s / res.duration_s if res.duration_s else 0,
                    "wrk_cpu_util": res.wrk_cpu_s / res.duration_s if res.duration_s else 0,
                    "peak_rss_kib": measure.peak_rss_kib(tree),
                    "pg_cpu_util": pg_cpu / measure.CLK_TCK / res.duration_s if res.duration_s else 0,
                    "foreign_pct": max(0.0, others) * 100,
                    "load_before": load0, "load_after": measure.loadavg(),
                }
                state["runs"].append(run)
                flag = "" if run["ok"] else f"  ERRORS {res.errors}"
                log(f"  r{rnd} {server.name:6} {page:6} {mode:10} {res.rps:>8,.1f} req/s  "
                    f"p50 {res.latency_us.get('p50', 0) / 1000:8.2f} ms  CPU {run['cpu_us_per_req'] or 0:9.0f} µs/req  "
                    f"pg {run['pg_cpu_us_per_req'] or 0:9.0f} µs/req  other {run['foreign_pct']:3.0f}%{flag}")
                if not run["ok"]:
                    state["problems"].append(f"round {rnd}, {server.name} {page} {mode}: {n} responses, "
                                             f"errors {res.errors}")
    finally:
        running.stop()


# --- figures, goals, report ------------------------------------------------------------------------

def summarize(runs: list[dict]) -> dict:
    """summary[page][mode][server]: requests/s and latency of the best round, CPU per request
    (the server's and PostgreSQL's) of the least."""
    groups: dict = {}
    for r in runs:
        if r["ok"]:
            groups.setdefault((r["page"], r["mode"], r["server"]), []).append(r)
    out: dict = {}
    for (page, mode, server), rs in groups.items():
        best = max(rs, key=lambda r: r["rps"])
        cpu = [r["cpu_us_per_req"] for r in rs if r["cpu_us_per_req"]]
        pgc = [r["pg_cpu_us_per_req"] for r in rs if r["pg_cpu_us_per_req"]]
        out.setdefault(page, {}).setdefault(mode, {})[server] = {
            "rps": best["rps"], "rps_rounds": [round(r["rps"], 1) for r in rs], "requests": best["requests"],
            "p50_us": best["latency_us"].get("p50"), "p99_us": best["latency_us"].get("p99"),
            "mean_us": best["latency_us"].get("mean"),
            "cpu_us_per_req": min(cpu) if cpu else None, "pg_cpu_us_per_req": min(pgc) if pgc else None,
            "peak_rss_kib": max(r["peak_rss_kib"] for r in rs), "bytes_per_response": best["bytes_per_response"],
            "server_cpu_util": best["server_cpu_util"], "wrk_cpu_util": best["wrk_cpu_util"],
        }
    for modes in out.values():
        for cells in modes.values():
            b, d = cells.get("brisk"), cells.get("django")
            if b and d:
                b["rps_vs_django"] = b["rps"] / d["rps"] if d["rps"] else None
    return out


def goals(summary: dict, queries: dict) -> list[dict]:
    out = []

    def goal(text, checks):
        measured = [c for c in checks if c["met"] is not None]
        out.append({"goal": text, "met": None if not measured else all(c["met"] for c in measured), "checks": checks})

    checks = []
    for page in GOAL_PAGES:
        for mode in ("sequential", "concurrent"):
            b = summary.get(page, {}).get(mode, {}).get("brisk")
            ratio = b.get("rps_vs_django") if b else None
            checks.append({"what": f"{PAGE_LABELS[page]}, {mode}: brisk's requests/s ÷ Django's", "value": ratio,
                           "limit": GOAL_RATIO, "met": None if ratio is None else ratio >= GOAL_RATIO})
    goal(f"brisk's admin list page at least {GOAL_RATIO:.0f}x faster than Django's (requests/s on the same "
         "PostgreSQL, the same rows)", checks)

    brisk = queries.get("brisk", {}).get("pages", {})
    checks = []
    if brisk:
        per_page = {p: brisk[p]["statements"] for p in brisk}
        flat = [n for counts in per_page.values() for n in counts]
        constant = len(set(flat)) == 1
        checks.append({"what": "brisk's statements per page, every request of every page ("
                               + "; ".join(f"{p}: {per_page[p]}" for p in per_page) + ")",
                       "value": flat[0] if constant else max(flat), "limit": None, "met": constant,
                       "text": f"{flat[0]} on every request" if constant else f"{min(flat)} to {max(flat)}"})
    goal("a constant number of queries per page (brisk: the same count on every request of the search page, "
         "its page 2 and the first page; none per row)", checks)

    checks = []
    if brisk:
        found = [s for p in brisk.values() for s in p["counts"]]
        checks.append({"what": "COUNT statements in brisk's list pages", "value": len(found), "limit": 0,
                       "met": not found, "text": f"{len(found)} found" + (f": {found[0][:200]}" if found else "")})
    goal("no full-table count (brisk runs no COUNT at all on a list page)", checks)
    return out


def _f(x, fmt="{:,.0f}"):
    return "–" if x is None else fmt.format(x)


def _sql(s: str, limit: int = 700) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"\$(\d+)(?:, \$\d+){3,}, \$(\d+)", r"$\1, …, $\2", s)  # a long IN list of parameters
    return s if len(s) <= limit else s[:limit] + " …"


def markdown(result: dict) -> str:
    meta, cfg, summary = result["meta"], result["meta"]["config"], result["summary"]
    servers = {s["name"]: s for s in result["servers"]}
    inter = meta["interference"]
    lines = [
        f"# brisk-admin against Django's admin — {meta['date']}",
        "",
        f"Machine: {meta['machine']}. PostgreSQL {meta['postgres']} on the same machine (127.0.0.1:5432), not pinned. "
        f"Each server pinned to core {cfg['server_core']} (one worker; Django: gunicorn, 1 gthread worker, 4 threads), "
        f"wrk (1 thread) to core {cfg['wrk_core']}.",
        f"Run: `{meta['command']}` — {cfg['items']:,} items and {SUPPLIERS:,} suppliers in each framework's own "
        f"database; {cfg['rounds']} round(s) of {cfg['duration_s']:.0f} s per server, page and mode after "
        f"{cfg['warmup_s']:.0f} s of warm-up, servers interleaved; {meta['elapsed_min']:.1f} min in all. "
        f"brisk at {meta['main_commit']}, {cfg['profile']} build.",
        "",
        f"**Interference.** Load average {inter['load_before']:.2f} before, {inter['load_after']:.2f} after; other "
        f"processes' user time on the pinned cores during runs: median {inter['median_foreign_pct']:.0f}%, worst "
        f"{inter['max_foreign_pct']:.0f}% of a core ({inter['disturbed']} of {inter['runs']} runs above "
        f"{cfg['quiet_threshold_pct']:.0f}%; PostgreSQL's own time not counted as other). " + meta.get("note", ""),
        "",
        "## Goal (the admin issue: \"≥ 10x faster, a constant number of queries per page, no full-table count\")",
        "",
    ]
    for g in result["goals"]:
        mark = {True: "**met**", False: "**missed**", None: "not measured"}[g["met"]]
        lines.append(f"- {mark} — {g['goal']}")
        for c in g["checks"]:
            if c["met"] is None:
                lines.append(f"  - {c['what']}: not measured")
            elif "text" in c:
                lines.append(f"  - {'met' if c['met'] else '**missed**'}: {c['what']}: {c['text']}")
            else:
                lines.append(f"  - {'met' if c['met'] else '**missed**'}: {c['what']} = {c['value']:.1f} "
                             f"(goal {c['limit']:.0f})")
    rare = summary.get("rare", {})
    if rare.get("sequential", {}).get("brisk", {}).get("rps_vs_django") is not None:
        seq, conc = rare["sequential"], rare.get("concurrent", {})
        lines += ["", f"Beyond the goal's pages: **{PAGE_LABELS['rare']}** — brisk's requests/s ÷ Django's = "
                  f"{seq['brisk']['rps_vs_django']:.1f} sequential, "
                  f"{_f(conc.get('brisk', {}).get('rps_vs_django'), '{:.1f}')} concurrent. No COUNT in brisk's page "
                  "either, but a page of a search that few rows match cannot stop early: brisk walks the key index "
                  "from the newest row until it has 101 matches or reaches the end, reading up to every row (times "
                  "below)."]
    lines.append("")
    q = result["queries"]
    lines += ["## Statements per page", "",
              "Counted by a PostgreSQL protocol proxy in the harness (each simple Query and each Execute is one "
              "statement), over " + f"{cfg['count_requests']} requests of each page after 2 warm-up requests, "
              "with the session cookie of a logged-in superuser. `pg_stat_statements` is not loaded on this server "
              "(it needs `shared_preload_libraries` and a restart).", "",
              "| page | " + " | ".join(servers[s]["label"] for s in q) + " |",
              "|---|" + "---:|" * len(q)]
    for page in PAGE_LABELS:
        cells = []
        for s in q:
            p = q[s]["pages"].get(page)
            if not p:
                cells.append("–")
                continue
            n = p["statements"]
            text = str(n[0]) if len(set(n)) == 1 else f"{min(n)}–{max(n)}"
            c, full = len(p["counts"]), len(p["full_table_counts"])
            text += f" ({c} COUNT" + (f", {full} of the whole table" if full else "") + ")" if c else " (no COUNT)"
            cells.append(text)
        lines.append(f"| {PAGE_LABELS[page]} | " + " | ".join(cells) + " |")
    lines.append("")
    django = q.get("django", {}).get("pages", {})
    counts = [(page, s) for page in PAGE_LABELS if page in django for s in django[page]["counts"]]
    if counts:
        lines += ["**The finding: Django's admin counts.** Its paginator counts the filtered rows, and "
                  "`show_full_result_count` (on by default) counts the whole table for the \"N of M\" beside the "
                  "search box, on every list page; with a search term each count reads every row of the table "
                  "(a substring search uses no index). The COUNT statements of one request:", ""]
        for page, s in counts:
            lines.append(f"- {PAGE_LABELS[page]}: `{_sql(s)}`")
        plans = q.get("django", {}).get("count_plans")
        if plans:
            lines += ["", f"Each of them run alone on the {cfg['items']:,} rows (`EXPLAIN (ANALYZE, TIMING OFF)`, best of 3):", ""]
            lines += [f"- {p['ms']:,.1f} ms — {p['plan']} — `{_sql(p['sql'], 200)}`" for p in plans]
        lines.append("")
    lines += ["## Time per page", ""]
    for page in MEASURED:
        lines += [f"### {PAGE_LABELS[page]}", "",
                  "| server | path | mode | req/s | ×Django | p50 ms | p99 ms | server CPU µs/req | PostgreSQL CPU µs/req "
                  "| bytes/page | peak RSS MiB | req/s per round |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for mode in ("sequential", "concurrent"):
            for s in servers:
                c = summary.get(page, {}).get(mode, {}).get(s)
                if not c:
                    continue
                conns = 1 if mode == "sequential" else cfg["connections"]
                lines.append(
                    f"| {servers[s]['label']} | `{q.get(s, {}).get('pages', {}).get(page, {}).get('path', '')}` | "
                    f"{mode} ({conns} conn.) | {_f(c['rps'], '{:,.1f}')} | {_f(c.get('rps_vs_django'), '{:.1f}')} | "
                    f"{_f(c['p50_us'] and c['p50_us'] / 1000, '{:.2f}')} | {_f(c['p99_us'] and c['p99_us'] / 1000, '{:.2f}')} | "
                    f"{_f(c['cpu_us_per_req'])} | {_f(c['pg_cpu_us_per_req'])} | {_f(c['bytes_per_response'])} | "
                    f"{_f(c['peak_rss_kib'] / 1024, '{:.1f}')} | " + ", ".join(f"{v:,.1f}" for v in c["rps_rounds"]) + " |")
        lines.append("")
    lines += ["## The SQL of one request of each page", ""]
    for s in q:
        for page in PAGE_LABELS:
            p = q[s]["pages"].get(page)
            if p:
                lines += [f"<details><summary>{servers[s]['label']}, {PAGE_LABELS[page]}: {len(p['sql'])} statements"
                          "</summary>", "", *[f"{i}. `{_sql(x)}`" for i, x in enumerate(p["sql"], 1)], "",
                          "</details>", ""]
    lines += ["## Setup", "", "| server | peer | version | database | migrate s | load s | item table |",
              "|---|---|---|---|---:|---:|---|"]
    for s in servers.values():
        db = s.get("database", {})
        lines.append(f"| {s['label']} | `{s['peer']}` | {s.get('version', '')} | {db.get('database', '')} | "
                     f"{_f(db.get('migrate_s'), '{:.1f}')} | {_f(db.get('load_s'), '{:.1f}')} | {db.get('item_table_size', '')} |")
    lines.append("")
    if result["problems"]:
        lines += ["## Problems", ""] + [f"- {p}" for p in result["problems"]] + [""]
    lines += [
        "## How to read this",
        "",
        "- The same rows in both databases, loaded by the same SQL after each framework's migrations made its tables "
        "(identical: `bench_supplier`, `bench_item` with a bigint identity key, varchar(100) name, double precision "
        f"price, boolean in_stock, an indexed bigint supplier_id), then `VACUUM ANALYZE`. Item i is named "
        f"\"noun word i\" (`{item_name(1)}`, `{item_name(2)}` ...: one in 10 a {NOUNS[1]}), in stock unless i is a "
        f"multiple of 3, supplied by supplier 1 + i mod {SUPPLIERS}: the search matches one item in 15 "
        f"(about {cfg['items'] // 15:,} of {cfg['items']:,}).",
        "- Both admins as configured: `list_display` name, price, in_stock, supplier (Django: `list_select_related`, "
        "one join; brisk: one query for the page's suppliers), `search_fields` name (icontains), `list_filter` "
        "in_stock, 100 rows a page, newest key first (both defaults). Sessions in the database in both. Before "
        "anything is measured each page is checked: the 100 expected items in order, each with its supplier.",
        "- sequential: one connection, one request at a time: requests/s is 1 ÷ the time of a page (server and "
        "database together). concurrent: several connections; PostgreSQL runs on both cores, so the server's "
        "core is not the only limit.",
        "- req/s and latency: the best round; CPU µs/req: the least of the rounds — the server's own (all its "
        "threads and processes, /proc/PID/stat) and every postgres process's (other users of this PostgreSQL add "
        "to it).",
        "- Peers and how they are set up: `bench/README.md`, \"The admin suite\".",
        "",
    ]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    import bench  # noqa: PLC0415
    lock = bench.lock_versions(BENCH / "Cargo.lock", ["hyper", "minijinja", "tokio-postgres"]) \
        if (BENCH / "Cargo.lock").exists() else {}
    out = {"brisk": f"brisk-admin (this tree), minijinja {lock.get('minijinja', '?')}, "
                    f"tokio-postgres {lock.get('tokio-postgres', '?')}, hyper {lock.get('hyper', '?')}"}
    if (VENV / "bin" / "python").exists():
        freeze = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
        pins = dict(line.split("==", 1) for line in freeze.splitlines() if "==" in line)
        out["django"] = (f"Django {pins.get('Django')}, psycopg {pins.get('psycopg')}, gunicorn {pins.get('gunicorn')} "
                         f"(gthread, 1 worker, 4 threads), Python {platform.python_version()}")
    return out


def command(cfg: dict, smoke: bool) -> str:
    env = [f"BENCH_SERVERS={','.join(cfg['servers'])}"] if cfg["servers"] != [s.name for s in SERVERS] else []
    env += [f"BENCH_{k}={os.environ[f'BENCH_{k}']}" for k in ("ITEMS", "ROUNDS", "DURATION", "CONNECTIONS")
            if os.environ.get(f"BENCH_{k}")]
    return " ".join(env + ["bench/run --admin" + (" --smoke" if smoke else "")])


def validate(result: dict, cfg: dict) -> list[str]:
    errors = list(result["problems"])
    seen = {(r["server"], r["page"], r["mode"]) for r in result["runs"] if r["ok"]}
    for s in cfg["servers"]:
        for page in MEASURED:
            for mode in ("sequential", "concurrent"):
                if (s, page, mode) not in seen:
                    errors.append(f"no successful run for {s} {page} {mode}")
        if not result["queries"].get(s, {}).get("pages"):
            errors.append(f"no statements counted for {s}")
    return errors


def main(smoke: bool) -> int:
    import bench  # noqa: PLC0415  machine(), main_commit(): shared with the HTTP suite

    cfg = config(smoke)
    started = time.monotonic()
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    logs = BENCH / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("admin-*.log"):
        old.unlink()
    ensure_wrk()
    servers = [s for s in SERVERS if s.name in cfg["servers"]]
    if any(s.kind == "python" for s in servers):
        ensure_venv()
    commit = bench.main_commit()
    built_at = datetime.now(timezone.utc).strftime("%H:%M UTC")
    for s in servers:
        if s.kind == "rust":
            log(f"building {s.package} ({cfg['profile']}, bench workspace)")
            # Named after its package: servers.in_main() sends servers named brisk* to the main
            # workspace, and admin-brisk lives in bench's.
            build = Server(s.package, s.label, "rust", package=s.package)
            s.build["build_s"] = round(cargo_build(build, cfg["profile"]), 1)
            s.binary = binary_path(build, cfg["profile"])
            s.build["binary_bytes"] = s.binary.stat().st_size

    state = {"runs": [], "problems": [], "idle_rss": {}, "quiet_left": cfg["quiet_budget_s"]}
    queries: dict = {}
    databases: dict = {}
    created: list[str] = []

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old_term = signal.signal(signal.SIGTERM, interrupted)
    try:
        ensure_postgres()
        for s in servers:
            name = f"brisk_admin_bench_{os.getpid()}_{s.name}"
            created.append(name)
            databases[s.name] = prepare_database(s, name, cfg["items"], logs)
        # Counted and checked first: a server whose pages are wrong is not measured.
        ready = []
        for s in servers:
            try:
                log(f"counting the statements of {s.name}'s pages (through the protocol proxy)")
                queries[s.name] = count_queries(cfg, s, logs)
                found = [x for p in queries[s.name]["pages"].values() for x in p["counts"]]
                if found:
                    queries[s.name]["count_plans"] = explain_counts(databases[s.name]["database"], found)
                ready.append(s)
            except (ServerError, OSError, ValueError) as e:
                state["problems"].append(f"check, {s.name}: {e}")
                log(f"  PROBLEM {state['problems'][-1]}")
        load_before = measure.loadavg()
        for rnd in range(1, cfg["rounds"] + 1):
            order = ready if rnd % 2 else list(reversed(ready))
            for s in order:
                try:
                    measure_one(cfg, rnd, s, logs, state)
                except (ServerError, measure.WrkError, OSError, ValueError) as e:
                    state["problems"].append(f"round {rnd}, {s.name}: {e}")
                    log(f"  PROBLEM {state['problems'][-1]}")
        load_after = measure.loadavg()
        postgres = psql("SHOW server_version").strip()
    finally:
        signal.signal(signal.SIGTERM, old_term)
        for name in created:
            drop_pg(name)

    summary = summarize(state["runs"])
    foreign = [r["foreign_pct"] for r in state["runs"]]
    vers = versions()
    m = bench.machine()
    result = {
        "schema": 1,
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "smoke" if smoke else "full",
            "command": command(cfg, smoke),
            "machine": f"{m['cpu']} ({m['cores']} cores), {m['memory_gib']:.0f} GiB, Linux {m['kernel']}, {m['rustc']}, "
                       f"Python {m['python']}, {m['wrk'].split(' Copyright')[0]}",
            "postgres": postgres,
            "config": cfg,
            "main_commit": f"{commit} (built {built_at})",
            "elapsed_min": (time.monotonic() - started) / 60,
            "interference": {
                "load_before": load_before, "load_after": load_after,
                "median_foreign_pct": median(foreign) if foreign else 0.0, "max_foreign_pct": max(foreign, default=0.0),
                "disturbed": sum(1 for f in foreign if f > cfg["quiet_threshold_pct"]), "runs": len(foreign),
            },
            "note": os.environ.get("BENCH_NOTE", ""),
        },
        "servers": [{"name": s.name, "label": s.label, "package": s.package, "peer": f"bench/peers/{s.peer}",
                     "version": vers.get(s.name, ""), "build": s.build, "database": databases.get(s.name, {}),
                     "idle_rss_kib": sorted(v)[len(v) // 2] if (v := state["idle_rss"].get(s.name)) else None}
                    for s in servers],
        "queries": queries,
        "summary": summary,
        "runs": state["runs"],
        "problems": state["problems"],
    }
    result["goals"] = goals(summary, queries)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "admin-latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "admin-latest.md").write_text(markdown(result))
    log(f"wrote {out_dir / 'admin-latest.md'} and admin-latest.json in {(time.monotonic() - started) / 60:.1f} min")

    failures = validate(result, cfg) if smoke else state["problems"]
    for f in failures:
        print(f"bench --admin: FAILED: {f}", file=sys.stderr)
    if smoke:
        print(f"bench-admin-smoke: {sum(1 for r in result['runs'] if r['ok'])} passed, {len(failures)} failed")
    return 1 if failures else 0


def rewrite_report(smoke: bool) -> int:
    """Rewrites admin-latest.md (figures, goals) from admin-latest.json."""
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    result = json.loads((out_dir / "admin-latest.json").read_text())
    result["summary"] = summarize(result["runs"])
    result["goals"] = goals(result["summary"], result["queries"])
    (out_dir / "admin-latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "admin-latest.md").write_text(markdown(result))
    log(f"rewrote {out_dir / 'admin-latest.md'} from admin-latest.json")
    return 0
