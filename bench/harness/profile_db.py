"""bench/profile-db SERVER TEST: callgrind instructions per request of a database-suite server."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import db  # noqa: E402
from servers import BENCH, ensure_wrk  # noqa: E402


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, test = sys.argv[1], sys.argv[2]
    server = next((s for s in db.SERVERS if s.name == name and s.kind == "rust"), None)
    if server is None or test not in db.ENDPOINTS or server.backend not in db.ENDPOINTS[test][1]:
        print(f"unknown server or test (or a test this server's backend does not run): {name} {test}", file=sys.stderr)
        return 2
    # PROFILE_BINARY: another build of the server's package (a copy kept from before a change).
    binary = Path(os.environ.get("PROFILE_BINARY") or BENCH / "target" / "release" / server.package)
    if not binary.exists():
        print(f"{binary} is not built: run bench/run --db first", file=sys.stderr)
        return 1
    ensure_wrk()
    seconds = int(os.environ.get("PROFILE_SECONDS", "5"))
    connections = int(os.environ.get("PROFILE_CONNECTIONS", "8"))
    port = int(os.environ.get("PROFILE_PORT", "18651"))
    out = BENCH / "target" / "profile"
    out.mkdir(parents=True, exist_ok=True)
    file = out / f"callgrind.db.{name}.{test}"
    for old in out.glob(f"callgrind.db.{name}.{test}*"):
        old.unlink()
    pg_name = f"brisk_bench_profile_{os.getpid()}"
    folder = tempfile.mkdtemp(prefix="brisk-bench-db-")
    created = False
    vg = None
    try:
        if server.backend == "pg":
            db.ensure_postgres()
            url = db.create_pg(pg_name)
            created = True
        else:
            url = db.create_sqlite(folder)
        env = dict(os.environ, PORT=str(port), WORKERS="1", RUST_LOG="warn", DATABASE_URL=url, DB_DRIVER=server.driver)
        env.pop("HOST", None)  # valgrind and vgdb name their pipes after $HOST
        # PROFILE_CACHE=1: callgrind's cache simulation too (L1 and last-level misses per request:
        # what instruction counts miss when two servers run as many instructions at unequal CPU).
        cache = ["--cache-sim=yes"] if os.environ.get("PROFILE_CACHE") == "1" else []
        vg = subprocess.Popen(["valgrind", "--tool=callgrind", *cache, "--instr-atstart=no", f"--callgrind-out-file={file}",
                               str(binary)], env=env, stdout=open(out / f"db.{name}.valgrind.log", "wb"),
                              stderr=subprocess.STDOUT)
        url_base = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                urllib.request.urlopen(url_base + "/db", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        # Warm the statement caches and connections before counting.
        for _ in range(50):
            urllib.request.urlopen(url_base + db.ENDPOINTS[test][0], timeout=5).read()
        subprocess.run(["callgrind_control", "-i", "on", str(vg.pid)], capture_output=True)
        res = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(BENCH / "wrk" / "bench.lua"),
                              url_base + db.ENDPOINTS[test][0], "--", "GET", "1", ""], capture_output=True, text=True)
        subprocess.run(["callgrind_control", "-i", "off", str(vg.pid)], capture_output=True)
        subprocess.run(["callgrind_control", "-d", str(vg.pid)], capture_output=True)
        requests = int(res.stdout.split('"requests":')[1].split(",")[0])
    finally:
        if vg is not None:
            vg.terminate()
            vg.wait()
        if created:
            db.drop_pg(pg_name)
    dump = sorted(out.glob(f"callgrind.db.{name}.{test}.*"))[-1]
    lines = dump.read_text(errors="replace").splitlines()
    events = next(line.split()[1:] for line in lines if line.startswith("events:"))
    totals = dict(zip(events, (int(v) for v in next(line.split()[1:] for line in lines if line.startswith("totals:")))))
    total = totals["Ir"]
    print(f"{name} {test}: {requests} requests, {total:,} instructions, {total // requests:,} instructions/request")
    if len(totals) > 1:
        # Dr/Dw: data reads and writes; D1mr/D1mw: their L1 misses; DLmr/DLmw: last-level misses.
        print("per request: " + ", ".join(f"{k} {v // requests:,}" for k, v in totals.items() if k != "Ir"))
    for flag, title in (("no", "exclusive"), ("yes", "inclusive")):
        ann = subprocess.run(["callgrind_annotate", f"--inclusive={flag}", str(dump)], capture_output=True, text=True).stdout
        lines = ann.split("file:function", 1)[-1].splitlines()[2:32 if flag == "no" else 52]
        print(f"--- top functions, {title}")
        for line in lines:
            print(line[:170])
    return 0


if __name__ == "__main__":
    sys.exit(main())
