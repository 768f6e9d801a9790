"""The response-head rules every carrier shares, driven with plain values (no server, no loop)."""

from __future__ import annotations

import pytest
from pynecktie.headers import Headers
from pynecktie.heads import (
    ALREADY_SENT,
    NO_BODY_STATUSES,
    InvalidHeader,
    InvalidResponse,
    Stage,
    check_fields,
    declared_length,
    plan_head,
    plan_response,
)
from pynecktie.response import text


@pytest.mark.parametrize("status", [100, 101, 103, 199, 204, 304])
def test_statuses_without_a_body(status):
    plan = plan_head(status, "text/plain", Headers({"Content-Length": "5", "X-A": "1"}), streamed=True)
    assert status in NO_BODY_STATUSES
    assert plan.body is False
    assert plan.content_type is None  # no body, no default type
    assert plan.length is None  # nor a declared length
    assert plan.fields == [("X-A", "1")]


@pytest.mark.parametrize("status", [200, 201, 205, 302, 404, 500, 599])
def test_statuses_with_a_body(status):
    plan = plan_head(status, "text/plain", None)
    assert plan.body is True
    assert plan.content_type == "text/plain"
    assert plan.fields == []


@pytest.mark.parametrize("status", [99, 600, 0, -1, "200", 200.0, None])
def test_invalid_status(status):
    with pytest.raises(InvalidResponse, match="invalid HTTP status"):
        plan_head(status, None, None)


def test_the_applications_framing_headers_are_dropped():
    headers = Headers([("Transfer-Encoding", "gzip"), ("content-length", "12"), ("X-Kept", "yes")])
    assert plan_head(200, None, headers).fields == [("X-Kept", "yes")]


def test_a_declared_length_is_trusted_only_for_a_streamed_body_and_only_as_a_plain_number():
    assert plan_head(200, None, Headers({"Content-Length": "12"}), streamed=True).length == 12
    assert plan_head(200, None, Headers({"Content-Length": "12"})).length is None
    for bad in ("-1", "1e3", "0x10", " 12", "١٢", "²", ""):  # Arabic-Indic digits and ² are isdigit()
        assert plan_head(200, None, Headers({"Content-Length": bad}), streamed=True).length is None
    first = Headers([("Content-Length", "3"), ("Content-Length", "4")])
    assert plan_head(200, None, first, streamed=True).length == 3


def test_declared_length():
    assert declared_length("0") == 0
    assert declared_length("123") == 123
    assert declared_length(None) is None
    assert declared_length("12a") is None


def test_a_content_type_header_replaces_the_default_type():
    plan = plan_head(200, "text/plain; charset=utf-8", Headers({"Content-Type": "image/png"}))
    assert plan.content_type is None
    assert plan.fields == [("Content-Type", "image/png")]


@pytest.mark.parametrize(
    "value", ["a\rb", "a\nb", "a\r\nX-Evil: 1", "nul\x00", "bell\x07", "del\x7f", "snow☃"]
)
def test_header_values_that_would_corrupt_the_head_are_refused(value):
    with pytest.raises(InvalidHeader, match="CR, LF, another control character") as info:
        plan_head(200, None, Headers([("X-Fine", "ok"), ("X-Bad", value)]))
    assert repr(value) in str(info.value)  # the message names the value at fault
    with pytest.raises(InvalidHeader):
        plan_head(200, value, None)  # the content type is a header value too


@pytest.mark.parametrize("value", ["tab\there", "café", "", "a" * 8000, "\x80\xff"])
def test_header_values_that_are_fine(value):
    assert plan_head(200, None, Headers({"X-A": value})).fields == [("X-A", value)]


@pytest.mark.parametrize("name", ["", "a b", "a:b", "x\r\ny", "é", "a\x00"])
def test_header_names_must_be_tokens(name):
    with pytest.raises(InvalidHeader, match="invalid header name"):
        check_fields([(name, "v")], None)


def test_a_sink_plans_one_response_only():
    response = text("hi", headers={"X-A": "1"})
    plan = plan_response(Stage.IDLE, response)
    assert (plan.fields, plan.content_type, plan.body) == ([("X-A", "1")], "text/plain; charset=utf-8", True)
    for stage in (Stage.STREAMING, Stage.DONE, Stage.ABORTED):
        with pytest.raises(RuntimeError, match=ALREADY_SENT):
            plan_response(stage, response)
