"""The scale-out test (issue 19): three showcase processes and two job workers behind HAProxy,
sharing one PostgreSQL database and one Redis, on loopback.

Run by `reliability/scale-out`, which installs HAProxy, starts PostgreSQL if it is down and
builds the showcase. This script starts a private Redis (so restarting it disturbs no one
else), makes its own database and drops it, and asserts:

  1. requests reach all three processes; a session made through one is valid through the
     others; logout through one ends it everywhere;
  2. 3 processes x 100 concurrent cache `incr` on one key give exactly 300;
  3. a limit of 10 per minute spread over the processes gives exactly 10 successes, then 429;
  4. an SSE client on each process receives the one event published through another;
  5. 1000 jobs enqueued in transactions, half rolled back, run exactly 500 times; a worker
     killed with SIGKILL in the middle of a job: the job completes after its lease expires;
  6. a cron job with a one-second schedule fires once per tick across all processes;
  7. SIGTERM to one web process under load: no failed request at the balancer; Redis
     restarted under load: requests needing it get 503 with Retry-After meanwhile, others 200,
     and everything works again afterwards without restarting the app.

Exit status 0 only when every assertion holds; the last line is the summary.
Standard library only.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

SHOWCASE = os.environ["SCALE_OUT_SHOWCASE_BIN"]
HAPROXY = os.environ.get("SCALE_OUT_HAPROXY", "haproxy")
REDIS_SERVER = os.environ.get("SCALE_OUT_REDIS_SERVER", "redis-server")
PG_ADMIN = os.environ.get("SCALE_OUT_PG", "postgres://postgres@127.0.0.1:5432/postgres")
DEADLINE = time.monotonic() + float(os.environ.get("SCALE_OUT_TIMEOUT", "300"))

START = time.monotonic()
results = []  # (ok, name, detail)
children = []  # every process started, stopped at exit


def log(msg):
    print(f"[{time.monotonic() - START:6.1f}s] {msg}", flush=True)


def check(name, ok, detail=""):
    results.append((ok, name, detail))
    log(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate, timeout=30.0, interval=0.1):
    """Polls `predicate` until it returns a truthy value; returns it, or None after `timeout`."""
    end = min(time.monotonic() + timeout, DEADLINE)
    while time.monotonic() < end:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, http.client.HTTPException, ValueError):
            pass
        time.sleep(interval)
    log(f"gave up waiting for {what}")
    return None


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def request(port, method, path, body=None, headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("content-type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        raw = res.read()
        found = {}
        for k, v in res.getheaders():
            k = k.lower()
            found[k] = found[k] + "\n" + v if k in found else v
        return Reply(res.status, found, raw)
    finally:
        conn.close()


class Proc:
    """A child process with its output in a file (shown when something fails)."""

    def __init__(self, name, argv, env, cwd=None):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"scale-{name}-", suffix=".log", delete=False)
        self.popen = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        children.append(self)

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, timeout=10):
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def tail(self, lines=30):
        try:
            with open(self.log.name, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def cleanup():
    for p in reversed(children):
        try:
            p.stop(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def psql(sql, url=PG_ADMIN):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True, capture_output=True)


class Cluster:
    def __init__(self):
        self.run_id = uuid.uuid4().hex[:10]
        self.dbname = f"brisk_scale_{self.run_id}"
        self.db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.dbname
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/"
        self.web_ports = [free_port() for _ in range(3)]
        self.lb_port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="brisk-scale-")
        self.redis = None
        self.web = []
        self.workers = []
        self.haproxy = None

    def env(self, instance):
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.db_url,
                "REDIS_URL": self.redis_url,
                "BRISK_INSTANCE": instance,
                # One key for every process: a session cookie signed by one is good at the others.
                "SECRET_KEY": "scale-out-test-secret-key-" + self.run_id + "-0123456789abcdef0123456789",
                # Every process runs job workers (web processes too, the default) and fires
                # the one-second cron job; a killed worker's job is taken over after 3 s.
                "SHOWCASE_CRON_TICK": "1",
                "SHOWCASE_JOBS_LEASE_SECS": "3",
                # On SIGTERM, /healthz says 503 for a second while the process still serves,
                # so the balancer stops sending before the port closes.
                "BRISK_SHUTDOWN_GRACE": "1",
                "MIGRATE_ON_START": "0",
                "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
                "HOST": "127.0.0.1",
            }
        )
        return env

    def start_redis(self):
        self.redis = Proc(
            "redis",
            [REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            dict(os.environ),
            cwd=self.workdir,
        )
        return wait_until("redis", lambda: socket.create_connection(("127.0.0.1", self.redis_port), 0.5).close() or True, 10)

    def start_web(self, i):
        port = self.web_ports[i]
        env = self.env(f"web{i + 1}")
        env["PORT"] = str(port)
        proc = Proc(f"web{i + 1}", [SHOWCASE], env, cwd=self.workdir)
        ok = wait_until(f"web{i + 1}", lambda: request(port, "GET", "/readyz", timeout=2).status == 200, 60)
        return proc, ok

    def start_worker(self, i):
        return Proc(f"worker{i + 1}", [SHOWCASE, "worker"], self.env(f"worker{i + 1}"), cwd=self.workdir)

    def start_haproxy(self):
        servers = "\n".join(
            f"    server web{i + 1} 127.0.0.1:{p} check inter 200ms fall 1 rise 2" for i, p in enumerate(self.web_ports)
        )
        cfg = f"""
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    option forwardfor
frontend fe
    bind 127.0.0.1:{self.lb_port}
    default_backend web
backend web
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""
        path = os.path.join(self.workdir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        self.haproxy = Proc("haproxy", [HAPROXY, "-db", "-f", path], dict(os.environ))
        return wait_until("haproxy", lambda: request(self.lb_port, "GET", "/healthz", timeout=2).status == 200, 20)

    def up(self):
        psql(f'CREATE DATABASE "{self.dbname}"')
        if not self.start_redis():
            return False
        env = self.env("migrate")
        done = subprocess.run([SHOWCASE, "migrate"], env=env, cwd=self.workdir, capture_output=True, text=True)
        if done.returncode != 0:
            log("migrate failed:\n" + done.stdout + done.stderr)
            return False
        for i in range(3):
            proc, ok = self.start_web(i)
            self.web.append(proc)
            if not ok:
                log(f"web{i + 1} did not become ready:\n{proc.tail()}")
                return False
        self.workers = [self.start_worker(i) for i in range(2)]
        return bool(self.start_haproxy())

    def down(self):
        cleanup()
        try:
            psql(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        except subprocess.CalledProcessError as e:
            log(f"could not drop {self.dbname}: {e.stderr}")


def login(port):
    res = request(port, "POST", "/auth/login", {"username": "alice", "password": "wonderland"})
    cookies = [c.split(";", 1)[0] for c in (res.header("set-cookie") or "").split("\n") if c]
    return res.status, "; ".join(cookies)


def test_sessions(c):
    seen = set()
    for _ in range(30):
        res = request(c.lb_port, "GET", "/plaintext")
        seen.add(res.header("x-instance"))
    check("1a requests reach all three processes", seen == {"web1", "web2", "web3"}, f"instances {sorted(map(str, seen))}")

    status, cookie = login(c.web_ports[0])
    if not check("1b login through web1", status == 200 and cookie != "", f"status {status}"):
        return
    whos = [request(p, "GET", "/auth/me", headers={"cookie": cookie}) for p in c.web_ports[1:]]
    check(
        "1c the session is valid through web2 and web3",
        all(r.status == 200 and r.json().get("username") == "alice" for r in whos),
        ", ".join(str(r.status) for r in whos),
    )
    # A script's unsafe request with the session cookie says where it comes from (CSRF check).
    origin = f"http://127.0.0.1:{c.web_ports[2]}"
    out = request(c.web_ports[2], "POST", "/auth/logout", {}, headers={"cookie": cookie, "origin": origin})
    after = [request(p, "GET", "/auth/me", headers={"cookie": cookie}).status for p in c.web_ports]
    check("1d logout through web3 ends it everywhere", out.status == 204 and after == [401, 401, 401], f"logout {out.status}, then {after}")


def test_cache_incr(c):
    key = f"hits-{c.run_id}"

    def bump(port):
        return request(port, "POST", f"/scale/counter/{key}").status

    with ThreadPoolExecutor(max_workers=48) as pool:
        statuses = list(pool.map(bump, [p for p in c.web_ports for _ in range(100)]))
    final = request(c.web_ports[0], "GET", f"/scale/counter/{key}").json().get("value")
    check(
        "2 3 processes x 100 concurrent incr give 300",
        final == 300 and all(s == 200 for s in statuses),
        f"value {final}, {sum(s == 200 for s in statuses)}/300 answered 200",
    )


def test_rate_limit(c):
    def hit(_):
        return request(c.lb_port, "GET", "/scale/limited")

    with ThreadPoolExecutor(max_workers=30) as pool:
        replies = list(pool.map(hit, range(30)))
    ok = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status == 429]
    instances = {r.header("x-instance") for r in replies}
    retry = all((r.header("retry-after") or "").isdigit() for r in refused)
    check(
        "3 a 10/min limit over the processes gives exactly 10 successes, then 429",
        len(ok) == 10 and len(refused) == 20 and retry and len(instances) == 3,
        f"{len(ok)} x 200, {len(refused)} x 429 (Retry-After on all: {retry}), through {len(instances)} processes",
    )


def read_sse(port, path, got, ready, stop):
    """Reads `data:` lines of an SSE stream into `got` until `stop` is set."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=1)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
        buf = b""
        while not stop.is_set():
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf and not ready.is_set():
                ready.set()
            for line in buf.split(b"\n"):
                if line.startswith(b"data:") and b"scale-event" in line:
                    got.append(line[5:].strip().decode())
            buf = buf[buf.rfind(b"\n") + 1 :]
        sock.close()
    except OSError as e:
        got.append(f"error: {e}")


def test_pubsub(c):
    channel = f"news-{c.run_id}"
    stop = threading.Event()
    streams = []
    for port in c.web_ports:
        got, ready = [], threading.Event()
        t = threading.Thread(target=read_sse, args=(port, f"/scale/events/{channel}", got, ready, stop), daemon=True)
        t.start()
        streams.append((got, ready, t))
    for _, ready, _ in streams:
        ready.wait(10)
    time.sleep(0.5)  # the subscriptions are made when the stream starts; let them settle
    pub = request(c.web_ports[1], "POST", f"/scale/events/{channel}", {"text": "scale-event"})
    wait_until("the event on every stream", lambda: all(len(g) >= 1 for g, _, _ in streams), 10)
    time.sleep(0.3)
    stop.set()
    counts = [len([e for e in g if "scale-event" in e]) for g, _, _ in streams]
    check(
        "4 an SSE client on each process receives one event published through web2",
        pub.status in (200, 202, 204) and counts == [1, 1, 1],
        f"publish {pub.status}, received {counts}",
    )


def job_counts(c, run):
    """How often the jobs of `run` ran: runs, distinct jobs, their numbers, which process started
    and finished them."""
    counts = request(c.lb_port, "GET", f"/scale/jobs/{run}").json()
    # Batches with an odd number were rolled back: none of their jobs may ever run.
    counts["rolled_back_seen"] = sum(1 for seq in counts["seqs"] if (seq // 10) % 2 == 1)
    return counts


def test_jobs(c):
    run = f"batch-{c.run_id}"

    def enqueue(i):
        commit = i % 2 == 0
        return commit, request(c.lb_port, "POST", "/scale/jobs", {"run": run, "first": i * 10, "count": 10, "commit": commit})

    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(enqueue, range(100)))
    statuses = {(commit, r.status) for commit, r in replies}
    counts = wait_until("500 job runs", lambda: (lambda n: n if n["runs"] >= 500 else None)(job_counts(c, run)), 90, 0.5)
    time.sleep(2)  # anything run twice would show now
    counts = job_counts(c, run)
    check(
        "5a 1000 jobs in transactions, half rolled back, run exactly 500 times",
        counts["runs"] == 500 and counts["distinct"] == 500 and counts["rolled_back_seen"] == 0,
        f"enqueue answers {sorted(statuses)}, runs {counts['runs']}, distinct {counts['distinct']}, "
        f"rolled back but run {counts['rolled_back_seen']}",
    )

    slow = f"slow-{c.run_id}"
    res = request(c.lb_port, "POST", "/scale/jobs", {"run": slow, "first": 0, "count": 1, "commit": True, "sleep_ms": 4000})
    started = wait_until("the slow job to start", lambda: job_counts(c, slow)["started_by"], 20, 0.05)
    victim = next((p for p in c.web + c.workers if started and p.name in started), None)
    if not check("5b the slow job started on a process", res.status == 200 and victim is not None, f"started by {started}"):
        return
    victim.popen.send_signal(signal.SIGKILL)
    victim.popen.wait()
    killed_at = time.monotonic()
    done = wait_until("the slow job to complete elsewhere", lambda: job_counts(c, slow)["runs"] >= 1, 30, 0.2)
    counts = job_counts(c, slow)
    check(
        "5c a worker killed with SIGKILL mid-job: the job completes after the lease expires",
        bool(done) and counts["runs"] == 1 and victim.name not in counts["finished_by"],
        f"{counts}, {time.monotonic() - killed_at:.1f}s after the kill",
    )
    # Put the killed process back (a web process on its port, or a new worker).
    if victim in c.workers:
        c.workers.remove(victim)
        c.workers.append(c.start_worker(len(c.workers) + 1))
    else:
        i = c.web.index(victim)
        c.web[i], _ = c.start_web(i)


def test_cron(c):
    first = request(c.lb_port, "GET", "/scale/ticks").json()["ticks"]
    time.sleep(30)
    ticks = request(c.lb_port, "GET", "/scale/ticks").json()["ticks"]
    window = {t: n for t, n in ticks.items() if t not in first}
    doubles = {t: n for t, n in window.items() if n != 1}
    seconds = sorted(int(t) for t in window)
    span = (seconds[-1] - seconds[0] + 1) if seconds else 0
    check(
        "6 a one-second cron job fires once per tick across all processes over 30 s",
        not doubles and len(window) >= 27 and span == len(window),
        f"{len(window)} ticks in 30 s, {span} seconds spanned, fired more than once: {doubles}",
    )


class Load:
    """Requests in a loop through the balancer from a few threads, counting failures: answers
    other than `allowed` (200 by default), and requests that got no answer at all."""

    def __init__(self, port, path, threads=4, method="GET", allowed=(200,)):
        self.port, self.path, self.method, self.allowed = port, path, method, allowed
        self.statuses = {}
        self.stop = threading.Event()
        self.ok = 0
        self.failed = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def loop(self):
        while not self.stop.is_set():
            try:
                r = request(self.port, self.method, self.path, timeout=10)
                good = r.status in self.allowed
                detail = r.status
                if r.status == 503 and not (r.header("retry-after") or "").isdigit():
                    good, detail = False, "503 without Retry-After"
                with self.lock:
                    self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
            except (OSError, http.client.HTTPException) as e:
                good, detail = False, repr(e)
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failed.append(detail)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)
        return self.ok, self.failed


def test_sigterm(c):
    load = Load(c.lb_port, "/json")
    time.sleep(1.5)
    c.web[0].signal(signal.SIGTERM)
    exited = wait_until("web1 to exit", lambda: not c.web[0].alive(), 30)
    time.sleep(1.5)
    ok, failed = load.finish()
    check(
        "7a SIGTERM to one web process under load: no failed request at the balancer",
        bool(exited) and ok > 100 and not failed,
        f"{ok} ok, {len(failed)} failed {failed[:5]}, web1 exited {c.web[0].popen.returncode}",
    )
    proc, ready = c.start_web(0)
    c.web[0] = proc
    wait_until("haproxy to see web1 again", lambda: ready and True, 5)


def test_redis_restart(c):
    key = f"restart-{c.run_id}"
    load = Load(c.lb_port, "/plaintext")
    # Requests that need Redis, under load through the restart: 200 or 503 with Retry-After,
    # never a 500 or a dropped connection.
    needing = Load(c.lb_port, f"/scale/counter/{key}-load", threads=2, method="POST", allowed=(200, 503))
    before = request(c.lb_port, "POST", f"/scale/counter/{key}")
    c.redis.popen.send_signal(signal.SIGKILL)
    c.redis.popen.wait()
    time.sleep(0.5)
    during = [request(p, "POST", f"/scale/counter/{key}") for p in c.web_ports]
    plain = [request(p, "GET", "/plaintext").status for p in c.web_ports]
    ready_down = [request(p, "GET", "/readyz").status for p in c.web_ports]
    c.start_redis()

    def recovered():
        return all(request(p, "POST", f"/scale/counter/{key}").status == 200 for p in c.web_ports)

    back = wait_until("every process to use Redis again", recovered, 30, 0.5)
    ok, failed = load.finish()
    _, needing_failed = needing.finish()
    check(
        "7b Redis down: requests needing it get 503 with Retry-After, others 200; all work again after its restart",
        before.status == 200
        and all(r.status == 503 and (r.header("retry-after") or "").isdigit() for r in during)
        and plain == [200, 200, 200]
        and ready_down == [503, 503, 503]
        and bool(back)
        and not failed
        and not needing_failed
        and needing.statuses.get(503, 0) > 0,
        f"during: {[r.status for r in during]}, plaintext {plain}, readyz {ready_down}, recovered {bool(back)}, "
        f"load {ok} ok / {len(failed)} failed, Redis-needing load {needing.statuses} ({len(needing_failed)} bad)",
    )


def main():
    c = Cluster()
    log(f"run {c.run_id}: database {c.dbname}, redis :{c.redis_port}, web {c.web_ports}, haproxy :{c.lb_port}")
    try:
        if not check("0 the cluster starts (3 web processes, 2 workers, HAProxy, Redis)", c.up()):
            for p in children:
                log(f"--- {p.name} ---\n{p.tail()}")
        else:
            for test in (test_sessions, test_cache_incr, test_rate_limit, test_pubsub, test_jobs, test_cron, test_sigterm, test_redis_restart):
                if time.monotonic() > DEADLINE:
                    check(test.__name__, False, "not run: the time limit was reached")
                    continue
                try:
                    test(c)
                except Exception as e:  # noqa: BLE001 - one failing step must not hide the others
                    check(test.__name__, False, f"raised {e!r}")
            if not all(ok for ok, _, _ in results):
                for p in children:
                    log(f"--- {p.name} (last lines) ---\n{p.tail(15)}")
    finally:
        c.down()
    passed = sum(ok for ok, _, _ in results)
    failed = [name for ok, name, _ in results if not ok]
    verdict = "PASS" if not failed else "FAIL"
    print(f"scale-out: {verdict}: {passed}/{len(results)} checks passed in {time.monotonic() - START:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 0 if not failed else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(1)))
    sys.exit(main())
