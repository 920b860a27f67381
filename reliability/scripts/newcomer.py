"""A newcomer's session against a running showcase, and the resident memory it leaves behind.

The session (issue 13, item 10): 20 logins in parallel (brisk-auth's `POST /auth/login`, right
passwords, wrong passwords and unknown names: each one an Argon2id check of 19 MiB), 3 MB JSON
bodies accepted by a route's body limit (`POST /v1/chat/completions`, 4 MiB; then refused by
validation, 422) and refused by the default one (`POST /items`, 2 MiB: 413), a 4 MB WebSocket
message echoed and a 20 MB WebSocket frame refused (`/ws/echo`, 16 MiB frames at most), all at
once from many threads.

Used by `reliability/scripts/memory` (the check) and `bench/harness/memory.py` (the allocator
comparison). Standard library only.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

LOGINS = 20
BIG = 3 * 1000 * 1000  # a "3 MB" body
WS_ECHOED = 4 * 1000 * 1000
WS_REFUSED = 20 * 1000 * 1000


# --- memory of a process ------------------------------------------------------------------------

def status_field(pid: int, field: str) -> int:
    """A number field of /proc/PID/status (VmRSS, VmHWM in KiB; Threads)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise ValueError(f"no {field} in /proc/{pid}/status")


def rollup_kib(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup: Rss, Anonymous, Private_Dirty ... in KiB."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def snapshot(pid: int) -> dict:
    roll = rollup_kib(pid)
    return {"rss_kib": status_field(pid, "VmRSS"), "hwm_kib": status_field(pid, "VmHWM"),
            "anon_kib": roll.get("Anonymous", 0), "private_dirty_kib": roll.get("Private_Dirty", 0),
            "threads": status_field(pid, "Threads")}


# --- HTTP and WebSocket -------------------------------------------------------------------------

def request(host: str, port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None, timeout: float = 30.0) -> int:
    """One request on its own connection; the status, or 0 when the server closed without one
    (a refused body may be cut off while it is being sent)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        res.read()
        return res.status
    except (ConnectionError, http.client.HTTPException, socket.timeout):
        return 0
    finally:
        conn.close()


def login(host: str, port: int, username: str, password: str) -> int:
    body = json.dumps({"username": username, "password": password}).encode()
    return request(host, port, "POST", "/auth/login", body, {"content-type": "application/json"})


def big_chat(host: str, port: int) -> int:
    """A 3 MB chat request: within the route's 4 MiB limit, read and parsed, then 422 (each
    message's content is at most 8000 characters)."""
    content = "x" * (BIG - 200)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]}).encode()
    return request(host, port, "POST", "/v1/chat/completions", body, {"content-type": "application/json"})


def big_item(host: str, port: int) -> int:
    """A 3 MB item: over the default 2 MiB body limit, 413."""
    body = json.dumps({"name": "big", "price": 1.0, "description": "d" * (BIG - 100)}).encode()
    return request(host, port, "POST", "/items", body, {"content-type": "application/json"})


def _ws_connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/echo HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the WebSocket handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        status_line = head.split(b"\r\n", 1)[0]
        raise ConnectionError(f"WebSocket handshake answered {status_line!r}")
    return sock


def _ws_frame(payload_len: int) -> bytes:
    """The head of a final binary frame from a client, masked with the zero key (so the payload
    goes as it is)."""
    return bytes([0x82, 0x80 | 127]) + struct.pack("!Q", payload_len) + b"\0\0\0\0"


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(min(1 << 20, n - len(out)))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return bytes(out)


def ws_echo(host: str, port: int) -> str:
    """A 4 MB binary message, echoed: "echoed", or what went wrong."""
    try:
        sock = _ws_connect(host, port)
    except OSError as e:
        return f"connect: {e}"
    try:
        sock.sendall(_ws_frame(WS_ECHOED) + b"e" * WS_ECHOED)
        head = _recv_exactly(sock, 2)
        n = head[1] & 0x7F
        n = struct.unpack("!Q", _recv_exactly(sock, 8))[0] if n == 127 else \
            struct.unpack("!H", _recv_exactly(sock, 2))[0] if n == 126 else n
        _recv_exactly(sock, n)
        return "echoed" if n == WS_ECHOED else f"echoed {n} bytes"
    except OSError as e:
        return f"echo: {e}"
    finally:
        sock.close()


def ws_refused(host: str, port: int) -> str:
    """A 20 MB frame, over the 16 MiB frame limit: "refused" when the server closes on it."""
    try:
        sock = _ws_connect(host, port)
    except OSError as e:
        return f"connect: {e}"
    try:
        sock.sendall(_ws_frame(WS_REFUSED))
        chunk = b"r" * (1 << 20)
        for _ in range(WS_REFUSED // len(chunk)):
            sock.sendall(chunk)
        sock.settimeout(10)
        while sock.recv(65536):  # the close frame, then EOF
            pass
        return "refused"
    except OSError:
        return "refused"  # cut off while sending: the server closed on the frame's head
    finally:
        sock.close()


# --- the session --------------------------------------------------------------------------------

def session(host: str, port: int, logins: int = LOGINS, bodies: int = 8) -> dict:
    """Runs the whole session at once (a thread per request); returns what each part answered,
    e.g. {"login 200": 12, "login 400": 8, "chat 422": 8, "item 413": 8, "ws echoed": 2, ...}."""
    results: dict[str, int] = {}
    lock = threading.Lock()

    def record(name: str, outcome) -> None:
        with lock:
            key = f"{name} {outcome}"
            results[key] = results.get(key, 0) + 1

    jobs = []
    for i in range(logins):
        # Right passwords, wrong ones (fewer than the 10 a name may fail) and unknown names
        # (checked against the decoy hash): each costs one Argon2id of 19 MiB.
        who = [("alice", "wonderland"), ("bob", "builder"), ("alice", "not it"), (f"newcomer{i}", "whoever")][i % 4]
        jobs.append(("login", lambda w=who: login(host, port, *w)))
    for _ in range(bodies):
        jobs.append(("chat", lambda: big_chat(host, port)))
        jobs.append(("item", lambda: big_item(host, port)))
    for _ in range(2):
        jobs.append(("ws", lambda: ws_echo(host, port)))
        jobs.append(("ws", lambda: ws_refused(host, port)))
    workers = [threading.Thread(target=lambda n=name, f=fn: record(n, f())) for name, fn in jobs]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    return dict(sorted(results.items()))


def expected_outcomes(results: dict, logins: int = LOGINS, bodies: int = 8) -> list[str]:
    """What in the session's answers was not as the showcase should answer."""
    wrong = []
    good = (logins + 3) // 4 + (logins + 2) // 4
    if results.get("login 200", 0) != good:
        wrong.append(f"{results.get('login 200', 0)} logins succeeded, expected {good}")
    if results.get("login 400", 0) != logins - good:
        wrong.append(f"{results.get('login 400', 0)} logins refused, expected {logins - good}")
    if results.get("chat 422", 0) != bodies:
        wrong.append(f"{results.get('chat 422', 0)} of {bodies} 3 MB chat bodies read and refused by validation (422)")
    # A refused body may also be cut off before its answer is read (0).
    if results.get("item 413", 0) + results.get("item 0", 0) != bodies:
        wrong.append(f"3 MB items: {results}, expected 413 for all {bodies}")
    if results.get("ws echoed", 0) != 2 or results.get("ws refused", 0) != 2:
        wrong.append(f"WebSocket: {results}, expected 2 echoed and 2 refused")
    return wrong


def settle(pid: int, seconds: float) -> list[dict]:
    """Snapshots each second for `seconds` of quiet."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1)
        out.append(snapshot(pid))
    return out


# --- a showcase of its own ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Showcase:
    """The showcase binary started on a fresh SQLite file and a free port (migrated at start,
    the demo users alice/wonderland and bob/builder in it); stopped with SIGTERM."""

    def __init__(self, binary: str, env: dict | None = None, workers: int | None = None, log=None):
        self.folder = tempfile.mkdtemp(prefix="brisk-memory-")
        self.host, self.port = "127.0.0.1", free_port()
        full = dict(os.environ, HOST=self.host, PORT=str(self.port), RUST_LOG="error",
                    DATABASE_URL=f"sqlite://{self.folder}/showcase.db",
                    SECRET_KEY="memory-check-secret-key-0123456789abcdef")
        if workers:
            full["WORKERS"] = str(workers)
        full.update(env or {})
        self.proc = subprocess.Popen([binary], env=full, stdin=subprocess.DEVNULL,
                                     stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the showcase exited with {self.proc.returncode}")
            if request(self.host, self.port, "GET", "/json", timeout=2) == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the showcase did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def measure(binary: str, env: dict | None = None, quiet_s: float = 10.0, rounds: int = 1,
            log=None, logins: int = LOGINS) -> dict:
    """Idle, peak and after-quiet resident memory of a fresh showcase around `rounds` sessions
    (each followed by `quiet_s` seconds of nothing): the figures in KiB and what the session
    got back."""
    show = Showcase(binary, env, log=log)
    try:
        show.wait_ready()
        # A few ordinary requests first, so "idle" is a server that has answered something.
        for path in ("/json", "/plaintext", "/items", "/healthz"):
            request(show.host, show.port, "GET", path)
        time.sleep(1)
        idle = snapshot(show.pid)
        out = {"idle": idle, "rounds": []}
        for _ in range(rounds):
            t0 = time.monotonic()
            answers = session(show.host, show.port, logins)
            took = time.monotonic() - t0
            peak = snapshot(show.pid)
            after = settle(show.pid, quiet_s)
            out["rounds"].append({"answers": answers, "wrong": expected_outcomes(answers, logins), "session_s": took,
                                  "peak": peak, "after": after[-1], "trace_rss_kib": [s["rss_kib"] for s in after]})
        return out
    finally:
        show.stop()


if __name__ == "__main__":
    import sys

    # python3 newcomer.py BINARY: one session's figures as JSON (memory.py is the check).
    print(json.dumps(measure(sys.argv[1]), indent=1))
