#!/usr/bin/env python3
"""Writes smuggling.txt: the raw HTTP/1.1 framing corpus (lengths computed here, bytes exact there).

Run `python3 corpus/gen_smuggling.py > corpus/smuggling.txt` after editing a case.
Every case embeds S, a complete `GET /smuggled` request, where a framing mistake would
expose it as a second request; the test fails if any handler ever sees /smuggled.
"""

S = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
CASES = []


def case(name, expect, why, data, repeat=None):
    CASES.append((name, expect, why, data, repeat))


def post(headers, body=b"", line=b"POST / HTTP/1.1"):
    return line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def cl(n):
    return b"Content-Length: " + str(n).encode()


CHUNKED_S = b"0\r\n\r\n" + S  # a CL.TE payload: chunked ends early, CL includes S
HELLO_CHUNKED = b"5\r\nhello\r\n0\r\n\r\n"

# --- Content-Length -------------------------------------------------------------------------
body = b"hello" + S
case("cl-duplicate-conflicting", "reject", "RFC 9112 6.3(5): differing Content-Length values are unrecoverable; 400",
     post([b"Host: x", cl(5), cl(len(body))], body))
case("cl-duplicate-conflicting-reversed", "reject", "same, larger value first",
     post([b"Host: x", cl(len(body)), cl(5)], body))
case("cl-list-conflicting", "reject", "a comma list of differing lengths is invalid",
     post([b"Host: x", b"Content-Length: 5, " + str(len(body)).encode()], body))
case("cl-duplicate-identical", "either", "RFC 9112 6.3(5) allows identical repeated values to be merged; S is then pipelined, so it is sent as body only",
     post([b"Host: x", cl(len(body)), cl(len(body))], body))
case("cl-list-identical", "either", "`N, N` may be accepted as N (RFC 9110 8.6) or rejected",
     post([b"Host: x", b"Content-Length: %d, %d" % (len(body), len(body))], body))
case("cl-negative", "reject", "Content-Length is 1*DIGIT", post([b"Host: x", b"Content-Length: -1"], S))
case("cl-plus-sign", "reject", "Content-Length is 1*DIGIT; `+5` is not",
     post([b"Host: x", b"Content-Length: +5"], b"hello" + S))
case("cl-hex", "reject", "Content-Length is decimal", post([b"Host: x", b"Content-Length: 0x5"], b"hello" + S))
case("cl-overflow", "reject", "a length beyond u64 must not wrap",
     post([b"Host: x", b"Content-Length: 184467440737095516160"], b"hello" + S))
case("cl-u64-max", "reject", "u64::MAX: over the body limit (413) or rejected by the parser",
     post([b"Host: x", b"Content-Length: 18446744073709551615"], b"hello" + S))
case("cl-space-inside", "reject", "`4 0` is not a number (a proxy could read 4 or 40)",
     post([b"Host: x", b"Content-Length: 4 0"], b"hello" + S))
case("cl-empty", "reject", "an empty Content-Length is invalid", post([b"Host: x", b"Content-Length: "], S))
case("cl-decimal-point", "reject", "`5.0` is not 1*DIGIT", post([b"Host: x", b"Content-Length: 5.0"], b"hello" + S))
case("cl-leading-zeros", "either", "`0005` matches 1*DIGIT; accepting it as 5 is correct",
     post([b"Host: x", b"Content-Length: 000%d" % len(body)], body))
case("cl-space-before-colon", "reject", "RFC 9112 5.1: whitespace between name and colon MUST be rejected with 400",
     post([b"Host: x", b"Content-Length : %d" % len(body)], body))
case("cl-tab-before-colon", "reject", "same, with a tab", post([b"Host: x", b"Content-Length\t: %d" % len(body)], body))
case("cl-underscore-name", "accept", "`Content_Length: 0` is another header (underscore); the real CL frames S inside the body",
     post([b"Host: x", b"Content_Length: 0", cl(len(body))], body))
case("cl-get-with-body", "accept", "GET with a Content-Length body: one request, S stays inside the body",
     post([b"Host: x", cl(len(body))], body, line=b"GET / HTTP/1.1"))
case("cl-expect-continue", "accept", "Expect: 100-continue sent with its body at once; one request",
     post([b"Host: x", b"Expect: 100-continue", cl(len(body))], body))

# --- Transfer-Encoding ----------------------------------------------------------------------
case("te-cl-both-cl-first", "either", "CL.TE: RFC 9112 6.1 lets TE win but then the connection MUST close, so S never runs",
     post([b"Host: x", cl(len(CHUNKED_S)), b"Transfer-Encoding: chunked"], CHUNKED_S))
case("te-cl-both-te-first", "either", "same, TE before CL",
     post([b"Host: x", b"Transfer-Encoding: chunked", cl(len(CHUNKED_S))], CHUNKED_S))
te_cl_body = b"5\r\nhello\r\n0\r\n\r\n" + S
case("te-cl-both-te-cl-smuggle", "either", "TE.CL: chunked body then S; close after answering means S never runs",
     post([b"Host: x", b"Transfer-Encoding: chunked", cl(4)], te_cl_body))
case("te-chunked-identity", "reject", "RFC 9112 6.3(4): chunked is not the final coding of a request: 400",
     post([b"Host: x", b"Transfer-Encoding: chunked, identity", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-identity-chunked", "either", "chunked is final; `identity` is unregistered (RFC 9112) so rejecting is fine too",
     post([b"Host: x", b"Transfer-Encoding: identity, chunked"], HELLO_CHUNKED))
case("te-space-before-colon", "reject", "RFC 9112 5.1: `Transfer-Encoding : chunked` MUST be rejected",
     post([b"Host: x", b"Transfer-Encoding : chunked", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-tab-before-colon", "reject", "same, with a tab", post([b"Host: x", b"Transfer-Encoding\t: chunked", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-tab-before-value", "accept", "a tab is OWS before the value: valid chunked, one request",
     post([b"Host: x", b"Transfer-Encoding:\tchunked"], HELLO_CHUNKED))
case("te-no-space-value", "accept", "`Transfer-Encoding:chunked` is valid", post([b"Host: x", b"Transfer-Encoding:chunked"], HELLO_CHUNKED))
case("te-trailing-space", "accept", "trailing OWS is trimmed", post([b"Host: x", b"Transfer-Encoding: chunked \t"], HELLO_CHUNKED))
case("te-uppercase", "accept", "coding names are case-insensitive", post([b"Host: x", b"Transfer-Encoding: CHUNKED"], HELLO_CHUNKED))
case("te-xchunked", "reject", "an unknown coding; chunked is not final: 400 (or 501)",
     post([b"Host: x", b"Transfer-Encoding: xchunked", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-chunkedx", "reject", "same, suffix variant", post([b"Host: x", b"Transfer-Encoding: chunkedx", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-chunked-semicolon", "reject", "`chunked;q=1` is not the chunked coding",
     post([b"Host: x", b"Transfer-Encoding: chunked;q=1", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-quoted", "reject", "`\"chunked\"` is not a coding token",
     post([b"Host: x", b'Transfer-Encoding: "chunked"', cl(len(CHUNKED_S))], CHUNKED_S))
case("te-duplicated-header", "either", "two `chunked` lines = chunked applied twice (RFC 9112 7: MUST NOT); a reject is best, one request is acceptable",
     post([b"Host: x", b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"], HELLO_CHUNKED))
case("te-duplicated-then-identity", "reject", "TE lines merge to `chunked, identity`: chunked not final",
     post([b"Host: x", b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-leading-comma", "either", "empty list elements are ignorable (RFC 9110 5.6.1)",
     post([b"Host: x", b"Transfer-Encoding: , chunked"], HELLO_CHUNKED))
case("te-vertical-tab", "reject", "VT is not OWS: the value is not `chunked`",
     post([b"Host: x", b"Transfer-Encoding:\x0bchunked", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-obs-fold", "reject", "RFC 9112 5.2: obs-fold in a request: 400 (or replace with SP, which still must not smuggle)",
     post([b"Host: x", b"Transfer-Encoding:\r\n chunked", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-nul-in-value", "reject", "NUL in a field value MUST be rejected (RFC 9110 5.5)",
     post([b"Host: x", b"Transfer-Encoding: chunked\x00", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-space-in-name", "reject", "`Transfer Encoding` is not a token", post([b"Host: x", b"Transfer Encoding: chunked", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-underscore-name", "accept", "`Transfer_Encoding` is another header: CL frames the body, S stays inside it",
     post([b"Host: x", b"Transfer_Encoding: chunked", cl(len(CHUNKED_S))], CHUNKED_S))
case("te-http10-chunked", "reject", "RFC 9112 6.1: TE in HTTP/1.0 is faulty framing; reject or close",
     post([b"Host: x", b"Transfer-Encoding: chunked"], HELLO_CHUNKED + S, line=b"POST / HTTP/1.0"))
case("te-http10-chunked-and-cl", "reject", "same, with a CL that would frame S inside the body",
     post([b"Host: x", b"Transfer-Encoding: chunked", cl(len(CHUNKED_S))], CHUNKED_S, line=b"POST / HTTP/1.0"))
case("te-gzip-chunked", "either", "chunked is final; gzip is passed to the app undecoded",
     post([b"Host: x", b"Transfer-Encoding: gzip, chunked"], HELLO_CHUNKED))
case("te-identity-only", "reject", "a request TE without chunked: 400 (RFC 9112 6.3(4))",
     post([b"Host: x", b"Transfer-Encoding: identity", cl(len(CHUNKED_S))], CHUNKED_S))

# --- chunk framing --------------------------------------------------------------------------
te = [b"Host: x", b"Transfer-Encoding: chunked"]
case("chunk-size-overflow", "reject", "a chunk size beyond u64 must not wrap", post(te, b"1ffffffffffffffff\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-size-u64-max", "reject", "a u64::MAX chunk: over the body limit or rejected", post(te, b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-size-bad-hex", "reject", "`5g` is not HEXDIG", post(te, b"5g\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-size-negative", "reject", "`-5` is not HEXDIG", post(te, b"-5\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-size-0x-prefix", "reject", "`0x5` is not a chunk size", post(te, b"0x5\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-size-leading-space", "reject", "no whitespace before a chunk size", post(te, b" 5\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-size-empty", "reject", "an empty chunk-size line", post(te, b"\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-size-many-zeros", "either", "leading zeros are 1*HEXDIG; accept as 5", post(te, b"0000000000000000000005\r\nhello\r\n0\r\n\r\n"))
case("chunk-size-trailing-space", "either", "BWS before an extension is tolerated by some parsers", post(te, b"5 \r\nhello\r\n0\r\n\r\n"))
case("chunk-data-too-long", "reject", "data longer than the size, no CRLF where it must be", post(te, b"3\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-data-too-short", "reject", "data shorter than the size: the CRLF check fails", post(te, b"8\r\nhello\r\n0\r\n\r\n" + S))
case("chunk-missing-crlf", "reject", "no CRLF after the data", post(te, b"5\r\nhelloXX0\r\n\r\n" + S))
case("chunk-bare-lf", "either", "bare LF in chunk framing (RFC 9112 2.2 lets a recipient accept LF)", post(te, b"5\nhello\n0\n\n"))
case("chunk-ext-valid", "accept", "a chunk extension is ignored", post(te, b"5;name=value\r\nhello\r\n0\r\n\r\n"))
case("chunk-ext-bare-lf-smuggle", "reject", "an extension hiding an LF: `5;\\n` must not split into a new line", post(te, b"5;a\nGET /smuggled\r\nhello\r\n0\r\n\r\n"))
case("chunk-trailer-smuggle", "either", "S's head in the trailer section is trailer fields at worst, never a request; closing is fine",
     post(te, b"0\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
CASES.append(("chunk-ext-oversized", "reject", "a 64 KiB chunk extension: hyper caps extensions (16 KiB), then 4xx/close",
              None, (te, 65536)))

# --- request head ---------------------------------------------------------------------------
case("bare-lf-head", "either", "bare LF line endings (RFC 9112 2.2: MAY accept); one request if accepted",
     b"GET / HTTP/1.1\nHost: x\n\n")
case("bare-lf-head-cl", "either", "bare LF with a CL body holding S", b"POST / HTTP/1.1\nHost: x\nContent-Length: %d\n\n" % len(S) + S)
case("bare-cr-head", "reject", "RFC 9112 2.2: a bare CR MUST be rejected or replaced by SP", b"GET / HTTP/1.1\rHost: x\r\r\n\r\n" + S)
case("host-space-before-colon", "reject", "RFC 9112 5.1: 400", post([b"Host : x"], line=b"GET / HTTP/1.1"))
case("header-bare-cr-injection", "reject", "a bare CR inside a value trying to start a new header",
     post([b"Host: x", b"X-A: a\rContent-Length: %d" % len(S)], S))
case("header-lf-injection-cl", "either", "an LF inside a value is a line end: X-A then CL frame S as the body; one request",
     post([b"Host: x", b"X-A: a\nContent-Length: %d" % len(S)], S))
case("header-obs-fold", "reject", "RFC 9112 5.2: obs-fold in a request: 400 (or unfolded; never smuggling)",
     post([b"Host: x", b"X-Folded: a", b" b"], line=b"GET / HTTP/1.1"))
case("header-nul-value", "reject", "NUL in a field value", post([b"Host: x", b"X-A: a\x00b"], line=b"GET / HTTP/1.1"))
case("header-nul-name", "reject", "NUL in a field name", post([b"Host: x", b"X-\x00A: b"], line=b"GET / HTTP/1.1"))
case("header-non-ascii-name", "reject", "a non-token byte in a field name", post([b"Host: x", b"X-\xc3\xa9: b"], line=b"GET / HTTP/1.1"))
case("header-empty-name", "reject", "`: value` has no name", post([b"Host: x", b": b"], line=b"GET / HTTP/1.1"))
case("header-no-colon", "reject", "a field line without a colon", post([b"Host: x", b"X-A b"], line=b"GET / HTTP/1.1"))
case("request-line-nul", "reject", "NUL in the request target", b"GET /\x00smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
case("request-line-double-space", "reject", "`GET  / HTTP/1.1`: the grammar has single SP", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n")
case("request-line-tab", "reject", "tabs are not SP in the request line", b"GET\t/\tHTTP/1.1\r\nHost: x\r\n\r\n")
case("request-line-crlf-in-target", "reject", "a target split by a bare LF", b"GET /\n/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
case("http09", "reject", "HTTP/0.9 simple request", b"GET /smuggled\r\n\r\n")
case("http-version-2-over-h1", "reject", "`HTTP/2.0` in an HTTP/1 request line (not the h2c preface)", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
case("http-version-garbage", "reject", "`HTTP/1.1x`", b"GET / HTTP/1.1x\r\nHost: x\r\n\r\n")
case("http10-keepalive-cl", "accept", "HTTP/1.0 with CL holding S: one request, S is body",
     post([b"Host: x", cl(len(S))], S, line=b"POST / HTTP/1.0"))
case("connection-close-cl", "accept", "Connection: close with a CL body holding S", post([b"Host: x", b"Connection: close", cl(len(S))], S))
case("absolute-form-target", "accept", "absolute-form target to `/`: one request", b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n")
case("leading-empty-lines", "either", "RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request-line",
     b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")


def esc(data):
    out = []
    for i, b in enumerate(data):
        c = chr(b)
        if c == "\r":
            out.append("\\r")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif b == 0:
            out.append("\\0")
        elif c == "\\":
            out.append("\\\\")
        elif b < 0x20 or b >= 0x7f or (c == " " and (i == 0 or i == len(data) - 1)):
            out.append("\\x%02x" % b)
        else:
            out.append(c)
    return "".join(out)


print("# brisk reliability: the request smuggling and framing corpus (tests/smuggling.rs).")
print("# Generated by corpus/gen_smuggling.py (which computes the lengths); the bytes here are what is sent.")
print("# Format: `=== name`, `expect: reject|accept|either`, `why:`, then `data:` lines concatenated")
print("# (escapes \\r \\n \\t \\0 \\\\ \\xHH; the file's own newlines are not sent) and `data-repeat: N text`.")
print("#   reject = a 4xx/5xx answer or the connection closed, and no request completed in a handler")
print("#   accept = exactly one request reached the handler, read its whole body, and got a 2xx")
print("#   either = both are RFC-compliant")
print("# In EVERY case, no request for /smuggled may ever reach a handler.")
for name, expect, why, data, repeat in CASES:
    print()
    print("=== " + name)
    print("expect: " + expect)
    print("why: " + why)
    if repeat:
        headers, n = repeat
        print("data: " + esc(post(headers)) + "5;a=")
        print("data-repeat: %d x" % n)
        print("data: " + esc(b"\r\nhello\r\n0\r\n\r\n" + S))
    else:
        # split at CRLFs for readability; concatenation restores the exact bytes
        parts = data.split(b"\r\n")
        line = ""
        for k, part in enumerate(parts):
            chunk = part + (b"\r\n" if k < len(parts) - 1 else b"")
            if chunk:
                print("data: " + esc(chunk))
