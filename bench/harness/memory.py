"""bench/run --memory: the showcase's resident memory after a newcomer's session, and its speed,
under glibc's malloc (as the showcase sets it up: `brisk::memory::map_large_blocks`), glibc with
two arenas, mimalloc and jemalloc (with and without its background thread) (issue 13, item 10).

Each variant is the release showcase (`--features mimalloc`, `--features jemalloc`, or neither;
the glibc variants are one binary, run with and without MALLOC_ARENA_MAX=2). Per round, variants
interleaved (every other round reversed):

- memory: a fresh showcase (its own SQLite file), idle RSS after a few requests, then the
  session of reliability/scripts/newcomer.py (20 parallel Argon2id logins, 3 MB JSON bodies read
  and refused, a 4 MB WebSocket message echoed and a 20 MB frame refused), the RSS right after it,
  and again after BENCH_MEMORY_QUIET seconds (10) of nothing;
- speed: a fresh showcase pinned to one core, wrk (1 thread, 64 connections, unpipelined) on the
  other, on `GET /json` and `GET /items/1`: requests/s and the server's CPU per request.

Writes results/memory-latest.md and .json (results/smoke/ with --smoke), the ratios against
glibc measured in the same run. See bench/README.md, "The memory suite"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from statistics import median

import measure
from servers import BENCH, MAIN, check_contract, ensure_wrk, log, Running, Server, ServerError, free_port

sys.path.insert(0, str(MAIN / "reliability" / "scripts"))
import newcomer  # noqa: E402

SCRIPT = str(BENCH / "wrk" / "bench.lua")
ENDPOINTS = {"json": "/json", "get_item": "/items/1?q=bench"}

# name: (label, cargo features, environment)
VARIANTS = {
    "glibc": ("glibc malloc (the default; map_large_blocks)", "", {}),
    "glibc-arenas2": ("glibc malloc, MALLOC_ARENA_MAX=2", "", {"MALLOC_ARENA_MAX": "2"}),
    "mimalloc": ("mimalloc (--features mimalloc)", "mimalloc", {}),
    "jemalloc": ("jemalloc (--features jemalloc)", "jemalloc", {}),
    # jemalloc purges freed pages as it allocates; with no allocations (a quiet server) only its
    # background thread does.
    "jemalloc-bg": ("jemalloc, background_thread:true", "jemalloc", {"_RJEM_MALLOC_CONF": "background_thread:true"}),
}


def config(smoke: bool) -> dict:
    d = {
        "duration_s": measure.env_num("BENCH_DURATION", 1 if smoke else 5),
        "warmup_s": measure.env_num("BENCH_WARMUP", 1 if smoke else 1),
        "rounds": int(measure.env_num("BENCH_ROUNDS", 1 if smoke else 2)),
        "quiet_s": measure.env_num("BENCH_MEMORY_QUIET", 3 if smoke else 10),
        "connections": int(measure.env_num("BENCH_CONNECTIONS", 64)),
        "server_core": int(measure.env_num("BENCH_SERVER_CORE", 0)),
        "wrk_core": int(measure.env_num("BENCH_WRK_CORE", 1)),
        "host": "127.0.0.1",
        "port": int(measure.env_num("BENCH_PORT", 18400)),
        "profile": os.environ.get("BENCH_PROFILE", "dev" if smoke else "release"),
        "variants": os.environ.get("BENCH_VARIANTS", ",".join(VARIANTS)).split(","),
        "nice": int(measure.env_num("BENCH_NICE", -20 if os.geteuid() == 0 else 0)),
    }
    unknown = set(d["variants"]) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"bench --memory: unknown variant: {', '.join(sorted(unknown))} (known: {', '.join(VARIANTS)})")
    return d


def build(features: str, profile: str, into: Path) -> tuple[Path, float]:
    """The showcase built with `features`, copied to `into` (each feature set is a separate
    binary; cargo overwrites target/*/showcase at every build)."""
    argv = ["cargo", "build", "-p", "showcase"] + (["--release"] if profile == "release" else [])
    argv += ["--features", features] if features else []
    start = time.monotonic()
    subprocess.run(argv, cwd=MAIN, check=True)
    took = time.monotonic() - start
    target = Path(os.environ.get("CARGO_TARGET_DIR", MAIN / "target"))
    built = target / ("release" if profile == "release" else "debug") / "showcase"
    into.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(built, into)
    return into, took


def memory_run(cfg: dict, rnd: int, name: str, binary: Path, logs: Path) -> dict:
    env = VARIANTS[name][2]
    with open(logs / f"memory-{name}.log", "ab") as log_file:
        figures = newcomer.measure(str(binary), env, quiet_s=cfg["quiet_s"], log=log_file)
    one = figures["rounds"][0]
    run = {"round": rnd, "variant": name, "kind": "memory", "idle": figures["idle"], "peak": one["peak"],
           "after": one["after"], "trace_rss_kib": one["trace_rss_kib"], "answers": one["answers"],
           "wrong": one["wrong"], "session_s": one["session_s"]}
    run["after_over_idle"] = run["after"]["rss_kib"] / run["idle"]["rss_kib"]
    log(f"  r{rnd} {name:14} memory: idle {run['idle']['rss_kib'] / 1024:6.1f} MiB  after session "
        f"{run['peak']['rss_kib'] / 1024:6.1f}  (peak {run['peak']['hwm_kib'] / 1024:6.1f})  after {cfg['quiet_s']:.0f} s "
        f"{run['after']['rss_kib'] / 1024:6.1f}  = {run['after_over_idle']:.2f}x idle  session {run['session_s']:.1f} s"
        + (f"  WRONG {run['wrong']}" if run["wrong"] else ""))
    return run


class Showcase(Server):
    """servers.Running's view of one variant: its binary and its environment."""

    def __init__(self, name: str, binary: Path):
        super().__init__(f"brisk-{name}", VARIANTS[name][0], "rust", package="showcase", cwd=MAIN, binary=binary)
        self.extra_env = VARIANTS[name][2]

    def command(self, host: str, port: int) -> tuple[list[str], dict]:
        argv, env = super().command(host, port)
        env.update(self.extra_env)
        return argv, env


def speed_runs(cfg: dict, rnd: int, name: str, binary: Path, logs: Path) -> list[dict]:
    runs = []
    server = Showcase(name, binary)
    port = free_port(cfg["host"], cfg["port"])
    running = Running(server, cfg["host"], port, cfg["server_core"], logs / f"memory-{name}.log", cfg["nice"])
    try:
        running.wait_ready()
        check_contract(running)
        for endpoint, path in ENDPOINTS.items():
            wrk = dict(url=f"http://{cfg['host']}:{port}{path}", method="GET", body_file=None,
                       connections=cfg["connections"], core=cfg["wrk_core"], script=SCRIPT, nice=cfg["nice"], depth=1)
            if cfg["warmup_s"] > 0:
                measure.run_wrk(seconds=cfg["warmup_s"], **wrk)
            tree = measure.process_tree(running.pid)
            ticks0 = measure.cpu_ticks(tree)
            res = measure.run_wrk(seconds=cfg["duration_s"], **wrk)
            cpu_s = (measure.cpu_ticks(measure.process_tree(running.pid)) - ticks0) / measure.CLK_TCK
            run = {"round": rnd, "variant": name, "kind": "speed", "endpoint": endpoint,
                   "ok": res.requests > 0 and res.error_count == 0, "requests": res.requests, "rps": res.rps,
                   "p99_ms": res.latency_us.get("p99", 0) / 1000,
                   "cpu_us_per_req": cpu_s * 1e6 / res.requests if res.requests else None,
                   "rss_after_kib": measure.rss_kib(measure.process_tree(running.pid)), "load": measure.loadavg()}
            runs.append(run)
            log(f"  r{rnd} {name:14} {endpoint:9} {res.rps:>9,.0f} req/s  CPU {run['cpu_us_per_req'] or 0:6.1f} µs/req"
                f"  p99 {run['p99_ms']:6.2f} ms  RSS {run['rss_after_kib'] / 1024:5.1f} MiB")
    finally:
        running.stop()
    return runs


# --- figures and report --------------------------------------------------------------------------

def summarize(runs: list[dict], variants: list[str]) -> dict:
    """Per variant: the median memory figures over rounds; per endpoint the best requests/s and
    the least CPU per request (interference only adds)."""
    out = {}
    for v in variants:
        mem = [r for r in runs if r["variant"] == v and r["kind"] == "memory"]
        cell = {}
        if mem:
            cell["idle_mib"] = median(r["idle"]["rss_kib"] for r in mem) / 1024
            cell["peak_mib"] = median(r["peak"]["hwm_kib"] for r in mem) / 1024
            cell["after_session_mib"] = median(r["peak"]["rss_kib"] for r in mem) / 1024
            cell["after_quiet_mib"] = median(r["after"]["rss_kib"] for r in mem) / 1024
            cell["after_over_idle"] = median(r["after_over_idle"] for r in mem)
            cell["after_over_idle_rounds"] = [r["after_over_idle"] for r in mem]
            cell["session_s"] = median(r["session_s"] for r in mem)
        for e in ENDPOINTS:
            sp = [r for r in runs if r["variant"] == v and r["kind"] == "speed" and r["endpoint"] == e and r["ok"]]
            if sp:
                cell[e] = {"rps": max(r["rps"] for r in sp), "cpu_us_per_req": min(r["cpu_us_per_req"] for r in sp),
                           "rps_rounds": [r["rps"] for r in sp]}
        out[v] = cell
    return out


def ratios(summary: dict) -> dict:
    """Each variant against glibc (same run): RSS after the quiet ÷ glibc's, requests/s ÷
    glibc's, CPU per request ÷ glibc's."""
    base = summary.get("glibc", {})
    out = {}
    for v, cell in summary.items():
        if v == "glibc" or not base:
            continue
        r = {}
        if cell.get("after_quiet_mib") and base.get("after_quiet_mib"):
            r["after_quiet"] = cell["after_quiet_mib"] / base["after_quiet_mib"]
            r["peak"] = cell["peak_mib"] / base["peak_mib"]
        for e in ENDPOINTS:
            if cell.get(e) and base.get(e):
                r[f"{e}_rps"] = cell[e]["rps"] / base[e]["rps"]
                r[f"{e}_cpu"] = cell[e]["cpu_us_per_req"] / base[e]["cpu_us_per_req"]
        out[v] = r
    return out


def markdown(result: dict) -> str:
    meta, summary, rat = result["meta"], result["summary"], result["ratios"]
    cfg = meta["config"]
    lines = [
        f"# brisk memory benchmark (issue 13, item 10) — {meta['date']}",
        "",
        f"Machine: {meta['machine']}. Run: `{meta['command']}` — {cfg['rounds']} round(s), variants interleaved; "
        f"{meta['elapsed_min']:.1f} min in all. brisk at {meta['main_commit']}. Load average {meta['load_before']:.2f} "
        f"before the runs, {meta['load_after']:.2f} after.",
        "",
        "The session (`reliability/scripts/newcomer.py`, all at once from a thread per request): 20 logins at "
        "brisk-auth's `POST /auth/login` (10 right passwords, 5 wrong, 5 unknown names: each an Argon2id check of "
        "19 MiB), 8 JSON bodies of 3 MB read by `POST /v1/chat/completions` (4 MiB limit; 422 by validation), 8 refused "
        "by `POST /items` (2 MiB: 413), a 4 MB WebSocket message echoed twice and a 20 MB frame refused twice "
        f"(`/ws/echo`). Resident memory (`VmRSS`) of a fresh showcase: idle, right after the session, after "
        f"{cfg['quiet_s']:.0f} s of quiet; peak = `VmHWM`.",
        "",
        "## Memory after the session",
        "",
        "| variant | idle MiB | peak MiB | right after MiB | after the quiet MiB | after ÷ idle (rounds) | ÷ glibc's after |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for v, cell in summary.items():
        if "idle_mib" not in cell:
            continue
        rounds = ", ".join(f"{x:.2f}" for x in cell["after_over_idle_rounds"])
        vs = f"{rat[v]['after_quiet']:.2f}" if v in rat and "after_quiet" in rat[v] else "1"
        lines.append(f"| {VARIANTS[v][0]} | {cell['idle_mib']:.1f} | {cell['peak_mib']:.1f} | "
                     f"{cell['after_session_mib']:.1f} | {cell['after_quiet_mib']:.1f} | {cell['after_over_idle']:.2f}x "
                     f"({rounds}) | {vs} |")
    lines += ["", "## Speed (release showcase pinned to one core, wrk 1 thread, 64 connections, unpipelined)", "",
              "| variant | " + " | ".join(f"`GET {p.split('?')[0]}` req/s | CPU µs/req" for p in ENDPOINTS.values())
              + " | req/s ÷ glibc's | CPU ÷ glibc's |",
              "|---|" + "---:|---:|" * len(ENDPOINTS) + "---|---|"]
    for v, cell in summary.items():
        row = [VARIANTS[v][0]]
        for e in ENDPOINTS:
            row += [f"{cell[e]['rps']:,.0f}", f"{cell[e]['cpu_us_per_req']:.1f}"] if cell.get(e) else ["–", "–"]
        r = rat.get(v, {})
        row.append(" / ".join(f"{r[f'{e}_rps']:.2f}" for e in ENDPOINTS if f"{e}_rps" in r) or "1")
        row.append(" / ".join(f"{r[f'{e}_cpu']:.2f}" for e in ENDPOINTS if f"{e}_cpu" in r) or "1")
        lines.append("| " + " | ".join(row) + " |")
    if result["problems"]:
        lines += ["", "## Problems", ""] + [f"- {p}" for p in result["problems"]]
    lines += ["", "## How to read this", "",
              "- Memory: medians over the rounds; each round a fresh process. \"after ÷ idle\" is what "
              "`reliability/scripts/memory` asserts (at most 2x) for the default build.",
              "- Speed: requests/s, the best round; CPU per request (the server's utime + stime ÷ responses), the "
              "least; the ratios are against glibc's in this run. On this shared 2-core VM a few percent is noise.",
              "- Per-round figures: `memory-latest.json`.", ""]
    return "\n".join(lines)


def main(smoke: bool) -> int:
    import bench  # noqa: PLC0415  machine(), main_commit()

    cfg = config(smoke)
    started = time.monotonic()
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    logs = BENCH / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("memory-*.log"):
        old.unlink()
    ensure_wrk()
    binaries: dict[str, Path] = {}
    builds: dict[str, float] = {}
    for features in dict.fromkeys(VARIANTS[v][1] for v in cfg["variants"]):
        label = features or "glibc"
        log(f"building the showcase ({cfg['profile']}{', --features ' + features if features else ''})")
        path, took = build(features, cfg["profile"], BENCH / "target" / "memory" / f"showcase-{label}")
        builds[label] = round(took, 1)
        for v in cfg["variants"]:
            if VARIANTS[v][1] == features:
                binaries[v] = path
    runs, problems = [], []
    load_before = measure.loadavg()
    for rnd in range(1, cfg["rounds"] + 1):
        order = cfg["variants"] if rnd % 2 else list(reversed(cfg["variants"]))
        for v in order:
            try:
                mem = memory_run(cfg, rnd, v, binaries[v], logs)
                runs.append(mem)
                problems += [f"round {rnd}, {v}: {w}" for w in mem["wrong"]]
                runs += speed_runs(cfg, rnd, v, binaries[v], logs)
            except (ServerError, measure.WrkError, OSError, RuntimeError, ValueError) as e:
                problems.append(f"round {rnd}, {v}: {e}")
                log(f"  PROBLEM {problems[-1]}")
    summary = summarize(runs, cfg["variants"])
    m = bench.machine()
    result = {
        "schema": 1,
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "smoke" if smoke else "full",
            "command": "bench/run --memory" + (" --smoke" if smoke else ""),
            "machine": f"{m['cpu']} ({m['cores']} cores), {m['memory_gib']:.0f} GiB, Linux {m['kernel']}, {m['rustc']}",
            "config": cfg, "main_commit": bench.main_commit(), "builds_s": builds,
            "elapsed_min": (time.monotonic() - started) / 60,
            "load_before": load_before, "load_after": measure.loadavg(),
        },
        "summary": summary,
        "ratios": ratios(summary),
        "runs": runs,
        "problems": problems,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "memory-latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "memory-latest.md").write_text(markdown(result))
    log(f"wrote {out_dir / 'memory-latest.md'} and memory-latest.json in {result['meta']['elapsed_min']:.1f} min")
    for p in problems:
        print(f"bench --memory: FAILED: {p}", file=sys.stderr)
    if smoke:
        ok = sum(1 for r in runs if r["kind"] == "memory" and not r["wrong"]) + sum(
            1 for r in runs if r["kind"] == "speed" and r["ok"])
        print(f"bench-memory-smoke: {ok} passed, {len(problems)} failed")
    return 1 if problems else 0


def rewrite_report(smoke: bool) -> int:
    """Rewrites memory-latest.md from memory-latest.json."""
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    result = json.loads((out_dir / "memory-latest.json").read_text())
    result["summary"] = summarize(result["runs"], result["meta"]["config"]["variants"])
    result["ratios"] = ratios(result["summary"])
    (out_dir / "memory-latest.md").write_text(markdown(result))
    log(f"rewrote {out_dir / 'memory-latest.md'} from memory-latest.json")
    return 0
