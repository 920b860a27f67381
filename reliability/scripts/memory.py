"""The memory check (issue 13, item 10): a fresh showcase, a newcomer's session (newcomer.py) twice,
each followed by a quiet spell; resident memory must come back to within BOUND x its idle figure,
and its anonymous part (the heap: the rest is the binary's mapped code, larger in a debug build)
to within ANON_SLACK MiB of idle's — 16 MiB, less than one 19 MiB Argon2 buffer, so the same
bound holds a debug and a release build to the same standard.

    python3 memory.py BINARY [--bound 2.0] [--anon-slack 16] [--quiet 10] [--rounds 2] [--logins 20]

Prints the figures of every round and ends with `memory: N passed, N failed`."""

from __future__ import annotations

import argparse
import sys
import time

import newcomer


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--bound", type=float, default=2.0, help="after the quiet, RSS at most this many times idle")
    ap.add_argument("--anon-slack", type=float, default=16.0,
                    help="after the quiet, anonymous memory at most this many MiB above idle's")
    ap.add_argument("--quiet", type=float, default=10.0, help="seconds of quiet after each session")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--logins", type=int, default=newcomer.LOGINS, help="logins per session (0: bodies only)")
    args = ap.parse_args()
    started = time.monotonic()
    figures = newcomer.measure(args.binary, quiet_s=args.quiet, rounds=args.rounds, logins=args.logins)
    idle = figures["idle"]
    print(f"idle: RSS {mib(idle['rss_kib'])} (anonymous {mib(idle['anon_kib'])}), {idle['threads']} threads")
    passed = failed = 0
    for i, r in enumerate(figures["rounds"], 1):
        print(f"session {i} ({r['session_s']:.1f} s): {r['answers']}")
        print(f"  right after: RSS {mib(r['peak']['rss_kib'])} (peak so far {mib(r['peak']['hwm_kib'])}), "
              f"{r['peak']['threads']} threads")
        print(f"  each second of the quiet: {', '.join(f'{k / 1024:.1f}' for k in r['trace_rss_kib'])} MiB")
        ratio = r["after"]["rss_kib"] / idle["rss_kib"]
        ok = ratio <= args.bound
        print(f"  {'ok  ' if ok else 'FAIL'} after {args.quiet:.0f} s quiet: RSS {mib(r['after']['rss_kib'])} "
              f"(anonymous {mib(r['after']['anon_kib'])}, {r['after']['threads']} threads) = {ratio:.2f}x idle "
              f"(bound {args.bound:g}x: {mib(int(idle['rss_kib'] * args.bound))})")
        passed, failed = passed + ok, failed + (not ok)
        grown = (r["after"]["anon_kib"] - idle["anon_kib"]) / 1024
        ok = grown <= args.anon_slack
        print(f"  {'ok  ' if ok else 'FAIL'} anonymous memory {grown:+.1f} MiB over idle's (bound +{args.anon_slack:g} MiB)")
        passed, failed = passed + ok, failed + (not ok)
        for wrong in r["wrong"]:
            print(f"  FAIL the session's answers: {wrong}")
        ok = not r["wrong"]
        passed, failed = passed + ok, failed + (not ok)
    print(f"({time.monotonic() - started:.0f} s)")
    print(f"memory: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
