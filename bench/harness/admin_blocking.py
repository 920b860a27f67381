"""A manual check beside `bench/run --admin` (not part of it): does one slow admin page hold up
the server's other requests? Prepares a database as the suite does (a million items), starts
one server (pinned to one core, as measured), logs in, and times the plain first page (median
of 10 sequential requests) alone, then while two other connections keep requesting the rare
search (`q=oak 424242`, which reads every row). Drops the database at the end.

    python3 bench/harness/admin_blocking.py brisk     # needs bench/target/release/admin-brisk
    python3 bench/harness/admin_blocking.py django    # needs bench/.venv (bench/run --admin makes both)

See bench/README.md, "Latest admin results"."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import admin  # noqa: E402
from db import drop_pg, ensure_postgres  # noqa: E402
from servers import BENCH, Server, binary_path, log  # noqa: E402


def median_ms(browser: admin.Browser, path: str, n: int = 10) -> float:
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        status, _, _ = browser.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
        times.append((time.monotonic() - t0) * 1000)
    return sorted(times)[n // 2]


def main(name: str) -> int:
    cfg = admin.config(False)
    server = next((s for s in admin.SERVERS if s.name == name), None)
    if server is None:
        raise SystemExit(f"usage: admin_blocking.py {'|'.join(s.name for s in admin.SERVERS)}")
    if server.kind == "rust":
        server.binary = binary_path(Server(server.package, "", "rust", package=server.package), "release")
        if not server.binary.exists():
            raise SystemExit(f"{server.binary} is missing: run bench/run --admin (or cargo build --release -p admin-brisk)")
    logs = BENCH / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    ensure_postgres()
    db_name = f"brisk_admin_blocking_{os.getpid()}"
    try:
        admin.prepare_database(server, db_name, cfg["items"], logs)
        running = admin.start(cfg, server, logs)
        try:
            browser = admin.Browser(cfg["host"], running.port)
            browser.login(server)
            plain, rare = server.pages["plain"], server.pages["rare"]
            alone = median_ms(browser, plain)
            stop = threading.Event()

            def search() -> None:
                other = admin.Browser(cfg["host"], running.port)
                other.cookies = dict(browser.cookies)
                while not stop.is_set():
                    other.request("GET", rare)

            threads = [threading.Thread(target=search) for _ in range(2)]
            for t in threads:
                t.start()
            time.sleep(1)
            beside = median_ms(browser, plain)
            stop.set()
            for t in threads:
                t.join()
            rare_alone = median_ms(browser, rare, 3)
            print(f"{server.label}: first page {alone:.1f} ms alone, {beside:.1f} ms while two rare searches run "
                  f"(a rare search alone: {rare_alone:.0f} ms); medians")
        finally:
            running.stop()
    finally:
        drop_pg(db_name)
    return 0


if __name__ == "__main__":
    log("admin_blocking: a manual check, see its docstring")
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
