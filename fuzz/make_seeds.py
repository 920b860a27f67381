#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ (a few valid and invalid inputs per target).

Each input's first byte is the target's selector (route, content type, mode: see the target's
doc comment); the rest is the payload. Run from anywhere: python3 fuzz/make_seeds.py
"""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
UUID = b"123e4567-e89b-12d3-a456-426614174000"


def mp(*parts, boundary=b"XyZ", end=True):
    out = b""
    for headers, content in parts:
        out += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    if end:
        out += b"--" + boundary + b"--\r\n"
    return out


def cd(name, filename=None, ctype=None):
    h = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        h += b'; filename="' + filename + b'"'
    if ctype:
        h += b"\r\nContent-Type: " + ctype
    return h


ITEM = (b'{"name":"Widget","price":9.5,"tags":[{"label":"new"}],"dims":{"w":10,"h":20},'
        b'"variants":[{"sku":"ABC-12","qty":3}],"meta":{"a":1},'
        b'"kind":{"type":"physical","weight":{"kg":2.5}},"flags":[true,7]}')
BAD_ITEM = (b'{"name":"","price":0,"tags":[{"label":""}],"dims":{"w":0,"h":20000},'
            b'"variants":[{"sku":"abc","qty":-1,"x":1}],"meta":{"a":"b"},"kind":{"type":"boat"},'
            b'"flags":[1,300]}')

SEEDS = {
    "path_params": [
        b"\x00" + b"42/widget/" + UUID,
        b"\x00" + b"0/x/not-a-uuid",
        b"\x00" + b"abc/" + b"n" * 20 + b"/123e4567-e89b-12d3-a456-42661417400Z",
        b"\x00" + b"%2B7/caf%C3%A9/" + UUID,
        b"\x00" + b"1/%FF/x",
        b"\x00" + b"1/a/b/c",
        b"\x01" + b"7/hello",
        b"\x01" + b"4294967296/x%2Fy",
        b"\x02" + b"-32768",
        b"\x02" + b" 12 ",
        b"\x02" + b"1_000",
        b"\x02" + b"7.0",
        b"\x03" + b"true/0.5/small",
        b"\x03" + b"yes/1.5/medium",
        b"\x03" + b"1/1e0/LARGE",
    ],
    "query": [
        b"\x00" + b"q=shoes&limit=10&tags=a&tags=b&flag=true&offset=-3&score=5&sort=asc",
        b"\x00" + b"q=&limit=0&tags=1&tags=2&tags=3&tags=4&tags=5&tags=6&flag=maybe&score=-1&sort=up",
        b"\x00" + b"limit=+1_0&score=1e3&flag=on&q=%E2%9C%93",
        b"\x00" + b"q=" + b"x" * 40,
        b"\x00" + b"%zz=%&&==&q=a+b%20c&score=nan&offset=99999999999999999999",
        b"\x01" + b"n=3&ids=1&ids=2",
        b"\x01" + b"n=9&ids=&extra=1",
        b"\x02" + b"n=1&n=-2&n=x&b=true&x-y=7",
        b"\x02" + b"n=+3&b=yes&x-y=300",
        b"\x03",
        b"\x03" + b"limit=5",
    ],
    "form": [
        b"\x00" + b"q=shoes&limit=10&tags=a&tags=b&flag=false&offset=0&score=5&sort=desc",
        b"\x00" + b"q=%FF%FE&tags=a&limit=x&sort=",
        b"\x01" + b"n=1&ids=5",
        b"\x01" + b"n=-6&ids=70000&zzz=1",
        b"\x02" + b"q=caf%C3%A9+au+lait",
        b"\x06" + b"q=a",
        b"\x08",
        b"\x0a" + b"q=x",
    ],
    "cookies": [
        b"\x00" + b"session=abc; theme=dark; visits=3",
        b"\x00" + b'session="quoted%20v"; theme=blue; visits=99999',
        b"\x00" + b"junk; =x; session=a\nsession=b; visits=1_000",
        b"\x00" + b"theme=light",
        b"\x01" + b'a=1; b="two"; junk; =x; c=caf%C3%A9\nd=4\na=dup',
        b"\x01" + b'x=%FF%ZZ; y="; z=""',
    ],
    "multipart": [
        b"\x00" + mp((cd(b"a"), b"hello"), (cd(b"f", b"x.txt", b"text/plain"), b"file data")),
        b"\x00" + mp((cd(b"text"), b"caf\xc3\xa9"), (cd(b"chunks", b"c.bin"), b"\x00\x01\x02" * 50), end=False),
        b"\x02" + mp((cd(b"a"), b"quoted boundary")),
        b"\x04" + mp((cd(b"a"), b"no boundary")),
        b"\x08" + mp((cd(b"a"), b"charset param")),
        b"\x0c" + mp((cd(b"a"), b"upper case")),
        b"\x00" + mp(*[(cd(b"a"), b"%d" % i) for i in range(10)]),
        b"\x00" + mp(*[(cd(b"f", b"f%d" % i), b"x") for i in range(5)]),
        b"\x00" + mp((cd(b"a"), b"x" * 600)),
        b"\x01" + mp((cd(b"first"), b"1"), (cd(b"second"), b"2")),
        b"\x00" + b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--XyZ",
        b"\x10" + b"\x00hello\xfe\x05data\xfe\x0d" + b"x" * 600,
        b"\x10" + b"\xfe".join(b"\x00%d" % i for i in range(10)),
        b"\x10" + b"\x01\xff\xfe",
        b"\x10" + b"\x02chunked content\xfe\x06file\xfe\x0eanother",
        b"\x11" + b"\x01first\xfe\x00second",
    ],
    "json_errors": [
        b"\x00" + ITEM,
        b"\x00" + BAD_ITEM,
        b"\x00" + b'{"name": "x", "price": }',
        b"\x00" + b"[1, 2",
        b"\x00" + b'{"name":"\\ud800","price":1}',
        b"\x00" + b'{"name":"w","price":1e400}',
        b"\x00" + b'{"name":"x","price":2,"dims":{"w":2.0,"h":3.0}}',
        b"\x00" + b"[" * 200 + b"]" * 200,
        b"\x10" + ITEM,
        b"\x01" + b'[{"w":1,"h":2},{"w":0}]',
        b"\x02" + b'[1,"two",{"w":1,"h":1},{"w":0,"h":1},null,1.5]',
        b"\x03" + b'{"type":"digital","url":"x"}',
        b"\x03",
        b"\x07" + b'{"type":"physical","weight":{"kg":-1}}',
        b"\x18" + b"{}",
        b"\x1c" + b"{}",
    ],
}

for target, inputs in SEEDS.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for data in inputs:
        name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(inputs)} seeds")
