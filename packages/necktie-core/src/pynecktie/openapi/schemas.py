"""The document's JSON Schemas: every model a route names is collected first, then pydantic generates them
all at once, so each model lands in ``components/schemas`` once, by name, and everything else refers to it
with a ``$ref``.

While the document is assembled, a schema is a `SchemaRef` placeholder (a type and a JSON Schema mode:
``validation`` for what the app reads, ``serialization`` for what it sends); `Schemas.resolve` replaces them
by the generated schemas in one pass.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from pynecktie.forms import File

__all__ = ["REF_TEMPLATE", "Mode", "SchemaRef", "Schemas", "binary"]

REF_TEMPLATE = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]


def binary() -> dict[str, Any]:
    """The schema of an uploaded file or a byte stream."""
    return {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}


class _Generator(GenerateJsonSchema):
    """pydantic's generator, with form uploads (`pynecktie.forms.File`) described as files."""

    def named_tuple_schema(self, schema: core_schema.NamedTupleSchema) -> JsonSchemaValue:
        """A `File` field is a binary string (what a client uploads), not the tuple the handler gets."""
        if schema.get("cls") is File:
            return binary()
        return super().named_tuple_schema(schema)


class SchemaRef:
    """A placeholder for the schema of *type* in *mode*, filled in by `Schemas.resolve`."""

    __slots__ = ("key", "type", "mode")

    def __init__(self, key: int, type_: Any, mode: Mode) -> None:
        self.key = key
        self.type = type_
        self.mode = mode


class Schemas:
    """Collects the types a document needs, then generates their schemas together."""

    def __init__(self) -> None:
        self._refs: dict[tuple[Any, Mode], SchemaRef] = {}
        self._unhashable: list[SchemaRef] = []
        self.components: dict[str, Any] = {}

    def ref(self, type_: Any, mode: Mode = "validation") -> SchemaRef:
        """The placeholder for *type_*'s schema (one per type and mode)."""
        try:
            found = self._refs.get((type_, mode))
        except TypeError:  # unhashable (Annotated with unhashable metadata): its own placeholder
            ref = SchemaRef(len(self._refs) + len(self._unhashable), type_, mode)
            self._unhashable.append(ref)
            return ref
        if found is None:
            found = self._refs[(type_, mode)] = SchemaRef(
                len(self._refs) + len(self._unhashable), type_, mode
            )
        return found

    def add_component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        """Put a hand-written *schema* in ``components/schemas`` as *name*; its ``$ref``."""
        self.components[name] = schema
        return {"$ref": REF_TEMPLATE.format(model=name)}

    def inline(self, type_: Any) -> dict[str, Any]:
        """*type_*'s own schema now (for a query model, whose fields become parameters); the models it
        refers to go to `components`."""
        schema = TypeAdapter(type_).json_schema(ref_template=REF_TEMPLATE, schema_generator=_Generator)
        for name, definition in schema.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        return schema

    def generate(self) -> dict[int, Any]:
        """Generate every collected schema: placeholder key -> schema; the models go to `components`."""
        refs = [*self._refs.values(), *self._unhashable]
        if not refs:
            return {}
        inputs = [(ref.key, ref.mode, TypeAdapter(ref.type)) for ref in refs]
        by_key, definitions = TypeAdapter.json_schemas(
            inputs, ref_template=REF_TEMPLATE, schema_generator=_Generator
        )
        for name, schema in definitions.get("$defs", {}).items():
            self.components.setdefault(name, schema)
        return {key: schema for (key, _mode), schema in by_key.items()}

    def resolve(self, value: Any, generated: dict[int, Any]) -> Any:
        """*value* with every `SchemaRef` in it replaced by its generated schema."""
        if isinstance(value, SchemaRef):
            return generated[value.key]
        if isinstance(value, dict):
            return {k: self.resolve(v, generated) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, generated) for v in value]
        return value
