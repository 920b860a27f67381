"""The servers under test: how each is built, started (pinned to one core, one worker, no access
log), checked against the items contract, and stopped."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import atexit
from dataclasses import dataclass, field
from pathlib import Path

from measure import boost

BENCH = Path(__file__).resolve().parent.parent
MAIN = BENCH.parent
VENV = BENCH / ".venv"
PEERS = BENCH / "peers"


@dataclass
class Server:
    name: str
    label: str
    kind: str  # "rust" or "python"
    package: str = ""  # cargo package (Rust)
    argv: list[str] = field(default_factory=list)  # Python: the command, relative to the venv
    cwd: Path = BENCH
    binary: Path | None = None  # set once built
    build: dict = field(default_factory=dict)  # build figures

    def command(self, host: str, port: int) -> tuple[list[str], dict]:
        env = dict(os.environ)
        env.update(HOST=host, PORT=str(port), WORKERS="1", RUST_LOG="warn", PYTHONUNBUFFERED="1")
        if self.package == "showcase":
            # The showcase stores items with brisk-orm: a fresh SQLite file (WAL, on disk, as a
            # user runs it) for every start, so each run begins with no items.
            folder = tempfile.mkdtemp(prefix="brisk-bench-")
            atexit.register(shutil.rmtree, folder, True)
            env["DATABASE_URL"] = f"sqlite://{folder}/showcase.db"
        if self.kind == "rust":
            assert self.binary is not None, f"{self.name} is not built"
            return [str(self.binary)], env
        argv = [a.format(host=host, port=port, venv=VENV) for a in self.argv]
        return argv, env


GUNICORN = [
    "{venv}/bin/python", "-m", "gunicorn", "--bind", "{host}:{port}", "--workers", "1",
    # gthread keeps connections alive (the sync worker closes each one after a response, which
    # would make every request pay a TCP handshake and breaks pipelining); threads share the
    # GIL of the one process.
    "--worker-class", "gthread", "--threads", "4", "--log-level", "warning",
]

SERVERS = [
    Server("brisk", "brisk (showcase)", "rust", package="showcase", cwd=MAIN),
    # The same four endpoints and nothing else (examples/items): like for like with the peers.
    Server("brisk-items", "brisk (items only)", "rust", package="items", cwd=MAIN),
    Server("hyper", "raw hyper 1.x", "rust", package="peer-hyper"),
    Server("axum", "axum 0.8", "rust", package="peer-axum"),
    Server("actix", "actix-web 4", "rust", package="peer-actix"),
    Server(
        "fastapi", "FastAPI on uvicorn", "python",
        argv=["{venv}/bin/python", "-m", "uvicorn", "app:app", "--host", "{host}", "--port", "{port}",
              "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
        cwd=PEERS / "fastapi",
    ),
    Server("flask", "Flask on gunicorn", "python", argv=GUNICORN + ["app:app"], cwd=PEERS / "flask"),
    Server(
        "django", "Django on gunicorn", "python",
        argv=GUNICORN + ["benchsite.wsgi:application"], cwd=PEERS / "django",
    ),
]


def in_main(server: Server) -> bool:
    """brisk's own servers build in the main workspace; the peers in bench's."""
    return server.name.startswith("brisk")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- tools and builds ------------------------------------------------------------------------

def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    log("installing wrk from Debian")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)


def ensure_venv() -> None:
    """bench/.venv with requirements.txt installed (skipped when the pins did not change)."""
    req = BENCH / "requirements.txt"
    stamp = VENV / ".requirements.sha256"
    digest = hashlib.sha256(req.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest and (VENV / "bin" / "python").exists():
        return
    log("creating bench/.venv and installing requirements.txt")
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", str(req)], check=True)
    stamp.write_text(digest)


def cargo_build(server: Server, profile: str, target_dir: Path | None = None) -> float:
    """Builds one Rust server; returns the wall time in seconds."""
    cwd = MAIN if in_main(server) else BENCH
    argv = ["cargo", "build", "-p", server.package]
    if profile == "release":
        argv.append("--release")
    env = dict(os.environ)
    if target_dir is not None:
        env["CARGO_TARGET_DIR"] = str(target_dir)
    elif not in_main(server):
        env["CARGO_TARGET_DIR"] = str(BENCH / "target")
    else:
        env.pop("CARGO_TARGET_DIR", None)
    start = time.monotonic()
    subprocess.run(argv, cwd=cwd, env=env, check=True)
    return time.monotonic() - start


def binary_path(server: Server, profile: str) -> Path:
    target = MAIN / "target" if in_main(server) else BENCH / "target"
    return target / ("release" if profile == "release" else "debug") / server.package


# --- start, check, stop --------------------------------------------------------------------------

class Running:
    """One started server: its process group, its port and its log file."""

    def __init__(self, server: Server, host: str, port: int, core: int, log_path: Path, nice: int):
        self.server, self.host, self.port = server, host, port
        argv, env = server.command(host, port)
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [*(["nice", "-n", str(nice)] if nice else []), "taskset", "-c", str(core), *argv], cwd=server.cwd, env=env,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            # Its own session: one process group, so stop() reaches gunicorn's worker too, and
            # one scheduler autogroup, whose priority measure.boost raises.
            start_new_session=True,
        )
        self.boosted = boost(self.proc.pid, nice)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 30.0, path: str = "/plaintext") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.server.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _, _ = self.request("GET", path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise ServerError(f"{self.server.name} did not answer on port {self.port} within {timeout:.0f}s")

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            headers = {"Content-Type": content_type} if content_type else {}
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            return res.status, res.getheader("Content-Type") or "", res.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


class ServerError(RuntimeError):
    pass


VALID_ITEM = {"name": "Widget", "description": "A benchmark item", "price": 9.99, "tax": 0.5, "tags": ["a", "b"]}


def check_contract(run: Running) -> None:
    """The endpoints under test answer as the items contract says; seeds item 1 for GET.
    Raises ServerError naming the first difference."""

    def expect(cond: bool, what: str) -> None:
        if not cond:
            raise ServerError(f"{run.server.name}: {what}")

    status, ctype, body = run.request("GET", "/plaintext")
    expect(status == 200 and body == b"Hello, World!" and ctype.startswith("text/plain"),
           f"GET /plaintext answered {status} {ctype!r} {body[:80]!r}")
    status, ctype, body = run.request("GET", "/json")
    expect(status == 200 and ctype.startswith("application/json") and json.loads(body) == {"message": "Hello, World!"},
           f"GET /json answered {status} {ctype!r} {body[:80]!r}")
    status, ctype, body = run.request("POST", "/items", json.dumps(VALID_ITEM).encode(), "application/json")
    expect(status == 201, f"POST /items answered {status} {body[:200]!r}")
    created = json.loads(body)
    expect(created.get("id") == 1 and created.get("name") == "Widget" and created.get("tags") == ["a", "b"],
           f"POST /items returned {created!r}, expected the item with id 1")
    status, ctype, body = run.request("GET", "/items/1?q=bench")
    expect(status == 200 and json.loads(body).get("name") == "Widget", f"GET /items/1 answered {status} {body[:200]!r}")
    status, _, body = run.request("GET", "/items/424242")
    expect(status == 404, f"GET /items/424242 (unknown) answered {status}, expected 404")
    status, _, body = run.request("GET", "/items/0")
    expect(status in (400, 422), f"GET /items/0 answered {status}, expected 400 or 422")
    for bad in ({"name": "", "price": 1}, {"name": "x", "price": 0}, {"name": "x", "price": 1, "tax": -1},
                {"name": "x" * 101, "price": 1}, {"name": "x", "price": 1, "tags": ["t"] * 11},
                {"name": "x", "price": 1, "description": "d" * 1001}):
        status, _, body = run.request("POST", "/items", json.dumps(bad).encode(), "application/json")
        expect(status in (400, 422), f"POST /items with {json.dumps(bad)[:60]} answered {status}, expected 400 or 422")


def free_port(host: str, start: int) -> int:
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return port
            except OSError:
                continue
    raise ServerError(f"no free port from {start}")
