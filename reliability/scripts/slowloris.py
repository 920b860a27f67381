"""Slow clients against a separate brisk process (`reliability-server`), measured from outside.

Phases (N = 2000 full, 200 with --quick):
  1. baseline: wrk against /json, nothing else running;
  2. slow headers: slowhttptest -H, N connections sending one header line every 2 s; wrk against
     /json while all N are held; every slow connection must be closed by the header read
     timeout (10 s, brisk's default; 2 s with --quick);
  3. slow body: slowhttptest -B on POST /upload (the body trickles in, 8 KiB announced); wrk
     while they are held; every connection must be closed by brisk's minimum body rate (240 B/s
     of waiting after 5 s of grace), and a single stalled upload must see 408 after the grace;
  4. slow body under Router::timeout: the same on POST /upload-timeout (10 s; 2 s with --quick):
     every connection must be closed within the timeout (in the full form the minimum body rate
     closes them first), and a single upload sent fast enough for the minimum rate but too long
     to finish within the timeout must see 504 after the timeout;
  5. idle connections (Python sockets): connect and send nothing / half an HTTP/2 preface / a
     whole HTTP/2 preface and SETTINGS / an HTTP/2 HEADERS frame without END_HEADERS / half a
     request head / one request then idle keep-alive; which of them the server closes within the
     header read timeout (+ 3 s) of their own connect, and how long each one lived.

Run through reliability/scripts/slowloris (it installs slowhttptest and wrk, builds the server).
"""

import argparse
import os
import re
import select
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rel  # noqa: E402

P99_LIMIT_MS = 50.0
WRK_CONNECTIONS = 16


def slowhttptest_summary(text):
    text = rel.ANSI.sub("", text)
    blocks = re.findall(
        r"initializing:\s+(\d+)\s+pending:\s+(\d+)\s+connected:\s+(\d+)\s+error:\s+(\d+)\s+closed:\s+(\d+)\s+service available:\s+(\w+)",
        text,
    )
    exit_status = re.search(r"Exit status:\s*(.+)", text)
    out = {"exit_status": exit_status.group(1).strip() if exit_status else "?"}
    if blocks:
        i, p, c, e, cl, avail = blocks[-1]
        out.update(connected=int(c), error=int(e), closed=int(cl), pending=int(p), available=avail)
        out["max_connected"] = max(int(b[2]) for b in blocks)
        out["ever_unavailable"] = any(b[5] != "YES" for b in blocks)
    return out


class Attack:
    """One slowhttptest run, the server's established-connection count sampled every 0.2 s."""

    def __init__(self, srv, args, tmp, name):
        self.srv = srv
        self.out_path = os.path.join(tmp, f"{name}.out")
        self.out = open(self.out_path, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(["slowhttptest", *args], stdout=self.out, stderr=subprocess.STDOUT)
        self.samples = []  # (seconds since start, slow connections established, rss KiB)
        self.wrk_connections = 0  # subtracted from the server's count while wrk runs
        self.wrk_started = None

    def sample(self):
        est = max(0, self.srv.established() - self.wrk_connections)
        s = (time.monotonic() - self.t0, est, self.srv.rss_kib())
        self.samples.append(s)
        return s

    def run(self, n, hold_for_wrk, wrk_url, stop_when_zero, limit):
        """Samples until slowhttptest ends (or `limit` s); starts wrk once n are held."""
        wrk_result = {}
        wrk_thread = None
        ramp_end = None
        while time.monotonic() - self.t0 < limit:
            t, est, _ = self.sample()
            if ramp_end is None and est >= n:
                ramp_end = t
                seconds = hold_for_wrk(ramp_end)

                self.wrk_connections = WRK_CONNECTIONS
                self.wrk_started = t

                def run_wrk(seconds=seconds, t=t):
                    try:
                        wrk_result.update(rel.wrk(wrk_url, seconds, WRK_CONNECTIONS) | {"started": t, "seconds": seconds})
                    finally:
                        self.wrk_connections = 0

                wrk_thread = threading.Thread(target=run_wrk)
                wrk_thread.start()
            if self.proc.poll() is not None:
                # The client has ended; the server may not have seen every close yet: a
                # little more sampling, so that when the count reached 0 is known.
                self.settle(2.0)
                break
            if stop_when_zero and ramp_end is not None and est == 0 and (wrk_thread is None or not wrk_thread.is_alive()):
                break
            time.sleep(0.2)
        if wrk_thread:
            wrk_thread.join()
        return ramp_end, wrk_result

    def settle(self, seconds):
        """Samples for up to `seconds` more, until the server holds no slow connection."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.sample()[1] == 0:
                return
            time.sleep(0.1)

    def timeline(self, after):
        """The established count about once a second from `after`: "5.2s:200 6.2s:0 ..."."""
        out, next_t = [], after
        for t, est, _ in self.samples:
            if t >= next_t:
                out.append(f"{t:.1f}s:{est}")
                next_t = t + 1.0
        return " ".join(out)

    def finish(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()
        self.out.close()
        with open(self.out_path) as f:
            return slowhttptest_summary(f.read())

    def count_at(self, t):
        """The established count of the last sample at or before t."""
        before = [s for s in self.samples if s[0] <= t]
        return before[-1][1] if before else None

    def first_zero_after(self, t):
        for s in self.samples:
            if s[0] >= t and s[1] == 0:
                return s[0]
        return None

    def peak_before_wrk(self):
        """The most slow connections seen at once before wrk started (wrk starts at the peak)."""
        return max(s[1] for s in self.samples if self.wrk_started is None or s[0] <= self.wrk_started)

    def peak_rss(self):
        return max(s[2] for s in self.samples)


def wait_quiet(srv, limit=15):
    deadline = time.time() + limit
    while time.time() < deadline:
        if srv.established() == 0:
            return True
        time.sleep(0.2)
    return False


def check_wrk(v, what, r):
    v.info(f"{what}: wrk", f"{r['cmd']} (from {r['started']:.1f} s, for {r['seconds']} s): {rel.wrk_line(r)}")
    v.check(
        r["socket_errors"] == 0 and r["non2xx"] == 0 and r["requests"] > 0,
        f"{what}: wrk /json saw no socket errors and no non-2xx",
        f"{r['requests']} requests, socket errors {r['socket_errors_text']}, non-2xx {r['non2xx']}",
    )
    v.check(r["p99"] is not None and r["p99"] < P99_LIMIT_MS, f"{what}: wrk /json p99 < {P99_LIMIT_MS:.0f} ms", f"p99 {r['p99']:.2f} ms")


def slow_headers(v, srv, n, ht, tmp):
    rel.log(f"\n== slow headers (slowhttptest -H): {n} connections, one header line every 2 s; header read timeout {ht} s")
    load = rel.loadavg()
    attack = Attack(
        srv,
        ["-H", "-c", str(n), "-r", "1000", "-i", "2", "-x", "24", "-p", "3", "-l", str(int(ht * 2 + 15)), "-u", f"{srv.base}/json"],
        tmp,
        "slow-headers",
    )
    ramp_end, w = attack.run(
        n,
        hold_for_wrk=lambda ramp: max(1, int(ht - ramp - 1.5)),
        wrk_url=f"{srv.base}/json",
        stop_when_zero=True,
        limit=ht * 2 + 20,
    )
    summary = attack.finish()
    peak = attack.peak_before_wrk()
    v.info("slow headers: slowhttptest", f"{summary['exit_status']}, most connected {summary.get('max_connected')}; load average at start {load}")
    if not v.check(ramp_end is not None, f"slow headers: all {n} slow connections were open at once", f"peak {peak} established"):
        return
    # Nothing closed early: the first connections opened at ~0 s, so the first close must come
    # about one timeout later (a sample is taken every 0.2 s).
    first_drop = next((s[0] for s in attack.samples if s[0] > ramp_end and s[1] < n), None)
    v.check(
        first_drop is not None and first_drop >= ht - 0.5,
        f"slow headers: the first slow connection was closed no earlier than the header read timeout ({ht} s)",
        f"first close seen {first_drop:.1f} s after the start" if first_drop is not None else "none closed",
    )
    zero = attack.first_zero_after(ramp_end)
    v.check(
        zero is not None and zero <= ramp_end + ht + 2.0,
        f"slow headers: all {n} closed by the server within the header read timeout ({ht} s) + 2 s of the last connect",
        f"last connect by {ramp_end:.1f} s, none left at {zero:.1f} s" if zero is not None else "some were still open",
    )
    v.check(
        summary["exit_status"] == "No open connections left",
        "slow headers: slowhttptest ended because the server had closed all its connections",
        f"slowhttptest: \"{summary['exit_status']}\"",
    )
    v.info("slow headers: server RSS", f"peak {attack.peak_rss() / 1024:.1f} MiB with {n} slow connections")
    if w:
        check_wrk(v, "slow headers", w)
    else:
        v.check(False, "slow headers: wrk ran during the attack")
    v.check(srv.alive() and wait_quiet(srv), "slow headers: the server is alive and back to 0 connections")


def slow_body(v, srv, n, ht, tmp, path, timeout_s):
    label = f"slow body {path}"
    rel.log(f"\n== {label} (slowhttptest -B): {n} connections, POST with Content-Length 8192, ~40 bytes every 2 s")
    load = rel.loadavg()
    grace = 5  # brisk's default minimum body rate: 240 B/s after 5 s of waiting
    hold = timeout_s or max(2 * ht, grace + 4)
    attack = Attack(
        srv,
        ["-B", "-c", str(n), "-r", "1000", "-i", "2", "-x", "24", "-s", "8192", "-p", "3", "-l", str(int(hold + 4)), "-u", f"{srv.base}{path}"],
        tmp,
        label.replace(" ", "-").replace("/", ""),
    )
    ramp_end, w = attack.run(
        n,
        hold_for_wrk=lambda ramp: max(1, int(min(hold, ht) - ramp - 1.5)),
        wrk_url=f"{srv.base}/json",
        stop_when_zero=timeout_s is not None,
        limit=hold + 12,
    )
    summary = attack.finish()
    peak = attack.peak_before_wrk()
    v.info(f"{label}: slowhttptest", f"{summary['exit_status']}, most connected {summary.get('max_connected')}; load average at start {load}")
    if not v.check(ramp_end is not None, f"{label}: all {n} slow connections were open at once", f"peak {peak} established"):
        return
    v.info(f"{label}: server RSS", f"peak {attack.peak_rss() / 1024:.1f} MiB with {n} slow bodies")
    if timeout_s is None:
        still = attack.count_at(ramp_end + grace + 3)
        first_drop = next((s[0] for s in attack.samples if s[0] > ramp_end and s[1] < n), None)
        zero = attack.first_zero_after(ramp_end)
        when = f"last connect by {ramp_end:.1f} s, first close seen {first_drop:.1f} s after the start" if first_drop is not None else f"last connect by {ramp_end:.1f} s"
        if zero is not None:
            when += f", none left at {zero:.1f} s"
        # Most close grace + ~0.5 s after their headers were read; under load (wrk runs at the
        # same time, on a debug build) the server may read a late connection's headers later
        # than the client connected, so a straggler may outlive `grace + 3`. What matters is
        # that the server closes every one before the client would give up (`-l`); the exact
        # grace is checked by the stalled-upload probe.
        client_end = int(hold + 4)
        closed_by_server = still == 0 or (zero is not None and zero <= client_end - 1.0)
        v.check(
            closed_by_server,
            f"{label}: slow bodies are closed by the server (minimum body rate: 240 B/s after {grace} s of waiting)",
            f"{still}/{n} still open {grace + 3} s after the last connect ({when}; the client gives up at {client_end} s)"
            + ("" if closed_by_server else f"; slowhttptest: \"{summary['exit_status']}\"; open over time: {attack.timeline(ramp_end)}"),
        )
    else:
        zero = attack.first_zero_after(ramp_end)
        v.check(
            zero is not None and zero <= ramp_end + timeout_s + 2.0,
            f"{label}: all {n} closed within Router::timeout ({timeout_s} s) + 2 s of the last connect",
            f"last connect by {ramp_end:.1f} s, none left at {zero:.1f} s" if zero is not None else "some were still open",
        )
    if w:
        check_wrk(v, label, w)
    else:
        v.check(False, f"{label}: wrk ran during the attack")
    v.check(srv.alive() and wait_quiet(srv), f"{label}: the server is alive and back to 0 connections after the client left")


def read_answer(s, limit):
    """Reads until EOF (or `limit` s): (the status code text, seconds it took)."""
    t = time.monotonic()
    s.settimeout(limit)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data[9:12].decode(errors="replace"), time.monotonic() - t


def stalled_upload_probe(v, srv, grace):
    """One POST /upload whose body stops after 3 bytes: the minimum body rate must answer 408."""
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8192\r\n\r\nabc")
    status, took = read_answer(s, grace + 10)
    s.close()
    v.check(
        status == "408" and grace - 0.1 <= took < grace + 1.5,
        f"slow body: one stalled upload is answered 408 and closed by the minimum body rate after its {grace} s grace",
        f"{status or 'no answer'} after {took:.2f} s, then the connection closed",
    )


def router_timeout_probe(v, srv, timeout_s):
    """One POST /upload-timeout sent at 640 B/s (above the minimum body rate) with 64 KiB
    announced, so that only Router::timeout can end it: 504 after the timeout."""
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /upload-timeout HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n")
    t = time.monotonic()
    sent = 0
    while sent < 65536 - 64 and time.monotonic() - t < timeout_s + 5:
        readable, _, _ = select.select([s], [], [], 0.1)
        if readable:
            break
        try:
            s.sendall(b"x" * 64)
        except OSError:
            break
        sent += 64
    status, _ = read_answer(s, 5)
    took = time.monotonic() - t
    s.close()
    v.check(
        status == "504" and timeout_s - 0.1 <= took < timeout_s + 1.5,
        f"slow body under Router::timeout: an upload at 640 B/s that cannot finish in {timeout_s} s is answered 504 after {timeout_s} s",
        f"{status or 'no answer'} after {took:.2f} s ({sent} body bytes sent), then the connection closed",
    )


def idle_connections(v, srv, n, ht):
    small = max(10, n // 10)
    rel.log(f"\n== idle and half-sent connections (Python sockets); header read timeout {ht} s")
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    # HEADERS on stream 1, END_STREAM but no END_HEADERS: GET, http, :path "/" (HPACK static
    # table) -- the header block is never finished: the HTTP/2 form of a slow head.
    block = b"\x82\x86\x84"
    h2_headers_no_end = struct.pack(">I", len(block))[1:] + b"\x01\x01" + struct.pack(">I", 1) + block
    groups = {
        "half a request head (control)": (small, b"GET /json HTTP/1.1\r\nHost: x\r\n"),
        "idle keep-alive after one response": (small, b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n"),
        "connect and send nothing": (n, b""),
        "half an HTTP/2 preface": (small, b"PRI * HTTP/2.0\r\n"),
        "HTTP/2 preface + SETTINGS, then idle": (small, preface + settings),
        "HTTP/2 HEADERS without END_HEADERS, then idle": (small, preface + settings + h2_headers_no_end),
    }
    socks = {}  # name -> [(socket, monotonic time of its connect)]
    t = time.monotonic()
    for name, (count, data) in groups.items():
        socks[name] = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", srv.port))
            socks[name].append((s, time.monotonic()))
            if data:
                s.sendall(data)
    connecting = time.monotonic() - t
    for s, _ in socks["idle keep-alive after one response"]:
        s.recv(4096)
    rss = srv.rss_kib()
    served = subprocess.run(["curl", "-fsS", "-o", "/dev/null", "-w", "%{http_code}", f"{srv.base}/json"], capture_output=True, text=True).stdout
    total_open = sum(len(x) for x in socks.values())
    v.check(
        served == "200",
        f"idle: /json is served while {total_open} idle connections are open",
        f"{served}; RSS {rss / 1024:.1f} MiB; opening the {total_open} connections took {connecting:.1f} s",
    )
    # Each socket is watched until the server closes it, or until the last connect + ht + 3 s;
    # it counts as closed if that came within ht + 3 s of its *own* connect. (Opening thousands
    # of connections can take seconds: a SYN that finds the accept queue full is dropped and
    # retried 1 s later.)
    limit = ht + 3
    deadline = max(c for ss in socks.values() for _, c in ss) + limit
    sel = selectors.DefaultSelector()
    for name, ss in socks.items():
        for s, c in ss:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, (name, c))
    lifetimes = {name: [] for name in socks}
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, min(0.5, deadline - time.monotonic()))):
            name, c = key.data
            try:
                eof = key.fileobj.recv(65536) == b""
            except BlockingIOError:
                continue
            except OSError:
                eof = True
            if eof:
                lifetimes[name].append(time.monotonic() - c)
                sel.unregister(key.fileobj)
    sel.close()
    for ss in socks.values():
        for s, _ in ss:
            s.close()

    def closed(name):
        lt = sorted(x for x in lifetimes[name] if x <= limit)
        total = len(socks[name])
        detail = f"{len(lt)}/{total} closed within {limit} s of their connect"
        if lt:
            detail += f", each {lt[0]:.2f}-{lt[-1]:.2f} s after it"
        return len(lt), total, detail

    c, total, detail = closed("half a request head (control)")
    v.check(c == total, "idle: half a request head is closed by the header read timeout", detail)
    c, total, detail = closed("idle keep-alive after one response")
    v.check(c == total, "idle: an idle keep-alive HTTP/1.1 connection is closed by the header read timeout", detail)
    for name in ("connect and send nothing", "half an HTTP/2 preface"):
        c, total, detail = closed(name)
        v.check(
            c == total,
            f"idle: '{name}' is closed by the header read timeout (brisk waits for the opening bytes under it)",
            detail,
        )
    c, total, detail = closed("HTTP/2 preface + SETTINGS, then idle")
    v.check(
        c == total,
        "idle: an idle HTTP/2 connection gets GOAWAY after the header read timeout with no request in flight, and is closed",
        detail,
    )
    c, total, detail = closed("HTTP/2 HEADERS without END_HEADERS, then idle")
    v.check(
        c == total,
        "idle: an HTTP/2 header block left unfinished is closed (no request began, so the connection is idle)",
        detail,
    )

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="200 connections, 2 s timeouts (about 30 s)")
    args = ap.parse_args()
    n = 200 if args.quick else 2000
    ht = 2 if args.quick else 10
    tmp = os.environ.get("RELIABILITY_TMP", "/tmp")
    nofile = rel.raise_nofile(4 * n + 1000)
    env = {"HEADER_READ_TIMEOUT_MS": str(ht * 1000), "UPLOAD_TIMEOUT_MS": str(ht * 1000)} if args.quick else {}
    v = rel.Verdicts("slowloris")
    started = time.monotonic()
    rel.log(f"== slowloris ({'quick' if args.quick else 'full'}): {rel.machine()}")
    if nofile < 2 * n + 100:
        v.check(False, f"ulimit -n is {nofile}, below the {2 * n + 100} this run needs")
        return v.finish()
    srv = rel.Server(env, name="slowloris")
    try:
        rel.log(f"server pid {srv.pid} on {srv.base}, WORKERS=2, env {env or 'brisk defaults'}; idle RSS {srv.rss_kib() / 1024:.1f} MiB")
        base = rel.wrk(f"{srv.base}/json", 2 if args.quick else 5)
        base |= {"started": 0.0, "seconds": 2 if args.quick else 5}
        v.info("baseline (no attack): wrk", f"{base['cmd']}: {rel.wrk_line(base)}; load average {rel.loadavg()}")
        slow_headers(v, srv, n, ht, tmp)
        slow_body(v, srv, n, ht, tmp, "/upload", None)
        slow_body(v, srv, n, ht, tmp, "/upload-timeout", ht)
        stalled_upload_probe(v, srv, 5)
        router_timeout_probe(v, srv, ht)
        idle_connections(v, srv, n, ht)
        v.check(srv.alive(), "the server process survived every phase", f"pid {srv.pid}")
    finally:
        srv.stop()
    rel.log(f"slowloris took {time.monotonic() - started:.0f} s")
    return v.finish()


if __name__ == "__main__":
    sys.exit(main())
