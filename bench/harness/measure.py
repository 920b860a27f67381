"""What one measured run reads: the server's CPU ticks and memory from /proc, each core's busy
time (to see other processes on the pinned cores), and wrk's own figures and CPU time."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- processes -------------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (gunicorn's master and worker, for instance)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_ticks(pids: list[int]) -> int:
    """utime + stime of these processes (all their threads), in clock ticks."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            # After the name: state(0) ppid(1) ... utime is field 14 of stat, so index 11 here.
            total += int(fields[11]) + int(fields[12])
    return total


def reaped_ticks(pids: list[int]) -> int:
    """cutime + cstime of those of `pids` whose parent is not among them (a server's main
    process, e.g. PostgreSQL's postmaster): the CPU of its children that exited and were
    reaped (PostgreSQL's backends of closed connections), in clock ticks."""
    members = set(pids)
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields and int(fields[1]) not in members:
            total += int(fields[13]) + int(fields[14])
    return total


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pids: list[int]) -> int:
    """Resident memory now (VmRSS), summed over the processes."""
    return sum(_status_kib(pid, "VmRSS") for pid in pids)


def peak_rss_kib(pids: list[int]) -> int:
    """Peak resident memory (VmHWM), summed over the processes."""
    return sum(_status_kib(pid, "VmHWM") for pid in pids)


def reset_peak_rss(pids: list[int]) -> bool:
    """Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`); False if refused."""
    ok = True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            ok = False
    return ok


# --- cores -----------------------------------------------------------------------------------

def core_user_ticks() -> dict[int, int]:
    """Per core: user + nice ticks of every process on it (from /proc/stat)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                out[int(parts[0][3:])] = int(parts[1]) + int(parts[2])
    return out


def process_user_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11])
    return total


def foreign_load(cores: list[int], seconds: float, ours: list[int]) -> dict[int, float]:
    """Share of each core (0..1) used in user mode by processes other than `ours`."""
    before, ours_before = core_user_ticks(), process_user_ticks(ours)
    time.sleep(seconds)
    after, ours_after = core_user_ticks(), process_user_ticks(ours)
    ours_used = ours_after - ours_before
    span = seconds * CLK_TCK
    return {c: max(0.0, (after[c] - before[c] - (ours_used if c == cores[0] else 0)) / span) for c in cores}


def boost(pid: int, nice: int) -> bool:
    """Gives the process's scheduler autogroup (its session: start it with start_new_session)
    the niceness `nice`. With autogroups on (kernel.sched_autogroup_enabled), a plain `nice`
    only ranks processes within one session; other sessions' builds would still get an equal
    share of the pinned core."""
    if not nice:
        return True
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(str(nice))
        return True
    except OSError:
        return False


def loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# --- wrk ---------------------------------------------------------------------------------------

@dataclass
class WrkResult:
    requests: int
    duration_s: float
    bytes: int
    errors: dict
    latency_us: dict
    wrk_cpu_s: float
    wrk_user_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class WrkError(RuntimeError):
    pass


def run_wrk(
    *,
    url: str,
    method: str,
    depth: int,
    body_file: str | None,
    connections: int,
    seconds: float,
    core: int,
    script: str,
    nice: int,
    headers: list[str] | tuple[str, ...] = (),
) -> WrkResult:
    """Runs wrk pinned to `core` with one thread and returns its figures. `headers`
    ("Name: value") are sent with every request (a session cookie, say)."""
    duration = max(1, round(seconds))
    argv = [
        *(["nice", "-n", str(nice)] if nice else []), "taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
        *(a for h in headers for a in ("-H", h)),
        "-s", script, url, "--", method, str(depth), body_file or "",
    ]
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(argv, stdout=out_f, stderr=err_f, text=True, start_new_session=True)
        boost(proc.pid, nice)
        # wrk stops by itself after -d; the watchdog only guards against a hung wrk.
        watchdog = threading.Timer(duration + 60, proc.kill)
        watchdog.start()
        try:
            # Reap wrk ourselves: wait4 also returns the CPU time it used.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    wrk_cpu_s = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        raise WrkError(f"wrk exited {proc.returncode}: {err.strip()[:500]}")
    for line in out.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line[len("BENCH_RESULT ") :])
            return WrkResult(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1e6,
                bytes=data["bytes"],
                errors=data["errors"],
                latency_us=data["latency_us"],
                wrk_cpu_s=wrk_cpu_s,
                wrk_user_s=usage.ru_utime,
            )
    raise WrkError(f"wrk printed no BENCH_RESULT line: {out.strip()[-500:]} {err.strip()[-500:]}")


def env_num(name: str, default: float) -> float:
    """A number from the environment variable `name` (unset or empty: `default`)."""
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default
