"""OpenAPI links (issue #18): from each operation that creates something to the operations
that read, change and delete it, so a client (and schemathesis' stateful phase) can follow
a created tender, enterprise, obligation, Challenge, delivery, pilot or curation decision
through its whole life. One table, added to the generated document in ``with_links``.

A link names its target by ``operationId`` (looked up from method and path here, so the
table does not depend on FastAPI's generated names) and fills the target's parameters
with runtime expressions: ``$response.body#/ref`` (the created thing's ref),
``$request.path.ref`` (the parent in the creating request's path), ``$request.body#/...``.
"""

from __future__ import annotations

from typing import Any

API = "/api/v1"
ENTITY_KINDS = ("enterprises", "tenders", "challenges", "obligations")

CREATED_REF = {"ref": "$response.body#/ref"}
PARENT_REF = {"ref": "$request.path.ref"}

# (method, path, status) of the source -> [(link name, method, path, parameters)]
LINKS: dict[tuple[str, str, str], list[tuple[str, str, str, dict[str, str]]]] = {}

for _kind in ENTITY_KINDS:
    _item = f"{API}/{_kind}/{{ref}}"
    LINKS[("post", f"{API}/{_kind}", "201")] = [
        ("Get", "get", _item, CREATED_REF),
        ("Replace", "put", _item, CREATED_REF),
        ("Change", "patch", _item, CREATED_REF),
        ("Delete", "delete", _item, CREATED_REF),
    ]

LINKS[("post", f"{API}/enterprises", "201")] += [
    ("Vet", "post", f"{API}/vetting/{{enterprise_ref}}", {"enterprise_ref": "$response.body#/ref"}),
    ("VettingEvents", "get", f"{API}/vetting/{{enterprise_ref}}/events",
     {"enterprise_ref": "$response.body#/ref"}),
]
LINKS[("post", f"{API}/tenders", "201")] += [
    ("Matches", "get", f"{API}/tenders/{{ref}}/matches", CREATED_REF),
    ("Feasibility", "get", f"{API}/tenders/{{ref}}/feasibility", CREATED_REF),
]
LINKS[("post", f"{API}/obligations", "201")] += [
    ("Plan", "get", f"{API}/obligations/{{ref}}/plan", CREATED_REF),
    ("SavePlan", "put", f"{API}/obligations/{{ref}}/plan", CREATED_REF),
    ("Deliveries", "get", f"{API}/obligations/{{ref}}/deliveries", CREATED_REF),
    ("Deliver", "post", f"{API}/obligations/{{ref}}/deliveries", CREATED_REF),
]
LINKS[("post", f"{API}/challenges", "201")] += [
    ("Matches", "get", f"{API}/challenges/{{ref}}/matches", CREATED_REF),
    ("SetStatus", "post", f"{API}/challenges/{{ref}}/status", CREATED_REF),
    ("ChangeStatus", "patch", f"{API}/challenges/{{ref}}/status", CREATED_REF),
    ("Pitches", "get", f"{API}/challenges/{{ref}}/pitches", CREATED_REF),
    ("Pitch", "post", f"{API}/challenges/{{ref}}/pitches", CREATED_REF),
    ("Pilots", "get", f"{API}/challenges/{{ref}}/pilots", CREATED_REF),
    ("Pilot", "post", f"{API}/challenges/{{ref}}/pilots", CREATED_REF),
]
LINKS[("post", f"{API}/obligations/{{ref}}/plan/commit", "201")] = [
    ("Plan", "get", f"{API}/obligations/{{ref}}/plan", PARENT_REF),
    ("Uncommit", "post", f"{API}/obligations/{{ref}}/plan/uncommit", PARENT_REF),
]
_DELIVERY = {**PARENT_REF, "delivery_id": "$response.body#/id"}
LINKS[("post", f"{API}/obligations/{{ref}}/deliveries", "201")] = [
    ("Deliveries", "get", f"{API}/obligations/{{ref}}/deliveries", PARENT_REF),
    ("Reverse", "post", f"{API}/obligations/{{ref}}/deliveries/{{delivery_id}}/reversal",
     _DELIVERY),
    ("AddEvidence", "post", f"{API}/obligations/{{ref}}/deliveries/{{delivery_id}}/evidence",
     _DELIVERY),
]
LINKS[("post", f"{API}/obligations/{{ref}}/deliveries/{{delivery_id}}/evidence", "201")] = [
    ("Evidence", "get", f"{API}/obligations/{{ref}}/evidence/{{evidence_id}}",
     {**PARENT_REF, "evidence_id": "$response.body#/id"}),
]
LINKS[("post", f"{API}/challenges/{{ref}}/pilots", "201")] = [
    ("Pilots", "get", f"{API}/challenges/{{ref}}/pilots", PARENT_REF),
    ("Evaluate", "post", f"{API}/challenges/{{ref}}/pilots/{{pilot_id}}/evaluation",
     {**PARENT_REF, "pilot_id": "$response.body#/id"}),
]
LINKS[("post", f"{API}/challenges/{{ref}}/pitches", "201")] = [
    ("Pitches", "get", f"{API}/challenges/{{ref}}/pitches", PARENT_REF),
]
LINKS[("post", f"{API}/curation/decisions", "201")] = [
    ("Log", "get", f"{API}/curation/log", {
        "query_kind": "$request.body#/query_kind", "query_ref": "$request.body#/query_ref",
        "enterprise_ref": "$request.body#/enterprise_ref"}),
]
LINKS[("post", f"{API}/vetting/{{enterprise_ref}}", "200")] = [
    ("Events", "get", f"{API}/vetting/{{enterprise_ref}}/events",
     {"enterprise_ref": "$request.path.enterprise_ref"}),
]


def with_links(schema: dict[str, Any]) -> dict[str, Any]:
    """The document with the table's links on their responses. A table entry whose source
    or target is not in the document (a route renamed or removed) is an error, so the
    table cannot silently rot (tests/test_fuzz_api.py builds the document)."""
    paths = schema["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        out = response.setdefault("links", {})
        for name, t_method, t_path, params in links:
            out[name] = {"operationId": paths[t_path][t_method]["operationId"],
                         "parameters": dict(params)}
    return schema
