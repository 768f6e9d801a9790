"""METRICS_PATH under necktie-server's HTTP/2: each stream's response is counted as an HTTP/1.1 one is."""

from __future__ import annotations

import socket

import h2.config
import h2.connection
import h2.events
import httpx
from adapter_carriers import eventually
from obs_servers import necktie, samples_of, scrape

PID = {"method": "GET", "route": "/pid", "status": "200"}


def test_http2_streams_are_counted(tmp_path):
    with necktie("counted_app", tmp_path / "log", {}, "--http2") as running:
        base = f"http://127.0.0.1:{running.port}"
        with httpx.Client(http1=False, http2=True) as client:  # cleartext: prior knowledge
            for _ in range(5):
                response = client.get(f"{base}/pid")
                assert response.http_version == "HTTP/2" and response.status_code == 200
            metrics = client.get(f"{base}/metrics").text
    samples = samples_of(metrics)
    assert samples[("necktie_requests_total", frozenset(PID.items()))] == 5
    assert samples[("necktie_response_body_bytes_total", frozenset(PID.items()))] > 0


def test_an_http2_stream_the_client_resets_is_counted_as_cut(tmp_path):
    """A stream reset by the client mid-response is counted as HTTP/1.1's cut streams are (it was not)."""
    with necktie("counted_app", tmp_path / "log", {}, "--http2") as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            conn.send_headers(1, [(":method", "GET"), (":path", "/forever"), (":scheme", "http"),
                                  (":authority", "x")], end_stream=True)
            sock.sendall(conn.data_to_send())
            ticks = 0
            while ticks < 3:  # a few ticks of the streamed response, then the reset
                data = sock.recv(65536)
                assert data, "the server closed the connection"
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived) and event.stream_id == 1:
                        ticks += 1
                        conn.acknowledge_received_data(event.flow_controlled_length, 1)
                sock.sendall(conn.data_to_send())
            conn.reset_stream(1)
            sock.sendall(conn.data_to_send())
            aborted = ("necktie_streams_aborted_total", frozenset({"route": "/forever"}.items()))

            def counted() -> dict | None:
                found = scrape(running.port)
                return found if aborted in found else None

            samples = eventually(counted)
    assert samples is not None and samples[aborted] == 1
    forever = {"method": "GET", "route": "/forever", "status": "200"}
    assert samples[("necktie_requests_total", frozenset(forever.items()))] == 1
