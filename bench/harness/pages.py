"""bench/run --pages: a server-rendered HTML page from a template (issue 16), brisk against
FastAPI + Jinja2 and Flask + Jinja2.

The page is TechEmpower's fortunes test without a database: the 12 fortunes of TechEmpower's
table (bench/peers/pages-data/fortunes.json, the rows `bench/run --db` loads into its tables)
held in memory by every server, plus "Additional fortune added at request time.", sorted by
message and rendered through a template file (an HTML table, autoescaped: one fortune is a
`<script>`), `Content-Type: text/html; charset=utf-8`.

- brisk (`peers/pages-brisk`): release build with the `templates` feature (minijinja),
  `Templates::from_dir`, a handler taking `Templates` and returning `tpl.render(...)`.
- FastAPI (`peers/pages-fastapi`): `Jinja2Templates` + `TemplateResponse`; uvicorn with uvloop and
  httptools, one process, no access log (the settings of the items suite's FastAPI peer).
- Flask (`peers/pages-flask`): `render_template`; gunicorn, one gthread worker with 4 threads
  (the items suite's Flask peer).

Before measuring, every server's page is checked: status, content type, the rows parsed back
(escaped, sorted, the added fortune), and the same page as every other server's, modulo
whitespace and the spelling of character references (minijinja writes `&quot;`/`&#x27;`/`&#x2f;`
where MarkupSafe writes `&#34;`/`&#39;` and leaves `/`). Then, per round (servers interleaved,
every other round reversed), each server is pinned to one core, warmed up and measured
unpipelined by wrk (one thread, 64 connections) pinned to the other — TechEmpower's fortunes
test is not pipelined. Writes results/pages-latest.md and .json (results/smoke/ with --smoke).
See bench/README.md, "The page suite"."""

from __future__ import annotations

import html
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from statistics import median

import measure
import report
from servers import (BENCH, GUNICORN, PEERS, VENV, Running, Server, ServerError, binary_path, cargo_build,
                     ensure_venv, ensure_wrk, free_port, log)

SCRIPT = str(BENCH / "wrk" / "bench.lua")
PATH = "/fortunes"
ENDPOINT = "fortunes"  # the runs' endpoint, for report.summarize
ADDED = (0, "Additional fortune added at request time.")
FLASK_GOAL = 15.0  # issue 16: brisk's requests/s at least 15x Flask's
CONTENT_TYPE = re.compile(r"^text/html; ?charset=utf-8$", re.I)


@dataclass
class PageServer(Server):
    peer: str = ""  # its folder under bench/peers


SERVERS = [
    PageServer("brisk", "brisk + minijinja (templates feature)", "rust", package="pages-brisk", peer="pages-brisk"),
    PageServer("fastapi", "FastAPI + Jinja2Templates on uvicorn", "python",
               argv=["{venv}/bin/python", "-m", "uvicorn", "app:app", "--host", "{host}", "--port", "{port}",
                     "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
               cwd=PEERS / "pages-fastapi", peer="pages-fastapi"),
    PageServer("flask", "Flask + Jinja2 (render_template) on gunicorn", "python", argv=GUNICORN + ["app:app"],
               cwd=PEERS / "pages-flask", peer="pages-flask"),
]


def config(smoke: bool) -> dict:
    d = {
        "duration_s": measure.env_num("BENCH_DURATION", 1 if smoke else 6),
        "warmup_s": measure.env_num("BENCH_WARMUP", 1 if smoke else 2),
        "rounds": int(measure.env_num("BENCH_ROUNDS", 1 if smoke else 3)),
        "connections": int(measure.env_num("BENCH_CONNECTIONS", 64)),
        "server_core": int(measure.env_num("BENCH_SERVER_CORE", 0)),
        "wrk_core": int(measure.env_num("BENCH_WRK_CORE", 1)),
        "host": "127.0.0.1",
        "port": int(measure.env_num("BENCH_PORT", 18400)),
        "quiet_budget_s": measure.env_num("BENCH_QUIET_BUDGET", 0 if smoke else 90),
        "quiet_threshold_pct": measure.env_num("BENCH_QUIET_THRESHOLD", 15),
        "profile": os.environ.get("BENCH_PROFILE", "dev" if smoke else "release"),
        "servers": os.environ.get("BENCH_SERVERS", ",".join(s.name for s in SERVERS)).split(","),
        "nice": int(measure.env_num("BENCH_NICE", -20 if os.geteuid() == 0 else 0)),
    }
    unknown = set(d["servers"]) - {s.name for s in SERVERS}
    if unknown:
        raise SystemExit(f"bench --pages: unknown server: {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(s.name for s in SERVERS)})")
    return d


# --- the page and its check --------------------------------------------------------------------

def fortunes() -> list[tuple[int, str]]:
    """The 12 fortunes every server reads, checked against the db suite's copy of TechEmpower's
    table (harness/db.py), so the two suites render the same data."""
    rows = json.loads((PEERS / "pages-data" / "fortunes.json").read_text(encoding="utf-8"))
    rows = [(r["id"], r["message"]) for r in rows]
    try:
        import db  # noqa: PLC0415  (only its FORTUNES)
        table = list(db.FORTUNES)
    except Exception:  # noqa: BLE001  db.py mid-edit must not stop this suite
        return rows
    if rows != table:
        raise SystemExit("bench --pages: peers/pages-data/fortunes.json differs from harness/db.py's FORTUNES")
    return rows


def expected_rows() -> list[tuple[int, str]]:
    return sorted(fortunes() + [ADDED], key=lambda r: r[1])


class _Rows(HTMLParser):
    """The (id, message) cells of the page's table, character references decoded."""

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


def squeeze(text: str) -> str:
    """The page modulo whitespace: none between tags, none at either end."""
    return re.sub(r">\s+<", "><", text.strip())


def canonical(text: str) -> str:
    """The page modulo whitespace and the spelling of character references (`&quot;`, `&#34;`
    and `&#x22;` are one character)."""
    return html.unescape(squeeze(text))


def check_page(run: Running, server: Server) -> dict:
    """Raises ServerError at the first broken rule; returns the page and its facts."""
    def expect(cond: bool, what: str) -> None:
        if not cond:
            raise ServerError(f"{server.name}: {what}")

    status, ctype, body = run.request("GET", PATH)
    expect(status == 200, f"GET {PATH} answered {status} {body[:120]!r}")
    expect(CONTENT_TYPE.match(ctype) is not None, f"GET {PATH} has Content-Type {ctype!r}, not text/html; charset=utf-8")
    text = body.decode("utf-8")
    expect("<script>" not in text and "&lt;script&gt;" in text, f"GET {PATH} did not escape the <script> fortune")
    parser = _Rows()
    parser.feed(text)
    expect(parser.rows == expected_rows(),
           f"GET {PATH} rows {parser.rows[:3]}... differ from the 13 fortunes sorted by message")
    again = run.request("GET", PATH)[2]
    expect(again == body, f"GET {PATH} answered a different page the second time")
    return {"content_type": ctype, "bytes": len(body), "page": text}


def compare_pages(pages: dict[str, str]) -> tuple[list[str], dict]:
    """Every server's page against every other's: problems, and what is equal how."""
    problems, facts = [], {}
    names = list(pages)
    for first, other in ((a, b) for i, a in enumerate(names) for b in names[i + 1:]):
        same_bytes = squeeze(pages[first]) == squeeze(pages[other])
        same_page = canonical(pages[first]) == canonical(pages[other])
        facts[f"{first}|{other}"] = {"bytes_equal_modulo_whitespace": same_bytes,
                                     "equal_modulo_whitespace_and_charrefs": same_page}
        if not same_page:
            a, b = canonical(pages[first]), canonical(pages[other])
            at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append(f"the pages of {first} and {other} differ (modulo whitespace and character-reference "
                            f"spelling) at character {at}: {a[max(0, at - 30):at + 30]!r} vs {b[max(0, at - 30):at + 30]!r}")
    return problems, facts


# --- measuring ---------------------------------------------------------------------------------------

def first_page(cfg: dict, server: PageServer, logs: Path) -> str:
    """Starts the server, checks its page, stops it; returns the page."""
    running = Running(server, cfg["host"], free_port(cfg["host"], cfg["port"]), cfg["server_core"],
                      logs / f"pages-{server.name}.log", cfg["nice"])
    try:
        running.wait_ready(path=PATH)
        return check_page(running, server)["page"]
    finally:
        running.stop()


def measure_one(cfg: dict, rnd: int, server: PageServer, logs: Path, state: dict) -> None:
    port = free_port(cfg["host"], cfg["port"])
    running = Running(server, cfg["host"], port, cfg["server_core"], logs / f"pages-{server.name}.log", cfg["nice"])
    try:
        running.wait_ready(path=PATH)
        facts = check_page(running, server)
        if facts["page"] != state["pages"].get(server.name):
            raise ServerError(f"{server.name}: its page changed since it was checked before the runs")
        state["bytes"][server.name] = facts["bytes"]
        time.sleep(0.3)
        tree = measure.process_tree(running.pid)
        state["idle_rss"].setdefault(server.name, []).append(measure.rss_kib(tree))
        wrk = dict(url=f"http://{cfg['host']}:{port}{PATH}", method="GET", body_file=None, connections=cfg["connections"],
                   core=cfg["wrk_core"], script=SCRIPT, nice=cfg["nice"], depth=1)
        if cfg["warmup_s"] > 0:
            measure.run_wrk(seconds=cfg["warmup_s"], **wrk)
        tree = measure.process_tree(running.pid)
        cores = [cfg["server_core"], cfg["wrk_core"]]
        while state["quiet_left"] > 0 and \
                max(measure.foreign_load(cores, 0.5, tree).values()) * 100 > cfg["quiet_threshold_pct"]:
            state["quiet_left"] -= 2.5
            time.sleep(2)
        reset_ok = measure.reset_peak_rss(tree)
        cores0 = measure.core_user_ticks()
        user0, ticks0, load0 = measure.process_user_ticks(tree), measure.cpu_ticks(tree), measure.loadavg()
        t0 = time.monotonic()
        res = measure.run_wrk(seconds=cfg["duration_s"], **wrk)
        wall = time.monotonic() - t0
        tree = measure.process_tree(running.pid)
        ticks, user = measure.cpu_ticks(tree) - ticks0, measure.process_user_ticks(tree) - user0
        cores1 = measure.core_user_ticks()
        span = wall * measure.CLK_TCK
        on_server_core = (cores1[cfg["server_core"]] - cores0[cfg["server_core"]] - user) / span
        on_wrk_core = (cores1[cfg["wrk_core"]] - cores0[cfg["wrk_core"]] - res.wrk_user_s * measure.CLK_TCK) / span
        foreign = max(on_server_core, on_wrk_core)
        cpu_s = ticks / measure.CLK_TCK
        run = {
            "round": rnd, "server": server.name, "endpoint": ENDPOINT, "mode": "plain", "depth": 1,
            "ok": res.requests > 0 and res.error_count == 0,
            "requests": res.requests, "duration_s": res.duration_s, "rps": res.rps, "latency_us": res.latency_us,
            "bytes_per_response": res.bytes / res.requests if res.requests else None,
            "errors": res.errors, "errors_total": res.error_count,
            "server_cpu_s": cpu_s, "cpu_us_per_req": cpu_s * 1e6 / res.requests if res.requests else None,
            "server_cpu_util": cpu_s / res.duration_s if res.duration_s else 0,
            "wrk_cpu_util": res.wrk_cpu_s / res.duration_s if res.duration_s else 0,
            "peak_rss_kib": measure.peak_rss_kib(tree), "peak_rss_reset": reset_ok,
            "foreign_pct": max(0.0, foreign) * 100, "load_before": load0, "load_after": measure.loadavg(),
            # Where the others ran: a Python server leaves most of wrk's core idle, and other
            # processes take it, without taking the server's core.
            "foreign_server_core_pct": max(0.0, on_server_core) * 100,
            "foreign_wrk_core_pct": max(0.0, on_wrk_core) * 100,
        }
        state["runs"].append(run)
        flag = "" if run["ok"] else f"  ERRORS {res.errors}"
        log(f"  r{rnd} {server.name:8} {res.rps:>9,.0f} req/s  p99 {res.latency_us.get('p99', 0) / 1000:7.2f} ms  "
            f"CPU {run['cpu_us_per_req'] or 0:7.1f} µs/req  server {run['server_cpu_util']:4.0%} "
            f"wrk {run['wrk_cpu_util']:4.0%} other {run['foreign_server_core_pct']:3.0f}% / {run['foreign_wrk_core_pct']:3.0f}%{flag}")
        if not run["ok"]:
            state["problems"].append(f"round {rnd}, {server.name}: {res.requests} responses, errors {res.errors}")
    finally:
        running.stop()


# --- figures, goals, report ----------------------------------------------------------------------

def cells(summary: dict) -> dict:
    return summary.get("plain", {}).get(ENDPOINT, {})


def usable(runs: list[dict], threshold: float) -> tuple[list[dict], list[str]]:
    """The runs the figures are taken from: per server, the rounds in which other processes took
    at most `threshold` % of the server's pinned core (another pinned benchmark on the machine
    halves a server's requests/s while its CPU per request barely moves). A server with no such
    round keeps all its rounds and is named in the second list: its figures are disturbed."""
    out, disturbed = [], []
    for name in dict.fromkeys(r["server"] for r in runs):
        mine = [r for r in runs if r["server"] == name]
        clean = [r for r in mine if r.get("foreign_server_core_pct", 0.0) <= threshold]
        out += clean or mine
        if not clean:
            disturbed.append(name)
    return out, disturbed


def ratios(summary: dict) -> dict:
    """brisk against each Python peer: requests/s ÷ theirs, their CPU/request ÷ brisk's."""
    c = cells(summary)
    b = c.get("brisk")
    out = {}
    for peer in ("flask", "fastapi"):
        p = c.get(peer)
        if not (b and p):
            continue
        out[peer] = {
            "rps": b["rps"] / p["rps"] if p["rps"] else None,
            "cpu": p["cpu_us_per_req"] / b["cpu_us_per_req"] if p["cpu_us_per_req"] and b["cpu_us_per_req"] else None,
            # Round by round (interleaved rounds ran close in time): the spread of the ratio.
            "rps_rounds": [x / y for x, y in zip(b["rps_rounds"], p["rps_rounds"]) if y],
        }
    return out


def goals(summary: dict, disturbed: list[str] | None = None) -> list[dict]:
    r = ratios(summary).get("flask")
    value = r["rps"] if r else None
    note = (f"Flask's CPU/request ÷ brisk's = {r['cpu']:.1f}; round by round "
            + ", ".join(f"{x:.1f}" for x in r["rps_rounds"])) if r and r["cpu"] else ""
    shared = [s for s in (disturbed or []) if s in ("brisk", "flask")]
    if shared:
        note += (f"; NOT DECIDED: other processes shared the pinned core of {' and '.join(shared)} in every round, "
                 "so its requests/s is not its own (the CPU-per-request ratio is the better guide)")
    check = {"what": "brisk requests/s ÷ Flask + Jinja2's", "value": value, "limit": FLASK_GOAL,
             "met": None if value is None else value >= FLASK_GOAL, "note": note, "disturbed": shared}
    return [{"goal": f"brisk at least {FLASK_GOAL:.0f}x Flask + Jinja2's requests per second on the template page",
             "met": check["met"], "checks": [check]}]


def spreads(summary: dict, key: str) -> list[float]:
    out = []
    for c in cells(summary).values():
        xs = [x for x in c[key] if x]
        if len(xs) > 1:
            out.append((max(xs) - min(xs)) / min(xs) * 100)
    return sorted(out)


def _f(x, fmt="{:,.0f}"):
    return "–" if x is None else fmt.format(x)


def markdown(result: dict) -> str:
    meta, summary, servers = result["meta"], result["summary"], result["servers"]
    cfg, inter = meta["config"], meta["interference"]
    by_name = {s["name"]: s for s in servers}
    lines = [
        f"# brisk template-page benchmark (issue 16) — {meta['date']}",
        "",
        f"Machine: {meta['machine']}. Server pinned to core {cfg['server_core']}, wrk (1 thread, {cfg['connections']} "
        f"connections, unpipelined) to core {cfg['wrk_core']}"
        + (f", both at niceness {cfg['nice']} (process and scheduler autogroup)." if cfg.get("nice") else "."),
        f"Run: `{meta['command']}` — {cfg['rounds']} round(s) of {cfg['duration_s']:.0f} s per server after "
        f"{cfg['warmup_s']:.0f} s of warm-up, servers interleaved (every other round reversed); "
        f"{meta['elapsed_min']:.1f} min in all. brisk at {meta['main_commit']}.",
        "",
        "The page: TechEmpower's fortunes test without a database — the 12 fortunes of TechEmpower's table held in "
        "memory, one added at request time, sorted by message, rendered through a template file into an HTML table "
        "(autoescaped: one fortune is a `<script>`), `text/html; charset=utf-8`. The same template text for every "
        "server (`bench/peers/pages-*/templates/fortunes.html`).",
        "",
        *(["**A smoke run**: a debug build (brisk's templates in debug mode, reloaded when changed) and 1-second "
           "runs; it checks the harness end to end, its figures say nothing about brisk's speed.", ""]
          if meta["mode"] == "smoke" else []),
        "**Interference.** " + inter["verdict"] + f" Load average {inter['load_before']:.2f} before the runs, "
        f"{inter['load_after']:.2f} after; other processes' user time on the pinned cores during runs: median "
        f"{inter['median_foreign_pct']:.0f}%, worst {inter['max_foreign_pct']:.0f}% of a core "
        f"({inter['disturbed_runs']} of {inter['runs']} runs above {inter['threshold_pct']:.0f}%). " + meta.get("note", ""),
        "",
    ]
    split = [r for r in result["runs"] if "foreign_server_core_pct" in r]
    if split:
        lines += ["Other processes' share of each pinned core while a server was measured (median of its rounds): "
                  + "; ".join(f"{s['label']}: server's core {median(r['foreign_server_core_pct'] for r in rs):.0f}%, "
                              f"wrk's core {median(r['foreign_wrk_core_pct'] for r in rs):.0f}%"
                              for s in servers if (rs := [r for r in split if r["server"] == s["name"]])) + "."
                  + "".join(f" Round {r['round']}, {by_name[r['server']]['label']}: server's core "
                            f"{r['foreign_server_core_pct']:.0f}%, wrk's core {r['foreign_wrk_core_pct']:.0f}% (wrk itself "
                            f"used {r['wrk_cpu_util'] * 100:.0f}% of it)."
                            for r in split if r["foreign_pct"] > inter["threshold_pct"]), ""]
    every = report.summarize(result["runs"])  # the noise over every round, left-out ones included
    cpu_spread, rps_spread = spreads(every, "cpu_us_per_req_rounds"), spreads(every, "rps_rounds")
    if cpu_spread:
        lines += [f"**Noise.** Between rounds of one server (all rounds), CPU µs/request differed by {median(cpu_spread):.0f}% "
                  f"(median) and up to {cpu_spread[-1]:.0f}%, requests/s by {median(rps_spread):.0f}% and up to "
                  f"{rps_spread[-1]:.0f}%; a ratio within that of its bound is not decided by this run.", ""]
    if result.get("rounds_left_out"):
        lines += [f"**Rounds left out of the figures** (other processes took more than {cfg['quiet_threshold_pct']:.0f}% of "
                  f"the server's pinned core): {'; '.join(result['rounds_left_out'])}. They stay in the JSON."
                  + (f" Every round of {', '.join(result['disturbed_servers'])} was disturbed so: kept, figures not "
                     "its own." if result.get("disturbed_servers") else ""), ""]
    lines += ["## Goal (issue 16)", ""]
    for g in result["goals"]:
        mark = {True: "**met**", False: "**missed**", None: "not measured"}[g["met"]]
        if g["met"] is not None and any(c.get("disturbed") for c in g["checks"]):
            mark += " (not decided: disturbed run)"
        lines.append(f"- {mark} — {g['goal']}")
        for c in g["checks"]:
            if c["met"] is None:
                lines.append(f"  - {c['what']}: not measured")
                continue
            note = f"; {c['note']}" if c.get("note") else ""
            lines.append(f"  - {'met' if c['met'] else '**missed**'}: {c['what']} = {c['value']:.1f} "
                         f"(goal {c['limit']:.0f}{note})")
    r = result["ratios"]
    lines += ["", "| brisk ÷ peer | requests/s | CPU per request (peer's ÷ brisk's) | round by round (req/s) |",
              "|---|---:|---:|---|"]
    for peer in ("flask", "fastapi"):
        if peer in r:
            lines.append(f"| {by_name[peer]['label']} | {_f(r[peer]['rps'], '{:.1f}')}x | {_f(r[peer]['cpu'], '{:.1f}')}x | "
                         + ", ".join(f"{x:.1f}" for x in r[peer]["rps_rounds"]) + " |")
    lines += ["", "## GET /fortunes, unpipelined", "",
              "| server | req/s | p50 ms | p99 ms | CPU µs/req | bytes/response | idle RSS MiB | peak RSS MiB | "
              "server CPU | wrk CPU | req/s per round |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    c = cells(summary)
    for s in servers:
        x = c.get(s["name"])
        if not x:
            continue
        lines.append(
            f"| {s['label']} | {_f(x['rps'])} | {_f(x['p50_us'] and x['p50_us'] / 1000, '{:.2f}')} | "
            f"{_f(x['p99_us'] and x['p99_us'] / 1000, '{:.2f}')} | {_f(x['cpu_us_per_req'], '{:.1f}')} | "
            f"{_f(s.get('page_bytes'))} | {_f(s.get('idle_rss_kib') and s['idle_rss_kib'] / 1024, '{:.1f}')} | "
            f"{_f(x['peak_rss_kib'] / 1024, '{:.1f}')} | {x['server_cpu_util'] * 100:.0f}% | {x['wrk_cpu_util'] * 100:.0f}% | "
            + ", ".join(f"{v:,}" for v in x["rps_rounds"]) + " |")
    lines += ["", "## The pages compared", ""]
    for pair, f in result["page_check"].items():
        a, b = pair.split("|")
        how = ("byte for byte, modulo whitespace" if f["bytes_equal_modulo_whitespace"] else
               "modulo whitespace and the spelling of character references" if f["equal_modulo_whitespace_and_charrefs"]
               else "NOT equal")
        lines.append(f"- {by_name[a]['label']} and {by_name[b]['label']}: equal {how}.")
    lines += [
        "- Every page was also parsed back before its server was measured: status 200, `text/html; charset=utf-8`, "
        "the 13 rows (id, message) equal to TechEmpower's fortunes plus the added one sorted by message, the "
        "`<script>` fortune escaped, the same page on a second request.",
        "- minijinja escapes `\"` `'` `/` as `&quot;` `&#x27;` `&#x2f;`; MarkupSafe (Jinja2) writes `&#34;` `&#39;` and "
        "leaves `/` as it is: the same characters, a few bytes apart (the bytes/response column).",
        "",
        "## Per server",
        "",
        "| server | version |",
        "|---|---|",
    ]
    lines += [f"| {s['label']} | {s.get('version', '')} |" for s in servers]
    lines.append("")
    if result["problems"]:
        lines += ["## Problems", ""] + [f"- {p}" for p in result["problems"]] + [""]
    lines += [
        "## How to read this",
        "",
        "- req/s and latency: the round with the most requests/s; CPU µs/req: the server's utime+stime (all its "
        "threads and processes, /proc/PID/stat; gunicorn's master and worker) ÷ responses, from the round with the "
        "least (interference only adds). The ratios: best round against best round; the round-by-round ratios pair "
        "the rounds in order (each pair ran minutes apart at most).",
        "- `server CPU` below ~95% means the server had idle time: the single wrk thread (`wrk CPU` near 100%) was the "
        "limit, and the requests/s ratio understates the gap, which CPU per request shows.",
        "- Servers and how they are written: `bench/README.md`, \"The page suite\".",
        "",
    ]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    import bench  # noqa: PLC0415
    lock = bench.lock_versions(BENCH / "Cargo.lock", ["minijinja", "hyper"]) if (BENCH / "Cargo.lock").exists() else {}
    out = {"brisk": f"brisk (this tree), minijinja {lock.get('minijinja', '?')}, hyper {lock.get('hyper', '?')}"}
    if (VENV / "bin" / "python").exists():
        freeze = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
        pins = dict(line.split("==", 1) for line in freeze.splitlines() if "==" in line)
        py = platform.python_version()
        out["fastapi"] = (f"FastAPI {pins.get('fastapi')}, Starlette {pins.get('starlette')}, Jinja2 {pins.get('Jinja2')}, "
                          f"uvicorn {pins.get('uvicorn')}, uvloop {pins.get('uvloop')}, httptools {pins.get('httptools')}, "
                          f"Python {py}")
        out["flask"] = (f"Flask {pins.get('Flask')}, Jinja2 {pins.get('Jinja2')}, Werkzeug {pins.get('Werkzeug')}, "
                        f"gunicorn {pins.get('gunicorn')} (gthread, 1 worker, 4 threads), Python {py}")
    return out


def command(cfg: dict, smoke: bool) -> str:
    env = [f"BENCH_SERVERS={','.join(cfg['servers'])}"] if cfg["servers"] != [s.name for s in SERVERS] else []
    env += [f"BENCH_{k}={os.environ[f'BENCH_{k}']}" for k in ("ROUNDS", "DURATION") if os.environ.get(f"BENCH_{k}")]
    return " ".join(env + ["bench/run --pages" + (" --smoke" if smoke else "")])


def validate(result: dict, cfg: dict) -> list[str]:
    """What a run must show to count (a smoke run: that the harness works end to end)."""
    errors = list(result["problems"])
    seen = {r["server"] for r in result["runs"] if r["ok"]}
    errors += [f"no successful run for {s}" for s in cfg["servers"] if s not in seen]
    for r in result["runs"]:
        if r["ok"] and not (r["cpu_us_per_req"] and r["cpu_us_per_req"] > 0 and r["peak_rss_kib"] > 0):
            errors.append(f"{r['server']}: no CPU or memory figures")
    if {"brisk", "flask"} <= set(cfg["servers"]) and result["goals"][0]["met"] is None:
        errors.append("the goal could not be evaluated")
    return errors


def main(smoke: bool) -> int:
    import bench  # noqa: PLC0415  machine(), main_commit(): shared with the HTTP suite

    cfg = config(smoke)
    started = time.monotonic()
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    logs = BENCH / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("pages-*.log"):
        old.unlink()
    expected_rows()  # the data file against TechEmpower's table, before anything is built
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
            # workspace, and pages-brisk lives in bench's.
            build = Server(s.package, s.label, "rust", package=s.package)
            s.build["build_s"] = round(cargo_build(build, cfg["profile"]), 1)
            s.binary = binary_path(build, cfg["profile"])
            s.build["binary_bytes"] = s.binary.stat().st_size

    state = {"runs": [], "problems": [], "pages": {}, "bytes": {}, "idle_rss": {}, "quiet_left": cfg["quiet_budget_s"]}
    # Before measuring: every server answers the rules, and every server's page is the same page.
    for server in servers:
        try:
            state["pages"][server.name] = first_page(cfg, server, logs)
            state["bytes"][server.name] = len(state["pages"][server.name].encode())
            log(f"checked {server.name}: {len(state['pages'][server.name].encode()):,} bytes, rows escaped and sorted")
        except (ServerError, OSError, ValueError) as e:
            state["problems"].append(f"check, {server.name}: {e}")
            log(f"  PROBLEM {state['problems'][-1]}")
    page_problems, page_check = compare_pages(state["pages"])
    state["problems"] += page_problems
    for p in page_problems:
        log(f"  PROBLEM {p}")
    load_before = measure.loadavg()
    for rnd in range(1, cfg["rounds"] + 1 if not state["problems"] else 1):
        order = servers if rnd % 2 else list(reversed(servers))
        for server in order:
            try:
                measure_one(cfg, rnd, server, logs, state)
            except (ServerError, measure.WrkError, OSError, ValueError) as e:
                state["problems"].append(f"round {rnd}, {server.name}: {e}")
                log(f"  PROBLEM {state['problems'][-1]}")
    if page_problems:
        log("the servers' pages are not the same page: nothing measured")
    load_after = measure.loadavg()

    used, disturbed = usable(state["runs"], cfg["quiet_threshold_pct"])
    summary = report.summarize(used)
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
            "config": cfg,
            "main_commit": f"{commit} (built {built_at})",
            "server_order": [s.name for s in servers],
            "elapsed_min": (time.monotonic() - started) / 60,
            "interference": report.interference(state["runs"], cfg["quiet_threshold_pct"], load_before, load_after),
            "note": os.environ.get("BENCH_NOTE", ""),
        },
        "servers": [{"name": s.name, "label": s.label, "package": s.package, "peer": f"bench/peers/{s.peer}",
                     "version": vers.get(s.name, ""), "build": s.build, "page_bytes": state["bytes"].get(s.name),
                     "idle_rss_kib": sorted(v)[len(v) // 2] if (v := state["idle_rss"].get(s.name)) else None}
                    for s in servers],
        "summary": summary,
        "ratios": ratios(summary),
        "page_check": page_check,
        "pages": state["pages"],
        "runs": state["runs"],
        "problems": state["problems"],
    }
    result["disturbed_servers"] = disturbed
    result["rounds_left_out"] = [f"round {r['round']}, {r['server']}" for r in state["runs"] if r not in used]
    result["goals"] = goals(summary, disturbed)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "pages-latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "pages-latest.md").write_text(markdown(result))
    log(f"wrote {out_dir / 'pages-latest.md'} and pages-latest.json in {(time.monotonic() - started) / 60:.1f} min")

    failures = validate(result, cfg) if smoke else state["problems"]
    for f in failures:
        print(f"bench --pages: FAILED: {f}", file=sys.stderr)
    if smoke:
        print(f"bench-pages-smoke: {sum(1 for r in result['runs'] if r['ok'])} passed, {len(failures)} failed")
    return 1 if failures else 0


def rewrite_report(smoke: bool) -> int:
    """Rewrites pages-latest.md (ratios, goal) from pages-latest.json."""
    out_dir = BENCH / "results" / ("smoke" if smoke else "")
    result = json.loads((out_dir / "pages-latest.json").read_text())
    used, disturbed = usable(result["runs"], result["meta"]["config"]["quiet_threshold_pct"])
    result["summary"] = report.summarize(used)
    result["ratios"] = ratios(result["summary"])
    result["disturbed_servers"] = disturbed
    result["rounds_left_out"] = [f"round {r['round']}, {r['server']}" for r in result["runs"] if r not in used]
    result["goals"] = goals(result["summary"], disturbed)
    result["page_check"] = compare_pages(result["pages"])[1]
    (out_dir / "pages-latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "pages-latest.md").write_text(markdown(result))
    log(f"rewrote {out_dir / 'pages-latest.md'} from pages-latest.json")
    return 0
