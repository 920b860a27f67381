"""Runs the Autobahn test cases (kosoku) against a WebSocket echo endpoint and summarises them.

usage: run.py WS_URL SUMMARY.md REPORT_DIR

Every case of the suite runs. Sections 1-7 and 10 are required: any case there that is not
OK, NON-STRICT or INFORMATIONAL fails the run. Section 9 (large messages, many fragments) is
reported the same way and also required. Sections 12 and 13 test permessage-deflate, which
brisk does not negotiate: they are reported (UNIMPLEMENTED), not required.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import Counter, defaultdict
from importlib.metadata import version

from kosoku import FailureError, run_fuzzingclient

REQUIRED = {"1", "2", "3", "4", "5", "6", "7", "9", "10"}
NOT_IMPLEMENTED = {"12": "permessage-deflate", "13": "permessage-deflate"}
TITLES = {
    "1": "Framing (text, binary)",
    "2": "Pings/Pongs",
    "3": "Reserved bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 handling",
    "7": "Close handling",
    "9": "Limits/performance",
    "10": "Misc (auto-fragmentation)",
    "12": "WebSocket compression (different payloads)",
    "13": "WebSocket compression (different parameters)",
}
ACCEPTED = {"OK", "NON-STRICT", "INFORMATIONAL"}
COLUMNS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
CONCURRENCY = 4


def verdict(case) -> str:
    """One word per case: FAILED unless both verdicts are accepted; else the weaker one."""
    behavior, close = case.behavior.value, case.behavior_close.value
    if behavior == "UNIMPLEMENTED" and close in ACCEPTED:
        return "UNIMPLEMENTED"
    if behavior not in ACCEPTED or close not in ACCEPTED:
        return "FAILED"
    for word in ("INFORMATIONAL", "NON-STRICT"):
        if word in (behavior, close):
            return word
    return "OK"


def cell(text: str, limit: int = 120) -> str:
    """The first sentence of `text` (which may hold HTML), fit for a Markdown table cell."""
    text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split()).replace("|", "\\|")
    first = text.split(". ")[0].rstrip(".")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def sort_key(case_id: str) -> list[int]:
    return [int(part) for part in case_id.split(".")]


async def run(url: str):
    try:
        return await run_fuzzingclient(url, None, None, concurrency=CONCURRENCY)
    except FailureError as failure:
        return failure.results


def main() -> int:
    url, summary_path, report_dir = sys.argv[1:4]
    started = time.monotonic()
    results = sorted(asyncio.run(run(url)), key=lambda c: sort_key(c.case_id))
    elapsed = time.monotonic() - started

    try:  # kosoku's own Autobahn-style HTML/JSON reports, for digging into a case
        from kosoku._report import write_reports

        write_reports(results, report_dir)
    except Exception as error:  # noqa: BLE001 - the reports are a convenience
        print(f"(could not write the HTML reports: {error})", file=sys.stderr)

    per_section: dict[str, Counter] = defaultdict(Counter)
    notable = []
    for case in results:
        section = case.case_id.split(".")[0]
        word = verdict(case)
        per_section[section][word] += 1
        if word in ("NON-STRICT", "INFORMATIONAL", "FAILED") or (
            word == "UNIMPLEMENTED" and section not in NOT_IMPLEMENTED
        ):
            notable.append((case, word))

    failed_required = [
        (c, w) for c, w in notable if c.case_id.split(".")[0] in REQUIRED and w in ("FAILED", "UNIMPLEMENTED")
    ]
    missing = sorted(REQUIRED - per_section.keys(), key=int)

    lines = [
        "# Autobahn WebSocket conformance: brisk",
        "",
        "Written by `scripts/autobahn`: the Autobahn TestSuite cases, run by",
        f"[kosoku](https://pypi.org/project/kosoku/) {version('kosoku')} against `GET /ws/echo` of",
        "`examples/ws-echo` (brisk's `WebSocketUpgrade` over tokio-tungstenite), over loopback.",
        "",
        "Required: 0 FAILED in sections 1–7, 9 and 10. Sections 12 and 13 test `permessage-deflate`,",
        "which brisk does not negotiate, so they are UNIMPLEMENTED by design.",
        "",
        f"Result: **{'PASS' if not failed_required and not missing else 'FAIL'}** — "
        f"{len(results)} cases, {sum(1 for c in results if verdict(c) == 'FAILED')} FAILED.",
        "",
        "| Section | | Cases | " + " | ".join(COLUMNS) + " |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in COLUMNS) + " |",
    ]
    for section in sorted(per_section, key=int):
        counts = per_section[section]
        lines.append(
            f"| {section} | {TITLES.get(section, '')} | {sum(counts.values())} | "
            + " | ".join(str(counts[c]) for c in COLUMNS)
            + " |"
        )
    total = Counter()
    for counts in per_section.values():
        total.update(counts)
    lines.append(f"| all | | {len(results)} | " + " | ".join(str(total[c]) for c in COLUMNS) + " |")
    lines += ["", "## Cases not plainly OK (outside sections 12–13)", ""]
    if notable:
        lines += ["| Case | Verdict | Behavior | Close | The case | Runner's note |", "| --- | --- | --- | --- | --- | --- |"]
        for case, word in notable:
            why = case.result if case.behavior.value != "OK" else case.result_close
            lines.append(
                f"| {case.case_id} | {word} | {case.behavior.value} | {case.behavior_close.value} "
                f"| {cell(case.description)} | {cell(why)} |"
            )
    else:
        lines.append("None.")
    lines += [
        "",
        "NON-STRICT is conformant (a SHOULD not followed: here, invalid UTF-8 split inside a frame",
        "is detected when the frame is complete rather than at the first bad byte); INFORMATIONAL",
        "cases probe behaviour the RFC leaves open.",
        "",
    ]
    with open(summary_path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))

    table = lines.index(next(line for line in lines if line.startswith("| Section")))
    print("\n".join(lines[table : table + len(per_section) + 3]))
    print(f"{len(results)} cases in {elapsed:.1f} s (concurrency {CONCURRENCY}); summary in {summary_path}")
    for case, word in failed_required:
        print(f"FAILED {case.case_id}: {case.behavior.value}/{case.behavior_close.value}: {case.result} {case.result_close}")
    if missing:
        print(f"no results for required sections {missing}")
    return 1 if failed_required or missing else 0


if __name__ == "__main__":
    sys.exit(main())
