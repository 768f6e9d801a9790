"""@validate on every carrier: models injected into handlers, 422s carrying pydantic's exact error list."""

from __future__ import annotations

import json

import pytest
from adapter_carriers import header, request
from pynecktie import validate

UNPROCESSABLE = {"description": "Unprocessable Content", "status": 422}
URLENCODED = "application/x-www-form-urlencoded"


def _call(port: int, method: str, path: str, body: bytes = b"", ctype: str = "application/json"):
    response, received = request(port, method, path, body, {"Content-Type": ctype})
    return response.status_code, json.loads(received) if received.startswith((b"{", b"[")) else received


def test_valid_json_body_becomes_the_model(validation_example):
    payload = b'{"name":"tie","price":9.5,"tags":["silk"]}'
    status, body = _call(validation_example.port, "POST", "/items", payload)
    assert (status, body) == (201, {"name": "tie", "price": 9.5, "tags": ["silk"]})


def test_invalid_json_body_is_422_with_pydantic_errors(validation_example):
    status, body = _call(validation_example.port, "POST", "/items", b'{"name":"","price":-1,"tags":"x"}')
    assert status == 422
    assert body == {**UNPROCESSABLE, "message": "Invalid json body", "errors": [
        {"type": "string_too_short", "loc": ["name"], "msg": "String should have at least 1 character",
         "input": "", "ctx": {"min_length": 1}},
        {"type": "greater_than", "loc": ["price"], "msg": "Input should be greater than 0", "input": -1,
         "ctx": {"gt": 0.0}},
        {"type": "list_type", "loc": ["tags"], "msg": "Input should be a valid array", "input": "x"},
    ]}


def test_malformed_json_is_400_and_the_error_page_is_json_for_a_json_client(validation_example):
    response, received = request(validation_example.port, "POST", "/items", b'{"name": ',
                                 {"Content-Type": "application/json"})
    assert response.status_code == 400
    assert json.loads(received)["message"].startswith("Failed when parsing body as json")


def test_missing_body_is_422(validation_example):
    status, body = _call(validation_example.port, "POST", "/items")
    assert status == 422
    assert body["errors"] == [{"type": "model_type", "loc": [],
                               "msg": "Input should be a valid dictionary or instance of Item", "input": None,
                               "ctx": {"class_name": "Item"}}]


def test_query_with_repeated_fields(validation_example):
    status, body = _call(validation_example.port, "GET", "/search?q=ties&page=2&tag=a&tag=b")
    assert (status, body) == (200, {"q": "ties", "page": 2, "tags": ["a", "b"]})
    status, body = _call(validation_example.port, "GET", "/search?q=ties")
    assert (status, body) == (200, {"q": "ties", "page": 1, "tags": []})


def test_invalid_query_is_422(validation_example):
    status, body = _call(validation_example.port, "GET", "/search?page=two")
    assert status == 422
    assert body == {**UNPROCESSABLE, "message": "Invalid query", "errors": [
        {"type": "missing", "loc": ["q"], "msg": "Field required", "input": {"page": "two"}},
        {"type": "int_parsing", "loc": ["page"],
         "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "two"},
    ]}


def test_url_encoded_and_multipart_forms(validation_example):
    port = validation_example.port
    status, body = _call(port, "POST", "/signup", b"email=a%40b.c&age=20", URLENCODED)
    assert (status, body) == (200, {"email": "a@b.c", "adult": True})
    multipart = (b'--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\nz@y.x\r\n'
                 b'--XyZ\r\nContent-Disposition: form-data; name="age"\r\n\r\n12\r\n--XyZ--\r\n')
    status, body = _call(port, "POST", "/signup", multipart, "multipart/form-data; boundary=XyZ")
    assert (status, body) == (200, {"email": "z@y.x", "adult": False})


def test_invalid_form_is_422_and_a_non_form_body_400(validation_example):
    port = validation_example.port
    status, body = _call(port, "POST", "/signup", b"email=a%40b.c&age=old", URLENCODED)
    assert status == 422
    assert body == {**UNPROCESSABLE, "message": "Invalid form", "errors": [
        {"type": "int_parsing", "loc": ["age"],
         "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "old"},
    ]}
    status, body = _call(port, "POST", "/signup", b'{"email":"a"}')
    assert status == 400
    assert body["message"] == "Expected a form body, got 'application/json'"


def test_json_and_query_together(apps):
    status, body = _call(apps.port, "POST", "/v/both?ids=1&ids=2&flag=yes", b'{"x":1,"y":2}')
    assert (status, body) == (200, {"body": {"x": 1, "y": 2},
                                    "query": {"limit": 10, "ids": [1, 2], "flag": True}})
    status, body = _call(apps.port, "POST", "/v/both?ids=1&ids=b", b'{"x":1,"y":2}')
    assert status == 422
    assert body["errors"] == [{"type": "int_parsing", "loc": ["ids", 1],
                               "msg": "Input should be a valid integer, unable to parse string as an integer",
                               "input": "b"}]


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("POST", "/v/annotated", {"sum": 3}),
    ("POST", "/v/stream", {"x": 1, "y": 2}),
    ("POST", "/v/list", [{"x": 1, "y": 2}]),
    ("POST", "/v/view", {"view": {"x": 1, "y": 2}}),
    ("PUT", "/v/streamed-view", {"streamed view": {"x": 1, "y": 2}}),
])
def test_injection_by_annotation_on_stream_routes_lists_and_views(apps, method, path, expected):
    body = b'[{"x":1,"y":"2"}]' if path == "/v/list" else b'{"x":1,"y":"2"}'
    assert _call(apps.port, method, path, body) == (200, expected)


def test_list_model_error_locations(apps):
    response, received = request(apps.port, "POST", "/v/list", b'[{"x":1,"y":2},{"x":1}]')
    assert response.status_code == 422
    assert header(response, b"content-type") == b"application/json"
    assert json.loads(received)["errors"] == [{"type": "missing", "loc": [1, "y"], "msg": "Field required",
                                               "input": {"x": 1}}]


def test_validate_needs_a_source_and_not_both_bodies():
    with pytest.raises(ValueError):
        validate()
    with pytest.raises(ValueError):
        validate(json=dict, form=dict)


def test_form_model_with_a_file_field(apps):
    body = (b'--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnn\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="tags"\r\n\r\na\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="tags"\r\n\r\nb\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="avatar"; filename="me.png"\r\n'
            b"Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n")
    status, got = _call(apps.port, "POST", "/v/profile", body, "multipart/form-data; boundary=XyZ")
    assert (status, got) == (200, {"name": "Ann", "tags": ["a", "b"], "file": ["me.png", "image/png", 4]})
    status, got = _call(apps.port, "POST", "/v/profile", b"name=Ann", "application/x-www-form-urlencoded")
    assert status == 422
    assert got["errors"] == [{"type": "missing", "loc": ["avatar"], "msg": "Field required",
                              "input": {"name": "Ann"}}]
