"""The OpenAPI 3.1 document of the JSON API (``GET /api/v1/openapi.json``).

The parameter constraints come from the same constants the search checks them with, and the
specialisation codes from the database, so the document cannot drift from what the API does.
"""

from typing import Any

from registry.mediators.models import CertificationType, Status
from registry.reference import COUNTRIES, LANGUAGES
from registry.search.queries import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    MAX_RESULTS_REACHABLE,
    MAX_WORDS,
)

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
# Shown as examples of the path parameters (the schema tests give real mediators these).
EXAMPLE_PUBLIC_ID = "M7K2QXH9PTA"
EXAMPLE_CERTIFICATE_NUMBER = "MR-2026-000042"

NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}


def _description(rate_limit: str) -> str:
    return f"""\
Public, read-only access to the register of certified mediators and mediation advocates.

* **Find**: `GET /api/v1/mediators` lists the mediators who are certified and listed today.
* **Verify**: `GET /api/v1/mediators/{{public_id}}` and `GET /api/v1/verify/{{certificate_number}}`
  say where a mediator or a certificate stands today. Only `status: certified` (with
  `listed: true`) means valid; every other status reads as "not currently certified".

No authentication. Every operation also answers `HEAD`, and `OPTIONS` (a CORS preflight, 204).

**Errors** always have the body `{{"error": {{"status": 400, "message": "..."}}}}`, also for
unknown addresses (404) and other methods (405, with `Allow`).

**Caching**: answers carry `Cache-Control: public, max-age=60`, a strong `ETag` and (except
this document) `Last-Modified`; send `If-None-Match` or `If-Modified-Since` to get 304.

**Rate limit**: {rate_limit} per client address, for the whole API; beyond it the answer is
429 with `Retry-After` (seconds). `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (Unix time) report the budget.

**Languages**: the sentences meant for people (`explanation`, error `message`) are written in
the language `Accept-Language` asks for among English, French, Spanish, German and Dutch
(English otherwise), and `Content-Language` says which; codes, statuses and field names never
change with the language. Answers vary with `Accept-Language`.

**CORS**: any origin may read the answers (`Access-Control-Allow-Origin: *`, no credentials).
"""


def openapi_document(
    public_url: str,
    rate_limit: str,
    specialisations: list[str],
    *,
    count_cap: int = MAX_RESULTS_REACHABLE,
) -> dict[str, Any]:
    """Return the OpenAPI document; ``specialisations`` are the known specialisation codes.

    ``count_cap`` is ``SEARCH_COUNT_CAP``: how far the list counts, and its pages reach.
    """
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Mediator Registry API",
            "version": API_VERSION,
            "description": _description(rate_limit),
        },
        "servers": [{"url": public_url}],
        "paths": _paths(),
        "components": {
            "parameters": _parameters(specialisations, count_cap),
            "schemas": _schemas(count_cap),
            "headers": _headers(),
            "responses": _responses(),
        },
    }


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _paths() -> dict[str, Any]:
    return {
        "/api/v1/mediators": {
            "get": _operation(
                "listMediators",
                "Find listed mediators",
                "Mediators certified and listed today that match every given filter, in "
                "name order. Names match word by word: every word of `q` must start a word "
                "of the name, in any order, accents and case ignored.",
                _ok("A page of listed mediators.", "MediatorPage", last_modified=True),
                errors={"400": _ref("responses", "BadRequest")},
                parameters=[
                    _ref("parameters", name)
                    for name in ("q", "country", "language", "specialisation", "page", "per_page")
                ],
            )
        },
        "/api/v1/mediators/{public_id}": {
            "get": _operation(
                "getMediator",
                "Verify a mediator",
                "Where the mediator with this public id (from the profile link) stands today, "
                "or stood on the day `as_of`. A person holding both certifications is "
                "answered for each in `certifications`.",
                _ok("The mediator's standing on the day.", "Verification", last_modified=True),
                errors={
                    "400": _ref("responses", "BadRequest"),
                    "404": _ref("responses", "NotFound"),
                },
                parameters=[_ref("parameters", "public_id"), _ref("parameters", "as_of")],
            )
        },
        "/api/v1/mediators/{public_id}/credential": {
            "get": _credential_operation(
                "getMediatorCredential",
                "The mediator's certification as a credential",
                "The mediator certification (or, with `type=advocate`, the advocate one; an "
                "advocate only: theirs) as an Open Badges 3.0 credential signed by the registry.",
                [_ref("parameters", "public_id"), _ref("parameters", "type")],
            )
        },
        "/api/v1/verify/{certificate_number}": {
            "get": _operation(
                "verifyCertificate",
                "Verify a certificate number",
                "Whether this certificate is valid today, or was on the day `as_of`. A number "
                "from an earlier grant (before striking or revocation) stays not valid.",
                _ok("The certificate's standing on the day.", "Verification", last_modified=True),
                errors={
                    "400": _ref("responses", "BadRequest"),
                    "404": _ref("responses", "NotFound"),
                },
                parameters=[_ref("parameters", "certificate_number"), _ref("parameters", "as_of")],
            )
        },
        "/api/v1/verify/{certificate_number}/credential": {
            "get": _credential_operation(
                "getCertificateCredential",
                "A certificate as a credential",
                "The certificate as an Open Badges 3.0 credential signed by the registry.",
                [_ref("parameters", "certificate_number")],
            )
        },
        "/api/v1/openapi.json": {
            "get": _operation(
                "getOpenApiDocument",
                "This document",
                "The OpenAPI 3.1 description of the API.",
                {
                    "description": "The OpenAPI document.",
                    "headers": _ok_headers(last_modified=False),
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                errors={},
                parameters=[],
            )
        },
    }


def _credential_operation(
    operation_id: str, summary: str, description: str, parameters: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description
        + " A compact JWS (VC-JWT, EdDSA) whose payload is an `OpenBadgeCredential` (VC Data "
        "Model 2.0); the key is in `/.well-known/jwks.json` (the header's `kid`), and its "
        "`credentialStatus` names its entries in the registry's Bitstring Status Lists "
        "(revocation and suspension). Issued only while the certification is certified; "
        "never cached.",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The signed credential.",
                "headers": _common_headers(),
                "content": {"application/vc+jwt": {"schema": {"type": "string"}}},
            },
            "400": _ref("responses", "BadRequest"),
            "404": _ref("responses", "NotFound"),
            "429": _ref("responses", "TooManyRequests"),
        },
    }


def _operation(
    operation_id: str,
    summary: str,
    description: str,
    ok: dict[str, Any],
    *,
    errors: dict[str, Any],
    parameters: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "parameters": parameters,
        "responses": {
            "200": ok,
            "304": _ref("responses", "NotModified"),
            **errors,
            "429": _ref("responses", "TooManyRequests"),
        },
    }


def _ok(description: str, schema: str, *, last_modified: bool) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _ok_headers(last_modified=last_modified),
        "content": {"application/json": {"schema": _ref("schemas", schema)}},
    }


def _ok_headers(*, last_modified: bool) -> dict[str, Any]:
    headers = {
        "ETag": _ref("headers", "ETag"),
        "Cache-Control": _ref("headers", "Cache-Control"),
        **_common_headers(),
    }
    if last_modified:
        headers["Last-Modified"] = _ref("headers", "Last-Modified")
    return headers


def _common_headers() -> dict[str, Any]:
    return {
        "Access-Control-Allow-Origin": _ref("headers", "Access-Control-Allow-Origin"),
        "X-RateLimit-Limit": _ref("headers", "X-RateLimit-Limit"),
        "X-RateLimit-Remaining": _ref("headers", "X-RateLimit-Remaining"),
        "X-RateLimit-Reset": _ref("headers", "X-RateLimit-Reset"),
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    # The contract's own form is "?q=&country=&...": an empty value means "not given".
    return {
        "name": name,
        "in": "query",
        "description": f"{description} Empty means not given.",
        "schema": schema,
        "allowEmptyValue": True,
    }


def _parameters(specialisations: list[str], count_cap: int) -> dict[str, Any]:
    specialisation_schema: dict[str, Any] = {"type": "string"}
    if specialisations:
        specialisation_schema["enum"] = specialisations
    return {
        "q": _query(
            "q",
            f"Words of the name (at most {MAX_WORDS} words); each must start a word of the "
            "name. Punctuation is ignored.",
            {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        ),
        "country": _query(
            "country",
            "ISO 3166-1 alpha-2 code of the mediator's country (case ignored).",
            {"type": "string", "enum": sorted(COUNTRIES)},
        ),
        "language": _query(
            "language",
            "ISO 639-1 code of a language the mediator works in (case ignored).",
            {"type": "string", "enum": sorted(LANGUAGES)},
        ),
        "specialisation": _query(
            "specialisation",
            "Code of a specialisation the registry granted the mediator and that is live "
            "today (case ignored). Nothing a mediator declares about themself counts.",
            specialisation_schema,
        ),
        "page": _query(
            "page",
            f"Page number, from 1. Only the first {count_cap:,} results can be "
            "reached: a page past them is refused (narrow the search).",
            {"type": "integer", "minimum": 1, "maximum": count_cap, "default": 1},
        ),
        "per_page": _query(
            "per_page",
            "Mediators per page.",
            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
        ),
        "as_of": _query(
            "as_of",
            "A past day (YYYY-MM-DD) to answer for: what the rules said that day, from the "
            "facts recorded with their dates. Not before the registry's records, not after "
            "today (400).",
            {"type": "string", "format": "date"},
        ),
        "type": _query(
            "type",
            "Which certification of a person holding both: `mediator` (the default) or `advocate`.",
            {"type": "string", "enum": [t.value for t in CertificationType]},
        ),
        "public_id": {
            "name": "public_id",
            "in": "path",
            "required": True,
            "description": "The mediator's public id, as in the profile link (case ignored).",
            "schema": {"type": "string", "minLength": 1, "examples": [EXAMPLE_PUBLIC_ID]},
        },
        "certificate_number": {
            "name": "certificate_number",
            "in": "path",
            "required": True,
            "description": (
                "The certificate number; spaces, case and the leading zeros of its sequence "
                "are ignored (mr 2026 42 finds MR-2026-000042)."
            ),
            "schema": {"type": "string", "minLength": 1, "examples": [EXAMPLE_CERTIFICATE_NUMBER]},
        },
    }


def _schemas(count_cap: int) -> dict[str, Any]:
    nullable_string = {"type": ["string", "null"]}
    return {
        "MediatorItem": _object(
            {
                "public_id": {"type": "string"},
                "name": {"type": "string"},
                "country": {**nullable_string, "description": "ISO 3166-1 alpha-2 code."},
                "languages": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "ISO 639-1 codes.",
                },
                "specialisations": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Codes of the specialisations granted and live today.",
                },
                "certificate_number": {
                    "type": "string",
                    "description": "The first listed certificate (mediator before advocate).",
                },
                "certifications": {
                    "type": "array",
                    "items": _ref("schemas", "ListedCertification"),
                    "description": "Every listed certification: a person may hold both types.",
                },
                "status": {"const": Status.CERTIFIED.value},
                "profile_url": {"type": "string", "format": "uri"},
            }
        ),
        "MediatorPage": _object(
            {
                "items": {"type": "array", "items": _ref("schemas", "MediatorItem")},
                "total": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": count_cap,
                    "description": (
                        f"How many mediators match, counted exactly up to {count_cap:,}; "
                        f"beyond, {count_cap} with `total_is_lower_bound` true."
                    ),
                },
                "total_is_lower_bound": {
                    "type": "boolean",
                    "description": (
                        f"True when more than {count_cap:,} mediators match: `total` is then "
                        "a floor, and only the first pages can be reached (narrow the search "
                        "to see the others)."
                    ),
                },
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            }
        ),
        "ListedCertification": _object(
            {
                "type": {"type": "string", "enum": [t.value for t in CertificationType]},
                "certificate_number": {"type": "string"},
            }
        ),
        "Specialisation": _object(
            {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "granted_on": {"type": "string", "format": "date"},
                "valid_until": {
                    **NULLABLE_DATE,
                    "description": "The last day the grant holds; null if it does not expire.",
                },
            }
        ),
        "NextChange": _object(
            {
                "on": {"type": "string", "format": "date"},
                "to": {"type": "string", "enum": [status.value for status in Status]},
            }
        ),
        "CertificateStatus": _object(_certificate_status()),
        "Verification": _object(
            {
                "public_id": {"type": "string"},
                "name": {"type": "string"},
                "as_of": {
                    "type": "string",
                    "format": "date",
                    "description": "The day the answer is for: today unless `as_of` was given.",
                },
                **_certificate_status(),
                "specialisations": {
                    "type": "array",
                    "items": _ref("schemas", "Specialisation"),
                    "description": "Specialisations granted by the registry and live today; "
                    "empty unless the certification is certified.",
                },
                "certifications": {
                    "type": "array",
                    "items": _ref("schemas", "CertificateStatus"),
                    "description": "Each certification the answer covers: every one the "
                    "person holds (the latest of each type) for a public id, the one asked "
                    "about for a certificate number. The top-level fields repeat the first "
                    "certified one, else the latest granted.",
                },
            }
        ),
        "Error": _object(
            {
                "error": _object(
                    {
                        "status": {"type": "integer", "minimum": 400, "maximum": 599},
                        "message": {"type": "string"},
                    }
                )
            }
        ),
    }


def _certificate_status() -> dict[str, Any]:
    """The fields that describe one certification's standing (product brief)."""
    nullable_string = {"type": ["string", "null"]}
    return {
        "certificate_number": {
            **nullable_string,
            "description": "Null for an applicant who was never granted one.",
        },
        "certification_type": {
            "type": ["string", "null"],
            "enum": [*(t.value for t in CertificationType), None],
        },
        "status": {
            "type": "string",
            "enum": [status.value for status in Status],
            "description": "The status today; only `certified` is valid.",
        },
        "listed": {
            "type": "boolean",
            "description": "Listed in the public search today (certified).",
        },
        "status_since": {"type": "string", "format": "date"},
        "reason": {
            **nullable_string,
            "description": "Why the mediator is struck, suspended or revoked; else null.",
        },
        "valid_until": {
            **NULLABLE_DATE,
            "description": "The last day covered by the listing contribution, when certified.",
        },
        "next_change": {
            "oneOf": [_ref("schemas", "NextChange"), {"type": "null"}],
            "description": "The next change that time alone makes (certified to lapsed, "
            "lapsed to struck), unless new facts are recorded; null when none follows.",
        },
        "explanation": {
            "type": "string",
            "description": "One plain sentence: why this status, and what happens next.",
        },
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _header(description: str, schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


def _headers() -> dict[str, Any]:
    return {
        "ETag": _header("Strong validator of the body.", {"type": "string"}, required=True),
        "Last-Modified": _header(
            "HTTP date of the last change (never before the start of today, as statuses are "
            "as of today).",
            {"type": "string"},
            required=True,
        ),
        "Cache-Control": _header("`public, max-age=60`.", {"type": "string"}, required=True),
        "Access-Control-Allow-Origin": _header("`*`.", {"const": "*"}, required=True),
        "Retry-After": _header(
            "Seconds to wait before the next request.", {"type": "integer"}, required=True
        ),
        "X-RateLimit-Limit": _header(
            "Requests allowed in the current window.", {"type": "integer"}, required=False
        ),
        "X-RateLimit-Remaining": _header(
            "Requests left in the current window.", {"type": "integer"}, required=False
        ),
        "X-RateLimit-Reset": _header(
            "Unix time when the window resets.", {"type": "integer"}, required=False
        ),
    }


def _error(description: str, **headers: dict[str, str]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**_common_headers(), **headers},
        "content": {"application/json": {"schema": _ref("schemas", "Error")}},
    }


def _responses() -> dict[str, Any]:
    return {
        "NotModified": {
            "description": "The client's copy (`If-None-Match` / `If-Modified-Since`) is current.",
            "headers": {"ETag": _ref("headers", "ETag"), **_common_headers()},
        },
        "BadRequest": _error(
            "A parameter cannot be used (unknown parameter or code, too long, not a number, "
            "out of range, given twice); the message says which and why."
        ),
        "NotFound": _error("Nothing has this id or number."),
        "TooManyRequests": _error(
            "The client's rate limit is used up.", **{"Retry-After": _ref("headers", "Retry-After")}
        ),
    }
