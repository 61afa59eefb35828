"""JSON Schema (draft 2020-12) of the YAML form (journeys and fragment files), generated from
the YAML reader's declarations.

Every key comes from the reader's tables (frontend/yaml.py) with the shape its converter
declares (frontend/yaml_shapes.py) and its description and example (frontend/yaml_docs.py),
so the schema accepts what the reader accepts, and a key added to the reader is in the schema.
"""
from __future__ import annotations

import json
import re

from .ast import CHANNELS
from .frontend.yaml import FRAGMENT_TABLE, JOURNEY_TABLE
from .frontend.yaml_docs import KEY_DOCS
from .frontend.yaml_shapes import (CHANNEL, AnyOf, ListOf, MapOf, OneOrMany, Record, Scalar,
                                   shape_of)

SCHEMA_ID = "https://journeylang.invalid/schema/journey.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


class SchemaBuilder:
    """Walks the reader's shapes once; ``missing_docs`` and ``undescribed`` say what it found
    without a description or without a declared shape (a test keeps both empty)."""

    def __init__(self, channels=CHANNELS):
        self.channels = list(channels)
        self.defs: dict[str, dict] = {}
        self.missing_docs: list[tuple[str, str]] = []
        self.undescribed: list[str] = []
        self._records: dict[str, tuple] = {}

    def build(self) -> dict:
        """A journey; or, when the file starts with ``fragment:``, a fragment file."""
        journey = self._record_def(shape_of(JOURNEY_TABLE))
        fragment = self._record_def(shape_of(FRAGMENT_TABLE))
        return {"$schema": DRAFT, "$id": SCHEMA_ID,
                "title": "journeylang journey or fragment (YAML form)",
                "description": "A customer journey in journeylang's YAML form: an entry, "
                               "stages of steps, goals and policies (docs/language.md); or, "
                               "with a 'fragment' key, a fragment file: parameters, templates "
                               "and steps that journeys use (docs/stdlib.md).",
                "if": {"type": "object", "required": ["fragment"]},
                "then": {"$ref": f"#/$defs/{fragment}"}, "else": {"$ref": f"#/$defs/{journey}"},
                "$defs": dict(sorted(self.defs.items()))}

    def of(self, converter, where: str) -> dict:
        """The schema of what ``converter`` reads (``where`` names it in ``undescribed``)."""
        shape = shape_of(converter)
        if isinstance(shape, Scalar):
            return self._scalar(shape)
        if isinstance(shape, Record):
            return {"$ref": f"#/$defs/{self._record_def(shape)}"}
        if isinstance(shape, ListOf):
            return {"type": "array", "items": self.of(shape.item, where)}
        if isinstance(shape, OneOrMany):
            item = self.of(shape.item, where)
            return {"anyOf": [item, {"type": "array", "items": item}]}
        if isinstance(shape, AnyOf):
            return {"anyOf": [self.of(option, where) for option in shape.options]}
        if isinstance(shape, MapOf):
            return {"type": "object", "propertyNames": {"pattern": shape.key.json["pattern"]},
                    "additionalProperties": self.of(shape.value, where)}
        self.undescribed.append(where)
        return {}

    def _scalar(self, scalar: Scalar) -> dict:
        if scalar.name not in self.defs:
            json_schema = dict(scalar.json)
            if scalar is CHANNEL:
                json_schema = {"type": "string", "enum": self.channels}
            self.defs[scalar.name] = {"description": scalar.about, "examples": [scalar.example],
                                      **json_schema}
        return {"$ref": f"#/$defs/{scalar.name}"}

    def _record_def(self, shape: Record) -> str:
        """The $defs name of a record (its context; two different records of one context get
        numbered names)."""
        signature = (tuple(shape.keys), shape.one_of)
        name, number = _slug(shape.context), 1
        while name in self._records and self._records[name] != signature:
            number += 1
            name = f"{_slug(shape.context)}_{number}"
        if name not in self._records:
            self._records[name] = signature  # before the body: a record may contain itself
            self.defs[name] = {"title": shape.context, **self._record(shape)}
        return name

    def _record(self, shape: Record) -> dict:
        properties = {key: self._property(shape.context, key, converter)
                      for key, (_, converter, _) in shape.keys.items()}
        body = {"type": "object", "properties": properties, "additionalProperties": False}
        required = [key for key, (_, _, needed) in shape.keys.items() if needed]
        if required:
            body["required"] = required
        if shape.one_of:
            body["oneOf"] = [{"required": [key]} for key in shape.one_of]
        return body

    def _property(self, context: str, key: str, converter) -> dict:
        schema = self.of(converter, f"'{key}' in {context}")
        docs = KEY_DOCS.get(context, {}).get(key)
        if docs is None:
            self.missing_docs.append((context, key))
            return schema
        description, example = docs
        return {"description": description, "examples": [example], **schema}


def _slug(context: str) -> str:
    return re.sub(r"\W+", "_", context).strip("_")


def journey_schema(channels=CHANNELS) -> dict:
    """The schema as a JSON-ready dict; ``channels``: the configured channels."""
    return SchemaBuilder(channels).build()


def schema_json(channels=CHANNELS) -> str:
    return json.dumps(journey_schema(channels), indent=2, ensure_ascii=False) + "\n"
