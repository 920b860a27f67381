"""From the raw runs to the figures: the best of the rounds per server, endpoint and mode, the
ratios against raw hyper and FastAPI, the issue's goals marked met or missed, and the
Markdown table."""

from __future__ import annotations

from statistics import median

MODES = {"plain": "unpipelined", "pipelined": "pipelined"}
ENDPOINT_LABELS = {
    "plaintext": "GET /plaintext",
    "json": "GET /json",
    "get_item": "GET /items/{id}",
    "post_item": "POST /items",
}


def summarize(runs: list[dict]) -> dict:
    """summary[mode][endpoint][server]: rps and latency of the round with the most requests/s,
    CPU per request from the round with the least (interference only ever adds to either),
    peak RSS the highest; every round's figures stay in `runs`."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        if run.get("ok"):
            groups.setdefault((run["mode"], run["endpoint"], run["server"]), []).append(run)
    summary: dict = {}
    for (mode, endpoint, server), rs in groups.items():
        best = max(rs, key=lambda r: r["rps"])
        cpu = [r["cpu_us_per_req"] for r in rs if r["cpu_us_per_req"] is not None]
        summary.setdefault(mode, {}).setdefault(endpoint, {})[server] = {
            "rps": best["rps"],
            "rps_rounds": [round(r["rps"]) for r in rs],
            "p50_us": best["latency_us"].get("p50"),
            "p99_us": best["latency_us"].get("p99") or None,
            "batch_mean_us": best["latency_us"].get("batch_mean"),
            "cpu_us_per_req": min(cpu) if cpu else None,
            "cpu_us_per_req_rounds": [r["cpu_us_per_req"] for r in rs],
            "peak_rss_kib": max(r["peak_rss_kib"] for r in rs),
            "server_cpu_util": best["server_cpu_util"],
            "wrk_cpu_util": best["wrk_cpu_util"],
            "errors": sum(r["errors_total"] for r in rs),
        }
    for mode in summary.values():
        for cells in mode.values():
            hyper, fastapi = cells.get("hyper"), cells.get("fastapi")
            for cell in cells.values():
                cell["rps_vs_hyper"] = cell["rps"] / hyper["rps"] if hyper else None
                cell["rps_vs_fastapi"] = cell["rps"] / fastapi["rps"] if fastapi else None
                cell["cpu_vs_hyper"] = (
                    cell["cpu_us_per_req"] / hyper["cpu_us_per_req"]
                    if hyper and hyper["cpu_us_per_req"] and cell["cpu_us_per_req"] else None
                )
                cell["cpu_vs_fastapi"] = (
                    cell["cpu_us_per_req"] / fastapi["cpu_us_per_req"]
                    if fastapi and fastapi["cpu_us_per_req"] and cell["cpu_us_per_req"] else None
                )
    return summary


def _cell(summary, mode, endpoint, server):
    return summary.get(mode, {}).get(endpoint, {}).get(server)


def goals_for(summary: dict, servers: dict, me: str, label: str) -> list[dict]:
    """The issue's goals for one brisk server, each with its checks: met is True, False, or None
    (not measured)."""
    out = []

    def goal(text: str, checks: list[dict]) -> None:
        measured = [c for c in checks if c["met"] is not None]
        met = None if not measured else all(c["met"] for c in measured)
        out.append({"goal": f"{label}: {text}", "server": me, "met": met, "checks": checks})

    def check(what: str, value, limit, ok, note: str = "") -> dict:
        met = None if value is None or limit is None else ok
        return {"what": what, "value": value, "limit": limit, "met": met, "note": note}

    # 1. CPU per request against raw hyper, axum and actix-web.
    checks = []
    for endpoint, bound in (("json", 1.10), ("get_item", 1.10), ("post_item", 1.15)):
        for mode in MODES:
            b = _cell(summary, mode, endpoint, me)
            h = _cell(summary, mode, endpoint, "hyper")
            ratio = b["cpu_us_per_req"] / h["cpu_us_per_req"] if b and h and b["cpu_us_per_req"] and h["cpu_us_per_req"] else None
            checks.append(check(f"{ENDPOINT_LABELS[endpoint]}, {MODES[mode]}: brisk CPU/request ÷ raw hyper's",
                                ratio, bound, ratio is not None and ratio <= bound))
    goal("brisk's server CPU time per request within 1.10x of raw hyper on /json and GET /items/{id}, "
         "within 1.15x on POST /items", checks)
    checks = []
    for endpoint in ("json", "get_item", "post_item"):
        for mode in MODES:
            b = _cell(summary, mode, endpoint, me)
            for peer in ("axum", "actix"):
                p = _cell(summary, mode, endpoint, peer)
                bv = b["cpu_us_per_req"] if b else None
                pv = p["cpu_us_per_req"] if p else None
                checks.append(check(f"{ENDPOINT_LABELS[endpoint]}, {MODES[mode]}: brisk CPU µs/request vs {peer}'s",
                                    bv, pv, bv is not None and pv is not None and bv <= pv))
    goal("brisk's CPU time per request at or below axum's and actix-web's (same endpoints)", checks)

    # 2. Pipelined /json throughput against actix-web.
    b, a = _cell(summary, "pipelined", "json", me), _cell(summary, "pipelined", "json", "actix")
    goal("brisk pipelined /json throughput at least actix-web's",
         [check("GET /json, pipelined: brisk requests/s vs actix-web's", b and b["rps"], a and a["rps"],
                bool(b and a and b["rps"] >= a["rps"]))])

    # 3. 20x FastAPI everywhere.
    checks = []
    for mode in MODES:
        for endpoint in ENDPOINT_LABELS:
            b = _cell(summary, mode, endpoint, me)
            ratio = b["rps_vs_fastapi"] if b else None
            cpu = 1 / b["cpu_vs_fastapi"] if b and b["cpu_vs_fastapi"] else None
            note = f"FastAPI's CPU/request ÷ brisk's = {cpu:.1f}" if cpu else ""
            checks.append(check(f"{ENDPOINT_LABELS[endpoint]}, {MODES[mode]}: brisk requests/s ÷ FastAPI's",
                                ratio, 20.0, ratio is not None and ratio >= 20.0, note))
    goal("brisk at least 20x FastAPI's requests/s on every endpoint", checks)

    # 4. Memory.
    idle = servers.get(me, {}).get("idle_rss_kib")
    goal("brisk idle RSS under 10 MiB",
         [check("brisk idle RSS (MiB)", idle / 1024 if idle else None, 10.0, bool(idle and idle / 1024 < 10.0))])
    # POST /items is left out: its peak RSS is mostly the items stored so far, which grows with
    # each server's own throughput (all servers store every item, as the contract says).
    checks = []
    for mode in MODES:
        for endpoint in ("plaintext", "json", "get_item"):
            b, x = _cell(summary, mode, endpoint, me), _cell(summary, mode, endpoint, "axum")
            ratio = b["peak_rss_kib"] / x["peak_rss_kib"] if b and x and x["peak_rss_kib"] else None
            checks.append(check(f"{ENDPOINT_LABELS[endpoint]}, {MODES[mode]}: brisk peak RSS ÷ axum's",
                                ratio, 1.5, ratio is not None and ratio <= 1.5))
    goal("brisk peak RSS under load within 1.5x of axum's (GET endpoints; POST's is mostly stored items)", checks)
    return out


BRISK_SERVERS = (("brisk", "brisk (showcase)"), ("brisk-items", "brisk (items only)"))


def goals(summary: dict, servers: dict) -> list[dict]:
    """The issue's goals, checked for each brisk server measured: the showcase (the app as
    shipped) and the items-only example (the same four endpoints as the peers)."""
    out = []
    for me, label in BRISK_SERVERS:
        if any(me in by_server for by_endpoint in summary.values() for by_server in by_endpoint.values()):
            out += goals_for(summary, servers, me, label)
    return out


# --- Markdown --------------------------------------------------------------------------------

def _f(x, fmt="{:,.0f}", none="–"):
    return none if x is None else fmt.format(x)


def _mib(kib):
    return None if kib is None else kib / 1024


def _lat(c: dict, mode: str) -> str:
    if mode == "plain":
        ms = lambda us: None if us is None else us / 1000  # noqa: E731
        return f"{_f(ms(c['p50_us']), '{:.2f}')} | {_f(ms(c['p99_us']), '{:.2f}')}"
    return f"{_f(c['batch_mean_us'] / 1000 if c['batch_mean_us'] else None, '{:.1f}')} | –"


def markdown(result: dict) -> str:
    summary, servers, meta = result["summary"], result["servers"], result["meta"]
    order = [s for s in meta["server_order"] if s in servers]
    lines = [
        f"# brisk benchmark — {meta['date']}",
        "",
        f"Machine: {meta['machine']['cpu']} ({meta['machine']['cores']} cores), "
        f"{meta['machine']['memory_gib']:.0f} GiB, Linux {meta['machine']['kernel']}. "
        f"Server pinned to core {meta['config']['server_core']}, wrk (1 thread) to core {meta['config']['wrk_core']}"
        + (f", both at niceness {meta['config']['nice']} (process and scheduler autogroup)." if meta["config"].get("nice") else "."),
        f"Run: `{meta['command']}` — {meta['config']['rounds']} round(s) of {meta['config']['duration_s']} s per "
        f"endpoint and mode after {meta['config']['warmup_s']} s of warm-up, {meta['config']['connections']} "
        f"connections, pipelining depth {meta['config']['depth']}; {meta['elapsed_min']:.1f} min in all. "
        f"brisk at {meta['main_commit']}.",
        "",
    ]
    inter = meta["interference"]
    lines += [
        "**Interference.** " + inter["verdict"] + f" Load average {inter['load_before']:.2f} before the runs, "
        f"{inter['load_after']:.2f} after; other processes' user time on the pinned cores during runs: median "
        f"{inter['median_foreign_pct']:.0f}%, worst {inter['max_foreign_pct']:.0f}% of a core "
        f"({inter['disturbed_runs']} of {inter['runs']} runs above {inter['threshold_pct']:.0f}%).",
        "",
    ]
    spreads = sorted(
        (max(r) - min(r)) / min(r) * 100
        for mode in summary.values() for cells in mode.values() for c in cells.values()
        if len(r := [x for x in c["cpu_us_per_req_rounds"] if x]) > 1
    )
    if spreads:
        lines += [
            f"**Noise.** CPU µs/request differed between rounds of the same server and endpoint by {median(spreads):.0f}% "
            f"(median) and up to {spreads[-1]:.0f}%, even on quiet cores (a VM): ratios within about that of a goal's "
            "bound are not decided by one run; `BENCH_ROUNDS=4` narrows them.",
            "",
        ]
    lines += [
        "## Goals (issue 6)",
        "",
    ]
    for g in result["goals"]:
        mark = {True: "**met**", False: "**missed**", None: "not measured"}[g["met"]]
        lines.append(f"- {mark} — {g['goal']}")
        if g["met"] is None:
            continue
        for c in g["checks"]:
            if c["met"] is None:
                lines.append(f"  - {c['what']}: not measured")
                continue
            v, lim = c["value"], c["limit"]
            fmt = "{:.2f}" if v < 100 else "{:,.0f}"
            note = f"; {c['note']}" if c.get("note") else ""
            lines.append(f"  - {'met' if c['met'] else '**missed**'}: {c['what']} = {fmt.format(v)} (goal {fmt.format(lim)}{note})")
    lines.append("")
    for mode, mode_label in MODES.items():
        lines += [f"## {mode_label.capitalize()}" + (f" (depth {meta['config']['depth']})" if mode == "pipelined" else ""), ""]
        for endpoint, label in ENDPOINT_LABELS.items():
            cells = summary.get(mode, {}).get(endpoint)
            if not cells:
                continue
            lines += [
                f"### {label}",
                "",
                "| server | req/s | ×hyper | ×FastAPI | " + ("p50 ms | p99 ms" if mode == "plain" else "batch ms (mean) | –")
                + " | CPU µs/req | CPU ×hyper | peak RSS MiB | server CPU | wrk CPU |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for name in order:
                c = cells.get(name)
                if not c:
                    continue
                lines.append(
                    f"| {servers[name]['label']} | {_f(c['rps'])} | {_f(c['rps_vs_hyper'], '{:.2f}')} | "
                    f"{_f(c['rps_vs_fastapi'], '{:.1f}')} | {_lat(c, mode)} | {_f(c['cpu_us_per_req'], '{:.2f}')} | "
                    f"{_f(c['cpu_vs_hyper'], '{:.2f}')} | {_f(_mib(c['peak_rss_kib']), '{:.1f}')} | "
                    f"{_f(c['server_cpu_util'] * 100, '{:.0f}%')} | {_f(c['wrk_cpu_util'] * 100, '{:.0f}%')} |"
                    + (f" ⚠ {c['errors']} errors" if c["errors"] else "")
                )
            lines.append("")
    lines += [
        "## Per server",
        "",
        "| server | version | idle RSS MiB | release build (cold) s | binary MiB |",
        "|---|---|---:|---:|---:|",
    ]
    for name in order:
        s = servers[name]
        b = s.get("build", {})
        lines.append(
            f"| {s['label']} | {s.get('version', '')} | {_f(_mib(s.get('idle_rss_kib')), '{:.1f}')} | "
            f"{_f(b.get('cold_release_s'), '{:.0f}')} | {_f(b['binary_bytes'] / 2**20 if b.get('binary_bytes') else None, '{:.1f}')} |"
        )
    lines += [""]
    if any(s.get("build", {}).get("cold_release_note") for s in servers.values()):
        lines += ["Build times: " + "; ".join(
            f"{servers[n]['label']}: {servers[n]['build']['cold_release_note']}"
            for n in order if servers[n].get("build", {}).get("cold_release_note")) + ".", ""]
    if result.get("problems"):
        lines += ["## Problems", ""] + [f"- {p}" for p in result["problems"]] + [""]
    lines += [
        "## How to read this",
        "",
        "- req/s and latency: the round with the most requests/s; CPU µs/req: the round with the least "
        "(interference from other processes only ever adds to it); peak RSS: the highest. Every round is in "
        "`latest.json`.",
        "- CPU µs/req = the server's utime+stime over the run (all its threads and processes, /proc/PID/stat) ÷ "
        "responses. It is the honest figure when wrk, not the server, is the bottleneck: a `server CPU` below "
        "~95% means the server had idle time, and `wrk CPU` near 100% means the load generator was saturated.",
        "- Unpipelined p50/p99 are wrk's (with its usual coordinated-omission correction). Pipelined: wrk's "
        "correction assumes one request in flight per connection and invents samples under pipelining (its p99 "
        "comes out as 0), so the table gives the mean round trip of a batch of 16 instead, from Little's law: "
        "connections × depth ÷ requests/s.",
        "- What each server does per request, and what the showcase does beyond the peers (a per-request "
        "dependency on the items routes, auth set-up at start): `bench/README.md`.",
        "- Peak RSS is VmHWM over the measured run (reset before it through /proc/PID/clear_refs), summed over "
        "the server's processes (gunicorn: master + worker). For POST /items it includes the items stored so far.",
        "",
    ]
    return "\n".join(lines)


def interference(runs: list[dict], threshold: float, load_before: float, load_after: float) -> dict:
    foreign = [r["foreign_pct"] for r in runs if r.get("foreign_pct") is not None]
    disturbed = [f for f in foreign if f > threshold]
    med = median(foreign) if foreign else 0.0
    if not disturbed:
        verdict = "None seen on the pinned cores during the runs" + (
            " (the machine itself was busy, with other people's builds, but they did not get the pinned cores)."
            if max(load_before, load_after) > 1.0 else ".")
    elif len(disturbed) <= max(1, len(foreign) // 10):
        verdict = "Some: a few runs shared a pinned core with other processes (other builds on this machine)."
    else:
        verdict = ("Heavy: other processes (other engineers' builds on this machine) used the pinned cores during "
                   "many runs; absolute figures are lower than on a quiet machine, ratios less reliable.")
    return {
        "verdict": verdict, "load_before": load_before, "load_after": load_after,
        "median_foreign_pct": med, "max_foreign_pct": max(foreign, default=0.0),
        "disturbed_runs": len(disturbed), "runs": len(foreign), "threshold_pct": threshold,
    }
