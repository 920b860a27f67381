"""Shared pieces of the reliability scripts: the server process, wrk, /proc figures, verdicts.

Standard library only (the h2 script imports it from its venv's Python too).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVER_BIN = os.environ.get("RELIABILITY_SERVER_BIN", os.path.join(ROOT, "target", "release", "reliability-server"))
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def log(msg=""):
    print(msg, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    """One line: date, cores, load, kernel."""
    return (
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"load average {loadavg()}, Linux {os.uname().release}, ulimit -n {soft_nofile()}"
    )


def soft_nofile():
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def raise_nofile(want):
    """Raises this process's (and so its children's) soft fd limit to `want` (at most the hard one)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Server:
    """`reliability-server` on 127.0.0.1:0 (its address read from its log), killed at exit."""

    def __init__(self, env=None, name="server"):
        self.logpath = os.path.join(os.environ.get("RELIABILITY_TMP", "/tmp"), f"reliability-{name}-{os.getpid()}.log")
        full_env = dict(os.environ)
        full_env.update(
            {
                "HOST": "127.0.0.1",
                "PORT": "0",
                "WORKERS": os.environ.get("WORKERS", "2"),
                "RUST_LOG": "warn,brisk::server=info",
                "RUST_BACKTRACE": "0",
            }
        )
        full_env.update(env or {})
        self.logfile = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            [SERVER_BIN], env=full_env, stdin=subprocess.DEVNULL, stdout=self.logfile, stderr=self.logfile
        )
        self.pid = self.proc.pid
        _servers.append(self)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            with open(self.logpath) as f:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise SystemExit(f"{SERVER_BIN} exited with {self.proc.returncode}: {open(self.logpath).read()}")
            else:
                time.sleep(0.02)
        if self.port is None:
            raise SystemExit(f"{SERVER_BIN} did not log its address within 30 s")
        self.base = f"http://127.0.0.1:{self.port}"

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def established(self):
        """Established TCP connections on the server's port, counted from the server's side."""
        out = subprocess.run(
            ["ss", "-Htn", "state", "established", f"( sport = :{self.port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return sum(1 for line in out.splitlines() if line.strip())

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()
        if self in _servers:
            _servers.remove(self)


_servers = []


def _cleanup(*_):
    for s in list(_servers):
        try:
            s.proc.kill()
        except Exception:
            pass
    sys.exit(130)


signal.signal(signal.SIGTERM, _cleanup)
signal.signal(signal.SIGINT, _cleanup)


def unit_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out):
    """wrk --latency output -> dict(requests, rps, p50/p90/p99 ms, max ms, socket errors, non2xx)."""
    r = {"raw": out}
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    r["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        r[f"p{pct}"] = unit_ms(m.group(1)) if m else None
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    r["max"] = unit_ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    r["socket_errors_text"] = m.group(0) if m else "none"
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    return r


def wrk(url, seconds, connections=16, threads=1):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    r = parse_wrk(out)
    r["cmd"] = " ".join(cmd)
    return r


def wrk_line(r):
    return (
        f"{r['requests']} requests ({r['rps']:.0f}/s), p50 {r['p50']:.2f} ms, p90 {r['p90']:.2f} ms, "
        f"p99 {r['p99']:.2f} ms, max {r['max']:.2f} ms, socket errors: {r['socket_errors_text']}, non-2xx: {r['non2xx']}"
    )


def free_port_listener_closed():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Verdicts:
    """PASS / FAIL / GAP lines; GAP (a known missing defence in brisk, reported) fails only
    with RELIABILITY_STRICT=1."""

    def __init__(self, title):
        self.title = title
        self.rows = []

    def check(self, ok, what, detail=""):
        self.rows.append(("PASS" if ok else "FAIL", what, detail))
        log(f"  [{'PASS' if ok else 'FAIL'}] {what}{': ' + detail if detail else ''}")
        return ok

    def gap(self, is_gap, what, detail=""):
        verdict = "GAP" if is_gap else "PASS"
        self.rows.append((verdict, what, detail))
        log(f"  [{verdict}] {what}{': ' + detail if detail else ''}")

    def info(self, what, detail=""):
        self.rows.append(("INFO", what, detail))
        log(f"  [INFO] {what}{': ' + detail if detail else ''}")

    def finish(self):
        strict = os.environ.get("RELIABILITY_STRICT") == "1"
        fails = [r for r in self.rows if r[0] == "FAIL" or (strict and r[0] == "GAP")]
        gaps = [r for r in self.rows if r[0] == "GAP"]
        log(f"\n== {self.title}: summary")
        for verdict, what, detail in self.rows:
            if verdict != "INFO":
                log(f"  {verdict:4} {what}")
        passed = sum(1 for r in self.rows if r[0] == "PASS")
        log(f"{self.title}: {len(gaps)} known gaps (GAP: measured, reported, not defended by brisk yet)")
        log(f"{self.title}: {passed} passed, {len(fails)} failed")
        return 1 if fails else 0
