"""bench/run: brisk's showcase against raw hyper, axum, actix-web, FastAPI, Flask and Django.

Installs what it needs, builds everything, then for each round, endpoint and server (servers
interleaved): starts the server pinned to one core, checks it against the items contract,
warms it up, and runs wrk pinned to the other core unpipelined and pipelined. Writes
results/latest.md and results/latest.json (or results/smoke/ with --smoke).
See bench/README.md."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402
import report  # noqa: E402
from servers import BENCH, MAIN, SERVERS, VENV, Running, ServerError, Server  # noqa: E402
from servers import binary_path, cargo_build, check_contract, ensure_venv, ensure_wrk, free_port, in_main, log  # noqa: E402

ENDPOINTS = {
    # name: (method, path, body file)
    "plaintext": ("GET", "/plaintext", None),
    "json": ("GET", "/json", None),
    "get_item": ("GET", "/items/1?q=bench", None),
    "post_item": ("POST", "/items", str(BENCH / "wrk" / "item.json")),
}
SCRIPT = str(BENCH / "wrk" / "bench.lua")


def config(smoke: bool) -> dict:
    d = {
        "duration_s": measure.env_num("BENCH_DURATION", 1 if smoke else 6),
        "warmup_s": measure.env_num("BENCH_WARMUP", 1 if smoke else 2),
        "rounds": int(measure.env_num("BENCH_ROUNDS", 1 if smoke else 2)),
        "connections": int(measure.env_num("BENCH_CONNECTIONS", 64)),
        "depth": int(measure.env_num("BENCH_DEPTH", 16)),
        "server_core": int(measure.env_num("BENCH_SERVER_CORE", 0)),
        "wrk_core": int(measure.env_num("BENCH_WRK_CORE", 1)),
        "host": "127.0.0.1",
        "port": int(measure.env_num("BENCH_PORT", 18400)),
        # Before each run, wait (up to this many seconds in all) while other processes keep a
        # pinned core busier than the threshold.
        "quiet_budget_s": measure.env_num("BENCH_QUIET_BUDGET", 0 if smoke else 90),
        "quiet_threshold_pct": measure.env_num("BENCH_QUIET_THRESHOLD", 15),
        "profile": os.environ.get("BENCH_PROFILE", "dev" if smoke else "release"),
        "servers": os.environ.get("BENCH_SERVERS", "brisk,brisk-items,hyper" if smoke else ",".join(s.name for s in SERVERS)).split(","),
        "endpoints": os.environ.get("BENCH_ENDPOINTS", ",".join(ENDPOINTS)).split(","),
        # Server and wrk run at this niceness, process and scheduler autogroup (root only), so that
        # other processes on the machine (other people's builds) yield the pinned cores to them.
        "nice": int(measure.env_num("BENCH_NICE", -20 if os.geteuid() == 0 else 0)),
        "cold_build": os.environ.get("BENCH_COLD_BUILD", "0" if smoke else "1"),
    }
    unknown = set(d["servers"]) - {s.name for s in SERVERS} | set(d["endpoints"]) - set(ENDPOINTS)
    if unknown:
        sys.exit(f"bench: unknown server or endpoint: {', '.join(sorted(unknown))}")
    return d


# --- builds ---------------------------------------------------------------------------------------

def rustc_version() -> str:
    return subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()


def lock_versions(lock: Path, names: list[str]) -> dict[str, str]:
    """Versions of some packages in a Cargo.lock (the first of each name)."""
    out, current = {}, None
    for line in lock.read_text().splitlines():
        if line.startswith("name = "):
            current = line.split('"')[1]
        elif line.startswith("version = ") and current in names and current not in out:
            out[current] = line.split('"')[1]
    return out


def cold_build_time(server: Server, mode: str) -> dict:
    """Release build of the server and its dependencies from an empty target dir (crates already
    downloaded). Cached in bench/target/build-times.json per Cargo.lock and rustc version;
    BENCH_COLD_BUILD=force measures again, 0 only reads the cache."""
    lock = (MAIN if in_main(server) else BENCH) / "Cargo.lock"
    key = "|".join([server.name, hashlib.sha256(lock.read_bytes()).hexdigest()[:16], rustc_version()])
    cache_path = BENCH / "target" / "build-times.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if key in cache and mode != "force":
        return cache[key]
    if mode == "0":
        return {}
    target = BENCH / "target" / "cold" / server.name
    shutil.rmtree(target, ignore_errors=True)
    log(f"cold release build of {server.name} (own target dir) to time it")
    load = measure.loadavg()
    seconds = cargo_build(server, "release", target_dir=target)
    shutil.rmtree(target, ignore_errors=True)
    entry = {"seconds": round(seconds, 1), "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
             "load_before": load}
    cache[key] = entry
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(cache, indent=2))
    return entry


def build_all(servers: list[Server], cfg: dict) -> None:
    for server in servers:
        if server.kind != "rust":
            continue
        log(f"building {server.name} ({cfg['profile']})")
        server.build["build_s"] = round(cargo_build(server, cfg["profile"]), 1)
        server.binary = binary_path(server, cfg["profile"])
        if not server.binary.exists():
            raise ServerError(f"{server.name}: built, but {server.binary} is missing")
        server.build["binary_bytes"] = server.binary.stat().st_size
    if cfg["profile"] == "release":
        for server in servers:
            if server.kind == "rust":
                entry = cold_build_time(server, cfg["cold_build"])
                if entry:
                    server.build["cold_release_s"] = entry["seconds"]
                    note = f"measured {entry['measured']}"
                    if entry.get("load_before", 0) > 0.5:
                        note += f", load {entry['load_before']:.1f} before (other builds running)"
                    server.build["cold_release_note"] = note


def versions(servers: list[Server]) -> dict[str, str]:
    peers = lock_versions(BENCH / "Cargo.lock", ["hyper", "axum", "actix-web"]) if (BENCH / "Cargo.lock").exists() else {}
    main = lock_versions(MAIN / "Cargo.lock", ["hyper"])
    out = {
        "brisk": f"showcase on hyper {main.get('hyper', '?')}",
        "brisk-items": f"examples/items on hyper {main.get('hyper', '?')}",
        "hyper": f"hyper {peers.get('hyper', '?')}",
        "axum": f"axum {peers.get('axum', '?')}",
        "actix": f"actix-web {peers.get('actix-web', '?')}",
    }
    if any(s.kind == "python" for s in servers) and (VENV / "bin" / "python").exists():
        freeze = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
        pins = dict(line.split("==", 1) for line in freeze.splitlines() if "==" in line)
        py = platform.python_version()
        out["fastapi"] = f"FastAPI {pins.get('fastapi')}, uvicorn {pins.get('uvicorn')}, uvloop {pins.get('uvloop')}, httptools {pins.get('httptools')}, Python {py}"
        out["flask"] = f"Flask {pins.get('Flask')}, gunicorn {pins.get('gunicorn')} (gthread), Python {py}"
        out["django"] = f"Django {pins.get('Django')}, gunicorn {pins.get('gunicorn')} (gthread), Python {py}"
    return out


# --- measuring -------------------------------------------------------------------------------------

class Bench:
    def __init__(self, cfg: dict, logs: Path):
        self.cfg, self.logs = cfg, logs
        self.runs: list[dict] = []
        self.idle_rss: dict[str, list[int]] = {}
        self.problems: list[str] = []
        self.quiet_left = cfg["quiet_budget_s"]
        self.nice = cfg["nice"]

    def wait_quiet(self, ours: list[int]) -> None:
        cores = [self.cfg["server_core"], self.cfg["wrk_core"]]
        while self.quiet_left > 0:
            load = measure.foreign_load(cores, 0.5, ours)
            if max(load.values()) * 100 <= self.cfg["quiet_threshold_pct"]:
                return
            self.quiet_left -= 2.5
            time.sleep(2)

    def one_server(self, rnd: int, endpoint: str, server: Server) -> None:
        cfg = self.cfg
        port = free_port(cfg["host"], cfg["port"])
        running = Running(server, cfg["host"], port, cfg["server_core"], self.logs / f"{server.name}.log",
                          self.nice)
        try:
            running.wait_ready()
            check_contract(running)
            time.sleep(0.3)
            tree = measure.process_tree(running.pid)
            self.idle_rss.setdefault(server.name, []).append(measure.rss_kib(tree))
            method, path, body = ENDPOINTS[endpoint]
            url = f"http://{cfg['host']}:{port}{path}"
            wrk = dict(url=url, method=method, body_file=body, connections=cfg["connections"],
                       core=cfg["wrk_core"], script=SCRIPT, nice=self.nice)
            if cfg["warmup_s"] > 0:
                measure.run_wrk(depth=1, seconds=cfg["warmup_s"], **wrk)
            for mode, depth in (("plain", 1), ("pipelined", cfg["depth"])):
                tree = measure.process_tree(running.pid)
                self.wait_quiet(tree)
                reset_ok = measure.reset_peak_rss(tree)
                cores0 = measure.core_user_ticks()
                user0, ticks0, load0 = measure.process_user_ticks(tree), measure.cpu_ticks(tree), measure.loadavg()
                t0 = time.monotonic()
                res = measure.run_wrk(depth=depth, seconds=cfg["duration_s"], **wrk)
                wall = time.monotonic() - t0
                tree = measure.process_tree(running.pid)
                ticks, user = measure.cpu_ticks(tree) - ticks0, measure.process_user_ticks(tree) - user0
                cores1 = measure.core_user_ticks()
                span = wall * measure.CLK_TCK
                foreign = max(
                    (cores1[cfg["server_core"]] - cores0[cfg["server_core"]] - user) / span,
                    (cores1[cfg["wrk_core"]] - cores0[cfg["wrk_core"]] - res.wrk_user_s * measure.CLK_TCK) / span,
                )
                cpu_s = ticks / measure.CLK_TCK
                run = {
                    "round": rnd, "server": server.name, "endpoint": endpoint, "mode": mode, "depth": depth,
                    "ok": res.requests > 0 and res.error_count == 0,
                    "requests": res.requests, "duration_s": res.duration_s, "rps": res.rps,
                    # wrk's coordinated-omission correction assumes one request in flight per
                    # connection; under pipelining it invents samples (and p99 comes out 0), so
                    # pipelined runs report the mean batch round trip by Little's law instead.
                    "latency_us": res.latency_us if depth == 1 else
                    {"batch_mean": cfg["connections"] * depth / res.rps * 1e6 if res.rps else None}, "errors": res.errors, "errors_total": res.error_count,
                    "server_cpu_s": cpu_s,
                    "cpu_us_per_req": cpu_s * 1e6 / res.requests if res.requests else None,
                    "server_cpu_util": cpu_s / res.duration_s if res.duration_s else 0,
                    "wrk_cpu_util": res.wrk_cpu_s / res.duration_s if res.duration_s else 0,
                    "peak_rss_kib": measure.peak_rss_kib(tree), "peak_rss_reset": reset_ok,
                    "foreign_pct": max(0.0, foreign) * 100, "load_before": load0, "load_after": measure.loadavg(),
                }
                self.runs.append(run)
                flag = "" if run["ok"] else f"  ERRORS {res.errors}"
                lat = run["latency_us"].get("p99") or run["latency_us"].get("batch_mean") or 0
                log(f"  r{rnd} {endpoint:9} {server.name:8} {mode:9} {res.rps:>10,.0f} req/s  "
                    f"{'p99' if depth == 1 else 'lat'} {lat / 1000:7.2f} ms  CPU {run['cpu_us_per_req'] or 0:7.2f} µs/req  "
                    f"server {run['server_cpu_util']:4.0%} wrk {run['wrk_cpu_util']:4.0%} "
                    f"other {run['foreign_pct']:3.0f}%{flag}")
                if not run["ok"]:
                    self.problems.append(f"round {rnd}, {server.name} {endpoint} {mode}: {res.requests} responses, "
                                         f"errors {res.errors}")
        finally:
            running.stop()


def machine() -> dict:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "kernel": platform.release(),
            "rustc": rustc_version(), "python": platform.python_version(),
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip()}


def main_commit() -> str:
    head = subprocess.run(["git", "-C", str(MAIN), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(MAIN), "status", "--porcelain", "--", "crates", "examples"],
                           capture_output=True, text=True).stdout.strip()
    return f"`{head}`" + (" plus uncommitted changes in crates/ or examples/" if dirty else "")


def validate_smoke(result: dict, cfg: dict) -> list[str]:
    """What a smoke run must show for the harness to count as working."""
    errors = list(result["problems"])
    expected = {(s, e, m) for s in cfg["servers"] for e in cfg["endpoints"] for m in report.MODES}
    seen = {(r["server"], r["endpoint"], r["mode"]) for r in result["runs"] if r["ok"]}
    errors += [f"no successful run for {s} {e} {m}" for s, e, m in sorted(expected - seen)]
    for r in result["runs"]:
        if r["ok"] and not (r["cpu_us_per_req"] and r["cpu_us_per_req"] > 0 and r["peak_rss_kib"] > 0):
            errors.append(f"{r['server']} {r['endpoint']} {r['mode']}: no CPU or memory figures")
    for name in cfg["servers"]:
        if not result["servers"].get(name, {}).get("idle_rss_kib"):
            errors.append(f"{name}: no idle RSS")
    if "brisk" in cfg["servers"] and "hyper" in cfg["servers"] and not any(g["met"] is not None for g in result["goals"]):
        errors.append("no goal could be evaluated")
    return errors


def rewrite_report(out_dir: Path) -> int:
    result = json.loads((out_dir / "latest.json").read_text())
    result["summary"] = report.summarize(result["runs"])
    inter = result["meta"]["interference"]
    result["meta"]["interference"] = report.interference(
        result["runs"], inter["threshold_pct"], inter["load_before"], inter["load_after"])
    result["goals"] = report.goals(result["summary"], result["servers"])
    (out_dir / "latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "latest.md").write_text(report.markdown(result))
    log(f"rewrote {out_dir / 'latest.md'} from latest.json")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="seconds-long end-to-end check of the harness")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite results/latest.md (and the goals) from results/latest.json")
    parser.add_argument("--db", action="store_true",
                        help="the database suite instead (TechEmpower's /db, /queries, /fortunes, /updates on brisk-orm "
                             "and its peers): results/db-latest.md")
    parser.add_argument("--pages", action="store_true",
                        help="the template-page suite instead (a fortunes page rendered from a template by brisk, "
                             "FastAPI + Jinja2 and Flask + Jinja2): results/pages-latest.md")
    parser.add_argument("--admin", action="store_true",
                        help="the admin suite instead (brisk-admin's list page against Django's admin, a million rows "
                             "on the same PostgreSQL): results/admin-latest.md")
    parser.add_argument("--jobs", action="store_true",
                        help="the background-jobs suite instead (brisk-jobs on PostgreSQL and SQLite against Celery on "
                             "Redis, the same no-op job): results/jobs-latest.md")
    parser.add_argument("--memory", action="store_true",
                        help="the memory suite instead (the showcase's RSS after a newcomer's session, and its speed, "
                             "under glibc, mimalloc and jemalloc): results/memory-latest.md")
    args = parser.parse_args()
    if args.memory:
        import memory
        return memory.rewrite_report(args.smoke) if args.report else memory.main(args.smoke)
    if args.jobs:
        import jobs
        return jobs.rewrite_report(args.smoke) if args.report else jobs.main(args.smoke)
    if args.admin:
        import admin
        return admin.rewrite_report(args.smoke) if args.report else admin.main(args.smoke)
    if args.pages:
        import pages
        return pages.rewrite_report(args.smoke) if args.report else pages.main(args.smoke)
    if args.db:
        import db
        return db.rewrite_report(args.smoke) if args.report else db.main(args.smoke)
    if args.report:
        return rewrite_report(BENCH / "results" / ("smoke" if args.smoke else ""))
    cfg = config(args.smoke)
    started = time.monotonic()
    out_dir = BENCH / "results" / ("smoke" if args.smoke else "")
    logs = BENCH / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()

    if os.cpu_count() < 2 or cfg["server_core"] == cfg["wrk_core"]:
        log("warning: fewer than 2 cores, or server and wrk on the same core: figures will mix the two")
    ensure_wrk()
    servers = [s for s in SERVERS if s.name in cfg["servers"]]
    if any(s.kind == "python" for s in servers):
        ensure_venv()
    build_all(servers, cfg)

    bench = Bench(cfg, logs)
    load_before = measure.loadavg()
    for rnd in range(1, cfg["rounds"] + 1):
        for endpoint in cfg["endpoints"]:
            # Interleave the frameworks; every other round in the opposite order.
            order = servers if rnd % 2 else list(reversed(servers))
            for server in order:
                try:
                    bench.one_server(rnd, endpoint, server)
                except (ServerError, measure.WrkError, OSError, ValueError) as e:
                    bench.problems.append(f"round {rnd}, {endpoint}, {server.name}: {e}")
                    log(f"  PROBLEM {bench.problems[-1]}")
    load_after = measure.loadavg()

    summary = report.summarize(bench.runs)
    vers = versions(servers)
    server_info = {
        s.name: {
            "label": s.label, "kind": s.kind, "version": vers.get(s.name, ""),
            "idle_rss_kib": sorted(bench.idle_rss[s.name])[len(bench.idle_rss[s.name]) // 2] if bench.idle_rss.get(s.name) else None,
            "idle_rss_kib_all": bench.idle_rss.get(s.name, []),
            "build": s.build,
        }
        for s in servers
    }
    result = {
        "schema": 1,
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "smoke" if args.smoke else "full",
            "command": "bench/run" + (" --smoke" if args.smoke else ""),
            "machine": machine(),
            "config": cfg,
            "main_commit": main_commit(),
            "server_order": [s.name for s in servers],
            "elapsed_min": (time.monotonic() - started) / 60,
            "interference": report.interference(bench.runs, cfg["quiet_threshold_pct"], load_before, load_after),
        },
        "servers": server_info,
        "summary": summary,
        "runs": bench.runs,
        "problems": bench.problems,
    }
    result["goals"] = report.goals(summary, server_info)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "latest.md").write_text(report.markdown(result))
    if not args.smoke:
        history = BENCH / "results" / "runs"
        history.mkdir(exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        shutil.copy(out_dir / "latest.json", history / f"{stamp}.json")
    log(f"wrote {out_dir / 'latest.md'} and latest.json in {(time.monotonic() - started) / 60:.1f} min")

    failures = validate_smoke(result, cfg) if args.smoke else bench.problems
    for f in failures:
        print(f"bench: FAILED: {f}", file=sys.stderr)
    if args.smoke:
        passed = sum(1 for r in result["runs"] if r["ok"])
        print(f"bench-smoke: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
