"""Request and response schemas shared by the blueprints (they generate the OpenAPI document)."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

__all__ = [
    "UtcDateTime",
    "PageArgsSchema",
    "OrganisationSchema",
    "ProjectSchema",
    "ProjectPageSchema",
    "UserSchema",
]

MAX_LIMIT = 1000


class UtcDateTime(fields.DateTime):
    """An RFC 3339 ``date-time`` with its offset: the store's times are UTC, and SQLite returns
    them without their zone (a naive time is not a valid OpenAPI ``date-time``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class PageArgsSchema(Schema):
    """Keyset paging: ``limit`` items after the item with id ``after`` (the ``next`` of the previous page)."""

    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page (1-{MAX_LIMIT})."},
    )
    after = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "The `next` value of the previous page; omit for the first page."},
    )


class OrganisationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["admin", "developer", "agronomist", "viewer"]})
    organisation_id = fields.Integer(required=True)


class ProjectSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_zh = fields.String(allow_none=True)
    methodology_id = fields.String(required=True)
    region = fields.Dict(keys=fields.String(), metadata={"description": "province, city, county, lon, lat"})
    crediting_start = fields.Date(required=True)
    crediting_end = fields.Date(required=True)
    baseline_years = fields.List(fields.Integer())
    project_years = fields.List(fields.Integer())
    settings = fields.Dict(
        keys=fields.String(),
        metadata={"description": "The run settings set for the project (unset keys take their defaults)."},
    )
    created_at = UtcDateTime()


class ProjectPageSchema(Schema):
    items = fields.List(fields.Nested(ProjectSchema), required=True)
    next = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page; null at the end."},
    )


class SettingsChangeSchema(Schema):
    """Settings to set (dotted keys, typed JSON values) and keys to return to their defaults."""

    set = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=100)),
        load_default=dict,
        metadata={"description": 'e.g. {"imagery.max_cloud_cover": 40}'},
    )
    unset = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)

    @validates_schema
    def _not_empty(self, data, **_kw):
        if not data.get("set") and not data.get("unset"):
            raise ValidationError("give at least one key in `set` or `unset`", field_name="set")


class SettingsSchema(Schema):
    settings = fields.Dict(keys=fields.String(), required=True)
