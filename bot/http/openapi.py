"""The admin API's OpenAPI 3.1 description, built from the same models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot import __version__
from bot.feed.changes import OpenIncident, ResolveIncident, UpdateIncident
from bot.feed.models import Feed, Incident
from bot.http import lint

_REF = "#/components/schemas/{model}"


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}},
    }


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, **_json(model.__name__, model.__doc__ or model.__name__)}


_ERRORS = {
    "401": _json("Error", "Missing or wrong bearer token"),
    "403": _json("Error", "The admin API is off (UNAVOZ_ADMIN_TOKEN not set)"),
}
_CHANGE_ERRORS = {
    **_ERRORS,
    "404": _json("Error", "No such incident"),
    "409": _json("Error", "The change cannot apply (duplicate id, already resolved)"),
    "422": _json("Error", "Invalid request, or the change would make the feed invalid"),
}
_AUTHOR = {
    "name": "X-Unavoz-Author",
    "in": "header",
    "required": False,
    "description": "Who makes the change, recorded with the revision (default: api).",
    "schema": {"type": "string", "maxLength": 80},
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _extra_schemas() -> dict[str, Any]:
    revision = {
        "type": "object",
        "required": ["number", "content_hash", "author", "source", "created_at"],
        "properties": {
            "number": {"type": "integer"},
            "content_hash": {"type": "string", "description": "sha256 of the YAML text"},
            "author": {"type": "string"},
            "source": {"type": "string", "examples": ["file", "cli", "api"]},
            "created_at": {"type": "string", "format": "date-time"},
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "problems": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Revision": revision,
        "RevisionWithDocument": {
            "allOf": [
                {"$ref": _REF.format(model="Revision")},
                {"type": "object", "properties": {"document": {"type": "string"}}},
            ]
        },
        "RevisionList": {
            "type": "object",
            "properties": {
                "revisions": {"type": "array", "items": {"$ref": _REF.format(model="Revision")}}
            },
        },
        "CurrentFeed": {
            "type": "object",
            "properties": {
                "revision": {"$ref": _REF.format(model="Revision")},
                "feed": {"$ref": _REF.format(model="Feed")},
            },
        },
        "IncidentList": {
            "type": "object",
            "properties": {
                "incidents": {"type": "array", "items": {"$ref": _REF.format(model="Incident")}}
            },
        },
        "IncidentView": {
            "type": "object",
            "properties": {
                "revision": {"type": "integer"},
                "incident": {"$ref": _REF.format(model="Incident")},
                "channels": {
                    "type": "object",
                    "description": "What each channel says, per locale.",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                    },
                },
            },
        },
        "ChangeResult": {
            "type": "object",
            "properties": {
                "revision": {"$ref": _REF.format(model="Revision")},
                "incident": {"$ref": _REF.format(model="Incident")},
            },
        },
        "Schedule": {
            "type": "object",
            "properties": {
                "now": {"type": "string", "format": "date-time"},
                "revision": {"type": "integer"},
                "edges": {
                    "type": "array",
                    "description": "Promises still to fall due (or due now), soonest first.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "at": {"type": "string", "format": "date-time"},
                            "incident": {"type": "string"},
                            "edge": {"type": "string"},
                            "due": {"type": "boolean"},
                            "what_happens": {"type": "string"},
                        },
                    },
                },
                "overdue": {
                    "type": "array",
                    "description": "Promises already past: next updates owed, ETAs passed.",
                    "items": {"type": "object"},
                },
            },
        },
    }


def _channel_paths() -> dict[str, Any]:
    """What each channel adds to the admin API (its mentions, acks, hand-offs…)."""
    from bot.registry import default_registry  # the channels, asked for at start

    paths: dict[str, Any] = {}
    for channel in default_registry().channels:
        paths.update(channel.admin_paths())
    return paths


def build_openapi() -> dict[str, Any]:
    _, defs = models_json_schema(
        [
            (Feed, "validation"),
            (Incident, "validation"),
            (OpenIncident, "validation"),
            (UpdateIncident, "validation"),
            (ResolveIncident, "validation"),
        ],
        ref_template=_REF,
    )
    schemas = {**defs.get("$defs", {}), **_extra_schemas(), **lint.openapi_schemas()}
    ok = {"200": _json("CurrentFeed")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Unavoz admin API",
            "version": __version__,
            "description": "Read the status feed and its revisions; open, update and resolve "
            "incidents. Every change becomes a revision and rewrites status_feed.yaml.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": {
            "/feed": {"get": {"summary": "The current feed", "responses": {**ok, **_ERRORS}}},
            "/revisions": {
                "get": {
                    "summary": "Revisions, newest first",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                        {"name": "before", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {"200": _json("RevisionList"), **_ERRORS},
                }
            },
            "/revisions/{number}": {
                "get": {
                    "summary": "One revision with its YAML document",
                    "parameters": [
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": _json("RevisionWithDocument"),
                        "404": _json("Error", "No such revision"),
                        **_ERRORS,
                    },
                }
            },
            "/incidents": {
                "get": {
                    "summary": "Open incidents (status=all for every incident)",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["open", "all"]},
                        }
                    ],
                    "responses": {"200": _json("IncidentList"), **_ERRORS},
                },
                "post": {
                    "summary": "Open an incident",
                    "parameters": [_AUTHOR],
                    "requestBody": _body(OpenIncident),
                    "responses": {"201": _json("ChangeResult"), **_CHANGE_ERRORS},
                },
            },
            "/incidents/{id}": {
                "get": {
                    "summary": "An incident and what every channel says about it",
                    "parameters": [_ID],
                    "responses": {
                        "200": _json("IncidentView"),
                        "404": _json("Error", "No such incident"),
                        **_ERRORS,
                    },
                },
                "patch": {
                    "summary": "Update an incident (status, ETA, next update, workaround…)",
                    "parameters": [_ID, _AUTHOR],
                    "requestBody": _body(UpdateIncident),
                    "responses": {"200": _json("ChangeResult"), **_CHANGE_ERRORS},
                },
            },
            "/incidents/{id}/resolve": {
                "post": {
                    "summary": "Resolve an incident",
                    "parameters": [_ID, _AUTHOR],
                    "requestBody": _body(ResolveIncident),
                    "responses": {"200": _json("ChangeResult"), **_CHANGE_ERRORS},
                }
            },
            "/schedule": {
                "get": {
                    "summary": "Upcoming time edges and what will happen at each",
                    "responses": {"200": _json("Schedule"), **_ERRORS},
                }
            },
            **lint.openapi_paths(),
            **_channel_paths(),
        },
    }


@cache
def openapi_yaml() -> bytes:
    return yaml.safe_dump(build_openapi(), sort_keys=False, allow_unicode=True).encode("utf-8")
