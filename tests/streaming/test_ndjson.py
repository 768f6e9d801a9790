"""NDJSON over real sockets on every carrier: lines validated while the body streams, errors, output."""

from __future__ import annotations

import json
import socket
import threading

from adapter_carriers import request

LINES = 100_000


def test_100k_lines_are_validated_and_answered_while_the_upload_streams(ndjson_example):
    """The ack of line 1 reaches the client before it sends the second half (ordering by an event)."""
    first_ack = threading.Event()
    acks: list[dict] = []
    errors: list[BaseException] = []
    sock = socket.create_connection(("127.0.0.1", ndjson_example.port), timeout=60)

    def read_acks() -> None:
        try:
            buffer = b""
            while len(acks) < LINES:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
                if not acks and b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    assert head.startswith(b"HTTP/1.1 200 ")
                    assert b"content-type: application/x-ndjson" in head.lower()
                # Chunked framing: keep only the JSON lines (chunk-size lines are bare hex digits).
                *complete, buffer = buffer.split(b"\n")
                for line in complete:
                    line = line.rstrip(b"\r")
                    if line.startswith(b"{"):
                        acks.append(json.loads(line))
                        first_ack.set()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            first_ack.set()

    reader = threading.Thread(target=read_acks, daemon=True)
    with sock:
        sock.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        reader.start()

        def send_lines(start: int, stop: int) -> None:
            for base in range(start, stop, 1000):
                numbers = range(base, min(base + 1000, stop))
                chunk = b"".join(b'{"seq":%d,"value":%d.5}\n' % (n, n) for n in numbers)
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))

        send_lines(1, LINES // 2)
        assert first_ack.wait(60), "no acknowledgement while the upload was still open"
        assert not errors, errors
        assert acks[0] == {"seq": 1, "double": 3.0}
        # Only now is the second half, line 100,000 included, sent.
        send_lines(LINES // 2, LINES + 1)
        sock.sendall(b"0\r\n\r\n")
        reader.join(120)
    assert not errors, errors
    assert len(acks) == LINES
    assert acks == [{"seq": n, "double": n * 2 + 1.0} for n in range(1, LINES + 1)]


def test_bad_line_before_the_response_is_a_422_naming_it(ndjson_example):
    body = b'{"seq":1,"value":1}\n\n{"seq":2,"value":"x"}\n{"seq":3,"value":3}\n'
    response, received = request(ndjson_example.port, "POST", "/total", body)
    assert response.status_code == 422
    assert (b"content-type", b"application/json") in response.headers
    assert json.loads(received) == {
        "description": "Unprocessable Content",
        "status": 422,
        "message": "Line 3 of the NDJSON body is invalid: Input should be a valid number, unable to parse "
                   "string as a number",
        "line": 3,
        "errors": [{"type": "float_parsing", "loc": ["value"],
                    "msg": "Input should be a valid number, unable to parse string as a number",
                    "input": "x"}],
    }


def test_malformed_json_line_is_a_422_too(ndjson_example):
    response, received = request(ndjson_example.port, "POST", "/total", b'{"seq":1,"value":1}\n{"seq":\n')
    assert response.status_code == 422
    payload = json.loads(received)
    assert payload["line"] == 2
    assert [e["type"] for e in payload["errors"]] == ["json_invalid"]


def test_good_body_with_crlf_blank_lines_and_no_final_newline(ndjson_example):
    body = b'{"seq":1,"value":1.5}\r\n\r\n  \n{"seq":2,"value":2}'
    response, received = request(ndjson_example.port, "POST", "/total", body)
    assert response.status_code == 200
    assert json.loads(received) == {"count": 2, "total": 3.5}


def test_bad_line_after_the_response_started_is_reported_in_the_stream(ndjson_example):
    body = b'{"seq":1,"value":1}\n{"seq":2}\n{"seq":3,"value":3}\n'
    response, received = request(ndjson_example.port, "POST", "/ingest", body)
    assert response.status_code == 200
    assert [json.loads(line) for line in received.splitlines()] == [
        {"seq": 1, "double": 2.0},
        {"error": "Line 2 of the NDJSON body is invalid: Field required", "line": 2},
    ]


def test_without_a_model_lines_are_plain_json(apps):
    response, received = request(apps.port, "POST", "/nd/plain", b'1\n"two"\n[3]\n{"four":4}\nnull\n')
    assert response.status_code == 200
    assert json.loads(received) == [1, "two", [3], {"four": 4}, None]


def test_a_line_longer_than_the_limit_is_413(apps):
    response, received = request(apps.port, "POST", "/nd/points",
                                 b'{"x":1,"y":2}\n{"x":1,"y":2' + b" " * 100 + b"}\n")
    assert response.status_code == 413
    assert b"Line 2 of the NDJSON body exceeds 64 bytes" in received
    response, _ = request(apps.port, "POST", "/nd/points", b'{"x":1,"y":2}\n{"x":3,"y":4}')
    assert response.status_code == 200


def test_ndjson_response_lines(apps):
    response, received = request(apps.port, "GET", "/nd/out")
    assert response.status_code == 200
    assert (b"content-type", b"application/x-ndjson") in response.headers
    assert received == b'{"x":1,"y":2}\n{"a":[1,"\xc3\xa9"]}\n[3]\n"s"\n4.5\nnull\ntrue\n'
