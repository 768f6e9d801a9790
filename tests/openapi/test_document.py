"""``app.openapi()``: the document built from the routes as registered (issue 18, "The document")."""

from __future__ import annotations

import jsonschema
import pytest
from necktie_testing import TestClient
from openapi_spec_validator import OpenAPIV31SpecValidator, OpenAPIV32SpecValidator
from pydantic import BaseModel, Field
from pynecktie import Blueprint, Necktie, validate
from pynecktie.config import Config
from pynecktie.forms import File
from pynecktie.openapi import NDJSON, SSE, Binary, Multipart
from pynecktie.response import json, text
from pynecktie.views import HTTPMethodView


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)


class Owner(BaseModel):
    name: str


class Pet(BaseModel):
    name: str
    owner: Owner


class Page(BaseModel):
    q: str
    page: int = 1
    tag: list[str] = []


def ok(request, **params):
    return text("ok")


def operations(doc):
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_path_parameters_get_their_types_schemas_from_one_table():
    app = Necktie("params")
    app.router.register_type("date", r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
    app.router.register_type("count", r"[0-9]+", int)
    app.router.register_type("hexid", r"[0-9a-f]+", schema={"type": "string", "format": "hex"})
    paths = {
        "/i/<v:int>": {"type": "integer"},
        "/f/<v:float>": {"type": "number"},
        "/u/<v:uuid>": {"type": "string", "format": "uuid"},
        "/s/<v>": {"type": "string", "pattern": "^(?:[^/]+)$"},
        "/a/<v:alpha>": {"type": "string", "pattern": "^(?:[A-Za-z]+)$"},
        "/p/<v:path>": {"type": "string", "description": "The rest of the path: it may contain `/`."},
        "/r/<v:[A-Z]{3}>": {"type": "string", "pattern": "^(?:[A-Z]{3})$"},
        "/d/<v:date>": {"type": "string", "pattern": "^(?:[0-9]{4}-[0-9]{2}-[0-9]{2})$"},
        "/c/<v:count>": {"type": "integer"},
        "/h/<v:hexid>": {"type": "string", "format": "hex"},
    }
    for n, path in enumerate(paths):
        app.get(path, name=f"r{n}")(ok)
    doc = app.openapi()
    for path, schema in paths.items():
        templated = path.split("<")[0] + "{v}"
        (param,) = doc["paths"][templated]["get"]["parameters"]
        assert param == {"name": "v", "in": "path", "required": True, "schema": schema}, path
    OpenAPIV31SpecValidator(doc).validate()


def test_several_parameters_in_one_segment_and_versions_and_prefixes():
    app = Necktie("mixed")
    bp = Blueprint("files", url_prefix="/files", version=2)
    bp.get("/<name>.<ext:alpha>")(ok)
    app.blueprint(bp)
    doc = app.openapi()
    op = doc["paths"]["/v2/files/{name}.{ext}"]["get"]
    assert [p["name"] for p in op["parameters"]] == ["name", "ext"]
    assert op["tags"] == ["files"]
    assert doc["tags"] == [{"name": "files"}]


def test_validated_models_land_in_components_once_by_reference():
    app = Necktie("models")

    @app.post("/pets")
    @validate(json=Pet)
    async def add_pet(request, body: Pet):
        return json(body)

    @app.put("/pets/<pet_id:int>")
    @validate(json=Pet)
    async def put_pet(request, pet_id: int, body: Pet):
        return json(body)

    @app.post("/owners")
    @validate(form=Owner)
    async def add_owner(request, body: Owner):
        return json(body)

    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    assert set(schemas) == {"Pet", "Owner", "ValidationFailed"}
    assert schemas["Pet"]["properties"]["owner"] == {"$ref": "#/components/schemas/Owner"}
    pet_ref = {"$ref": "#/components/schemas/Pet"}
    assert doc["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"] == pet_ref
    put = doc["paths"]["/pets/{pet_id}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == pet_ref
    form = doc["paths"]["/owners"]["post"]["requestBody"]["content"]
    assert set(form) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    OpenAPIV31SpecValidator(doc).validate()


def test_a_query_model_becomes_query_parameters():
    app = Necktie("query")

    @app.get("/search")
    @validate(query=Page)
    async def search(request, query: Page):
        return json(query)

    params = app.openapi()["paths"]["/search"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in params] == [
        ("q", "query", True), ("page", "query", False), ("tag", "query", False)]
    assert params[2]["schema"]["type"] == "array"


def test_the_422_schema_is_what_a_failed_validation_answers():
    app = Necktie("v422")

    @app.post("/items")
    @validate(json=Item)
    async def create(request, body: Item):
        return json(body)

    doc = app.openapi()
    response = doc["paths"]["/items"]["post"]["responses"]["422"]
    schema = doc["components"]["schemas"]["ValidationFailed"]
    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationFailed"}
    answer = TestClient(app).post("/items", json={"name": "", "price": -1})
    assert answer.status_code == 422
    jsonschema.validate(answer.json(), schema)
    assert len(answer.json()["errors"]) == 2


def test_docstrings_tags_ids_deprecation_and_exclusions():
    app = Necktie("ops")
    shop = Blueprint("shop", url_prefix="/shop")

    @shop.get("/cart", tags=["cart"], deprecated=True)
    async def cart(request):
        """Show the cart.

        Everything in it, with prices.
        """
        return text("")

    @app.route("/things", methods=["GET", "POST"])
    async def things(request):
        """Things."""
        return text("")

    @app.get("/hidden", openapi=False)
    async def hidden(request):
        return text("")

    @app.get("/same", name="things_get")
    async def clash(request):
        return text("")

    @app.get("/named", summary="Given summary", operation_id="customId", description="Given description")
    async def given(request):
        """Ignored."""
        return text("")

    @app.websocket("/ws")
    async def feed(request, ws):
        pass

    class Thing(HTTPMethodView):
        async def get(self, request):
            """Read a thing."""
            return text("")

        async def delete(self, request):
            """Delete a thing."""
            return text("")

    app.add_route(Thing.as_view(), "/thing")
    app.blueprint(shop)
    doc = app.openapi()
    op = doc["paths"]["/shop/cart"]["get"]
    assert op["summary"] == "Show the cart."
    assert op["description"] == "Everything in it, with prices."
    assert op["tags"] == ["shop", "cart"] and op["deprecated"] is True
    assert op["operationId"] == "shop.cart"
    assert set(doc["paths"]["/things"]) == {"get", "post"}  # no automatic HEAD or OPTIONS
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    assert doc["paths"]["/things"]["get"]["operationId"] == "things_get"
    assert doc["paths"]["/same"]["get"]["operationId"] == "things_get_2"
    named = doc["paths"]["/named"]["get"]
    assert (named["summary"], named["description"], named["operationId"]) == (
        "Given summary", "Given description", "customId")
    assert doc["paths"]["/thing"]["get"]["summary"] == "Read a thing."
    assert doc["paths"]["/thing"]["delete"]["summary"] == "Delete a thing."
    assert "/hidden" not in doc["paths"] and "/ws" not in doc["paths"]
    OpenAPIV31SpecValidator(doc).validate()


def test_info_and_servers_come_from_the_settings():
    app = Necktie("configured", config=Config(
        OPENAPI_TITLE="Shop API", OPENAPI_API_VERSION="2.1.0", OPENAPI_DESCRIPTION="Buy things.",
        OPENAPI_SERVERS="https://api.example.com /staging"))
    app.get("/")(ok)
    doc = app.openapi()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Shop API", "version": "2.1.0", "description": "Buy things."}
    assert doc["servers"] == [{"url": "https://api.example.com"}, {"url": "/staging"}]
    assert Necktie("plain").openapi()["info"] == {"title": "plain", "version": "0.1.0"}
    with pytest.raises(ValueError):
        app.config.OPENAPI_VERSION = "3.0.3"


def test_host_routes_name_their_host():
    app = Necktie("hosts")
    app.get("/", host="api.example.com", name="api_home")(ok)
    app.get("/", name="home")(ok)
    app.get("/admin", host=["a.example.com", "b.example.com"])(ok)
    doc = app.openapi()
    assert "servers" not in doc["paths"]["/"]["get"]  # any host: what most clients reach
    assert doc["paths"]["/admin"]["get"]["servers"] == [
        {"url": "//a.example.com"}, {"url": "//b.example.com"}]
    OpenAPIV31SpecValidator(doc).validate()


def test_response_models_per_status_and_from_the_return_annotation():
    app = Necktie("responses")

    @app.get("/pets/<pet_id:int>", responses={200: Pet, 404: "No such pet.", 204: None,
                                               "default": {"description": "Anything else."}})
    async def get_pet(request, pet_id: int):
        return json({})

    @app.get("/pets")
    async def list_pets(request) -> list[Pet]:
        return json([])

    @app.get("/plain")
    async def plain(request) -> HTTPResponse:  # noqa: F821 - unresolved: not a schema
        return text("")

    doc = app.openapi()
    responses = doc["paths"]["/pets/{pet_id}"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Pet"}
    assert responses["404"] == {"description": "No such pet."}
    assert responses["204"] == {"description": "No Content"}
    assert responses["default"] == {"description": "Anything else."}
    listed = doc["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed == {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}
    assert list(doc["paths"]["/plain"]["get"]["responses"]) == ["default"]
    OpenAPIV31SpecValidator(doc).validate()


class Reading(BaseModel):
    seq: int


class Upload(BaseModel):
    title: str
    photo: File


def stream_app(version: str) -> Necktie:
    app = Necktie("streams", config=Config(OPENAPI_VERSION=version))
    app.post("/ingest", stream=True, request_body=NDJSON(Reading), responses={200: NDJSON(Reading)})(ok)
    app.get("/events", responses={200: SSE(Reading, event="reading"), 201: SSE()})(ok)
    app.post("/upload", stream=True, request_body=Multipart(Upload))(ok)
    app.post("/raw", stream=True)(ok)
    app.get("/download", responses={200: Binary("application/zip")})(ok)
    return app


def test_streams_in_3_1_describe_one_item_and_say_they_stream():
    doc = stream_app("3.1.0").openapi()
    OpenAPIV31SpecValidator(doc).validate()
    ingest = doc["paths"]["/ingest"]["post"]
    assert ingest["requestBody"]["content"] == {
        "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/Reading"}}}
    assert "one per line" in ingest["requestBody"]["description"]
    assert "422" in ingest["responses"]  # a bad line before the answer starts
    assert "one per line" in ingest["responses"]["200"]["description"]
    events = doc["paths"]["/events"]["get"]["responses"]["200"]
    assert "Server-sent events" in events["description"]
    item = events["content"]["text/event-stream"]["schema"]
    assert item["properties"]["data"]["contentMediaType"] == "application/json"
    assert item["properties"]["data"]["contentSchema"] == {"$ref": "#/components/schemas/Reading"}
    assert item["properties"]["event"] == {"const": "reading"}
    text_events = doc["paths"]["/events"]["get"]["responses"]["201"]["content"]["text/event-stream"]
    assert text_events["schema"]["properties"]["data"] == {"type": "string"}
    upload = doc["paths"]["/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"] == {"$ref": "#/components/schemas/Upload"}
    photo = doc["components"]["schemas"]["Upload"]["properties"]["photo"]
    assert doc["components"]["schemas"][photo["$ref"].rsplit("/", 1)[1]]["format"] == "binary"
    raw = doc["paths"]["/raw"]["post"]["requestBody"]["content"]
    assert raw == {"application/octet-stream": {"schema": {
        "type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}}}
    assert "application/zip" in doc["paths"]["/download"]["get"]["responses"]["200"]["content"]


def test_streams_in_3_2_have_an_item_schema():
    doc = stream_app("3.2.0").openapi()
    assert doc["openapi"] == "3.2.0"
    OpenAPIV32SpecValidator(doc).validate()
    body = doc["paths"]["/ingest"]["post"]["requestBody"]["content"]["application/x-ndjson"]
    assert body == {"itemSchema": {"$ref": "#/components/schemas/Reading"}}
    events = doc["paths"]["/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert set(events) == {"itemSchema"}


def test_built_once_and_rebuilt_when_routes_are_added():
    app = Necktie("cache")
    app.get("/a")(ok)
    first = app.openapi()
    assert app.openapi() is first
    app.get("/b")(ok)
    second = app.openapi()
    assert second is not first and set(second["paths"]) == {"/a", "/b"}
    app.config.OPENAPI_TITLE = "Renamed"
    assert app.openapi()["info"]["title"] == "Renamed"


def test_nothing_is_added_to_the_request_path(monkeypatch):
    """Serving requests never builds the document: only asking for it does."""
    import pynecktie.openapi.builder as builder

    calls = []
    monkeypatch.setattr(builder, "build", lambda app: calls.append(app) or {})
    app = Necktie("quiet")
    app.get("/hello")(ok)
    client = TestClient(app)
    for _ in range(3):
        assert client.get("/hello").status_code == 200
    assert calls == []


def test_security_schemes_declared_by_the_app():
    from pynecktie.openapi import declare_security

    app = Necktie("secured")
    app.get("/private")(ok)
    app.get("/public", security=[])(ok)
    app.get("/keyed", security=[{"apiKey": []}])(ok)
    plain = app.openapi()
    assert "security" not in plain and "components" not in plain
    declare_security(app, "bearer", {"type": "http", "scheme": "bearer"}, required=True)
    declare_security(app, "apiKey", {"type": "apiKey", "in": "header", "name": "X-Key"})
    doc = app.openapi()
    assert doc is not plain  # declaring a scheme rebuilds it
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"}}
    assert "security" not in doc["paths"]["/private"]["get"]  # the document's requirement holds
    assert doc["paths"]["/public"]["get"]["security"] == []
    assert doc["paths"]["/keyed"]["get"]["security"] == [{"apiKey": []}]
    OpenAPIV31SpecValidator(doc).validate()
    with pytest.raises(ValueError):
        declare_security(app, "broken", {"scheme": "bearer"})
