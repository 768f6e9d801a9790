"""The hostile-input catalogue (RELIABILITY.md A–E) as data: raw bytes → the outcome a correct server shows.

Shared by the loopback wire tests and the mock-transport protocol tests, so both run the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

CRLF = b"\r\n"


def G(x: bytes) -> bytes:
    return b"GET / HTTP/1.1\r\nHost: a\r\n" + x


def P(x: bytes, path: bytes = b"/") -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\nHost: a\r\n" + x


@dataclass(frozen=True)
class Expect:
    """What a case must produce: statuses in order, whether the server then closes, which handlers ran."""

    statuses: tuple[int, ...]
    close: bool = True
    calls: tuple[str, ...] = ()
    bodies: tuple[bytes | None, ...] = ()
    methods: tuple[str, ...] = ()
    check: str = ""


def _name(i: int) -> bytes:
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return bytes((alphabet[i // 62], alphabet[i % 62]))


def closed(status: int) -> Expect:
    """One error status, then the connection closed, no handler run."""
    return Expect((status,))


OK = Expect((200,), close=False, calls=("/",))
C400, C413, C414, C431, C501, C505, C417 = (closed(s) for s in (400, 413, 414, 431, 501, 505, 417))
NEXT = b"GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"

CASES: dict[str, tuple[bytes, Expect]] = {
    # A. Request line
    "A1-header-without-colon": (G(b"T / HTTP/1.1\r\nHost: a\r\n\r\n"), C400),
    "A1-lowercase-method": (b"get / HTTP/1.1\r\nHost: a\r\n\r\n", C400),
    "A1-unknown-method": (b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n", C400),
    "A2-space-in-target": (b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", C400),
    "A2-utf8-in-target": (b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", C400),
    "A2-space-after-version": (b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", C400),
    "A2-tab-after-method": (b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", C400),
    "A3-http-1.2": (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", C400),
    "A3-http-2.0": (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", C505),
    "A3-http-0.9": (b"GET /\r\n\r\n", C400),
    "A4-long-target": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", C414),
    "A5-star-get": (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", C400),
    "A5-options-star": (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", Expect((200,), close=False)),
    "A5-connect": (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", closed(405)),
    "A6-absolute-form": (b"GET http://other/x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n",
                         Expect((200,), close=False, calls=("/x",), check="absolute")),
    "A7-leading-crlf": (b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", OK),
    "A7-megabyte-of-crlf": (b"\r\n" * 500_000 + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", C400),
    "A7-crlf-between-requests": (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
                                 Expect((200, 200), close=False, calls=("/", "/2"))),
    # B. Headers
    "B8-no-host": (b"GET / HTTP/1.1\r\nX: 1\r\n\r\n", C400),
    "B8-two-hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", C400),
    "B8-bad-host": (b"GET / HTTP/1.1\r\nHost: a\x01@b\r\n\r\n", C400),
    "B8-host-userinfo": (b"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", C400),
    "B8-http10-no-host": (b"GET / HTTP/1.0\r\n\r\n", Expect((200,), calls=("/",))),
    "B9-space-before-colon": (G(b"Content-Length : 1\r\n\r\nx"), C400),
    "B9-leading-tab-header": (b"GET / HTTP/1.1\r\n\tContent-Length: 1\r\nHost: a\r\n\r\nx", C400),
    "B10-obs-fold": (G(b"X: a\r\n b\r\n\r\n"), C400),
    "B10-leading-space-host": (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", C400),
    "B11-bare-lf": (b"GET / HTTP/1.1\nHost: a\n\n", C400),
    "B11-bare-lf-in-headers": (b"GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", C400),
    "B12-bare-cr-te": (P(b"X: \rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n"), C400),
    "B13-nul-in-value": (G(b"X: a\x00b\r\n\r\n"), C400),
    "B13-ctl-in-value": (G(b"X: a\x01b\r\n\r\n"), C400),
    "B13-del-in-value": (G(b"X: a\x7fb\r\n\r\n"), C400),
    "B13-obs-text-value": (G(b"X: caf\xc3\xa9\r\n\r\n"), Expect((200,), close=False, calls=("/",), check="obs")),
    "B14-paren-in-name": (G(b"X(y): 1\r\n\r\n"), C400),
    "B14-empty-name": (G(b": x\r\n\r\n"), C400),
    "B14-no-colon": (G(b"NoColon\r\n\r\n"), C400),
    "B14-high-byte-name": (G(b"\xefoo: bar\r\n\r\n"), C400),
    "B14-nel-in-name": (P(b"Content-Length\x85: 10\r\n\r\n0123456789"), C400),
    "B15-9k-value": (G(b"X: " + b"v" * 9216 + b"\r\n\r\n"), C431),
    "B15-17k-section": (G(b"".join(b"X%d: %s\r\n" % (i, b"v" * 1000) for i in range(17)) + CRLF), C431),
    "B15-10000-headers": (G(b"".join(b"X%d: 1\r\n" % i for i in range(10000)) + CRLF), C431),
    "B17-many-cookies": (b"GET /cookies HTTP/1.1\r\nHost: a\r\nCookie: "
                         + b";".join(_name(i) + b"=" for i in range(2000)) + b"\r\n\r\n",
                         Expect((200,), close=False, calls=("/cookies",), bodies=(b"1000",))),
    "B17-backslash-cookie": (b"GET /cookies HTTP/1.1\r\nHost: a\r\nCookie: k=\"" + b"\\" * 20000 + b"\"\r\n\r\n",
                             C431),
    "B17-backslash-cookie-fits": (b"GET /cookies HTTP/1.1\r\nHost: a\r\nCookie: k=\"" + b"\\" * 8000 + b"\"\r\n\r\n",
                                  Expect((200,), close=False, calls=("/cookies",), bodies=(b"1",))),
    "B18-too-many-query-fields": (b"GET /args?" + b"&".join([b"a=1"] * 1100) + b" HTTP/1.1\r\n"
                                  b"Host: a\r\n\r\n", Expect((400,), close=False, calls=("/args",))),
    "B18-semicolon-not-separator": (b"GET /args?a=1;b=2 HTTP/1.1\r\nHost: a\r\n\r\n",
                                    Expect((200,), close=False, calls=("/args",),
                                           bodies=(b"[('a', ['1;b=2'])]",))),
    # C. Framing and smuggling
    "C19-cl-and-te": (P(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                        b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"), C400),
    "C20-cl-and-te-identity": (P(b"Content-Length: 1\r\nTransfer-Encoding: identity\r\n\r\nx"), C400),
    "C21-two-cl-differ": (P(b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx"), C400),
    "C21-two-cl-same": (P(b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"), C400),
    "C21-cl-list": (P(b"Content-Length: 1, 1\r\n\r\nx"), C400),
    **{f"C22-cl-{name}": (P(b"Content-Length: " + value + b"\r\n\r\n" + b"x" * 16), C400) for name, value in [
        ("plus", b"+1"), ("minus", b"-1"), ("underscore", b"1_0"), ("hex", b"0x10"), ("decimal", b"1.0"),
        ("empty", b""), ("suffix", b"1Z"), ("arabic-digit", "٥".encode()), ("superscript", "¹".encode()),
    ]},
    "C23-cl-overflow": (P(b"Content-Length: 99999999999999999999999\r\n\r\n"), C400),
    "C23-cl-too-large": (P(b"Content-Length: 10000000000\r\n\r\n" + b"x" * 100), C413),
    **{f"C24-te-{name}": (P(b"Transfer-Encoding: " + value + b"\r\n\r\n0\r\n\r\n"), C400) for name, value in [
        ("chunked-gzip", b"chunked, gzip"), ("pigeons", b"pigeons"), ("xchunked", b"xchunked"),
        ("nbsp-chunked", b"\xa0chunked"), ("comma-chunked", b",chunked"),
    ]},
    "C24-te-gzip-chunked": (P(b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), C501),
    "C25-two-te-lines": (P(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), C400),
    **{f"C27-chunk-size-{name}": (P(b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\nx\r\n0\r\n\r\n"), C400)
       for name, size in [("0x1", b"0x1"), ("minus", b"-1"), ("plus", b"+1"), ("underscore", b"1_0"),
                          ("leading-space", b" 1"), ("trailing-space", b"1 "), ("empty", b""), ("suffix", b"1Z"),
                          ("17-hex-digits", b"F" * 17)]},
    "C28-chunk-no-crlf": (P(b"Transfer-Encoding: chunked\r\n\r\n3\r\nxxx__1a\r\n"), C400),
    "C28-chunk-cr-junk": (P(b"Transfer-Encoding: chunked\r\n\r\n3\r\nxxx\r_1\r\nx\r\n0\r\n\r\n"), C400),
    "C28-chunk-bare-lf": (P(b"Transfer-Encoding: chunked\r\n\r\n1\r\nZ\n0\r\n\r\n"), C400),
    "C29-ext-bare-lf": (P(b"Transfer-Encoding: chunked\r\n\r\n1;a\nb\r\nZ\r\n0\r\n\r\n"), C400),
    "C29-size-double-cr": (P(b"Transfer-Encoding: chunked\r\n\r\n5\r\r;ABCD\r\n"), C400),
    "C30-chunk-extension-cap": (P(b"Transfer-Encoding: chunked\r\n\r\n" + (b"1;" + b"a" * 16384 + b"\r\nZ\r\n") * 16
                                  + b"0\r\n\r\n"), C400),
    "C30-chunk-extension-cap-stream": (P(b"Transfer-Encoding: chunked\r\n\r\n" + (b"1;" + b"a" * 16384
                                                                                     + b"\r\nZ\r\n") * 16
                                         + b"0\r\n\r\n", b"/stream"), Expect((400,), calls=("/stream",))),
    # D. Bodies and pipelining
    "D35-get-with-body-then-next": (G(b"Content-Length: 5\r\n\r\nhello") + b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
                                    Expect((200, 200), close=False, calls=("/", "/2"), bodies=(b"hello", b""))),
    "D37-three-pipelined": (b"".join(b"GET /%s HTTP/1.1\r\nHost: a\r\n\r\n" % p for p in (b"", b"2", b"x")),
                            Expect((200, 200, 200), close=False, calls=("/", "/2", "/x"))),
    "D38-chunked-stream-then-get": (P(b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                                      b"/stream") + b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
                                    Expect((200, 200), close=False, calls=("/stream", "/2"),
                                           bodies=(b"abcde", b""))),
    "D38-chunked-trailers": (P(b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: 1\r\nHost: evil\r\n\r\n"),
                             Expect((200,), close=False, calls=("/",), bodies=(b"abc",), check="no-trailers")),
    "D39-close-then-next": (G(b"Connection: close\r\n\r\n") + b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
                            Expect((200,), calls=("/",))),
    "D39-close-then-garbage": (G(b"Connection: close\r\n\r\n") + b"Invalid\r\n\r\n", Expect((200,), calls=("/",))),
    "D40-http10": (b"GET / HTTP/1.0\r\nHost: a\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", Expect((200,), calls=("/",))),
    "D40-http10-keep-alive": (b"GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
                              Expect((200,), close=False, calls=("/",), check="keepalive10")),
    "D41-connection-close": (G(b"Connection: close\r\n\r\n"), Expect((200,), calls=("/",))),
    "D41-keep-alive-close": (G(b"Connection: keep-alive, close\r\n\r\n"), Expect((200,), calls=("/",))),
    # E. Expect
    "E43-expect-continue": (P(b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"),
                            Expect((200,), close=False, calls=("/",), bodies=(b"hello",))),
    "E44-expect-too-large": (P(b"Expect: 100-continue\r\nContent-Length: 10000000000\r\n\r\n"),
                             Expect((413,), check="no100")),
    "E46-expect-foo": (P(b"Expect: foo\r\nContent-Length: 1\r\n\r\nx"), C417),
    "E46-expect-continuex": (P(b"Expect: 100-continuex\r\nContent-Length: 1\r\n\r\nx"), C417),
    "E46-expect-http10": (b"POST / HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
                          Expect((200,), calls=("/",), check="no100")),
}

SMALL = {k for k, (raw, _) in CASES.items() if len(raw) <= 1200}




def is_http10(raw: bytes) -> bool:
    """Whether the first request of *raw* is HTTP/1.0 (its answer may end by closing, unannounced)."""
    return b"HTTP/1.0\r\n" in raw.split(b"\r\n\r\n")[0]
