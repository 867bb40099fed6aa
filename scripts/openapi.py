#!/usr/bin/env python3
"""The source of Tally's OpenAPI 3.1 document.

Writes Sources/HTTPFront/OpenAPIDocument.swift (served at /openapi.json). Edit this file, then run
`python3 scripts/openapi.py`; `--check` exits 1 if the Swift file is stale (scripts/test runs it).
OpenAPIDocumentTests checks that the document lists exactly the routes the router serves.
"""
import json
import os
import sys
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def resp(desc, schema=None, ct="application/json"):
    r = {"description": desc}
    if schema: r["content"] = {ct: {"schema": schema}}
    return r
P = lambda d: resp(d, ref("Problem"), "application/problem+json")
errs_auth = {"401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
             "429": {"$ref": "#/components/responses/TooManyRequests"}}
def op(summary, opid, tag, ok_code, ok, body=None, params=None, extra=None, auth=True):
    o = {"summary": summary, "operationId": opid, "tags": [tag], "responses": {ok_code: ok}}
    if auth:
        o["responses"].update(errs_auth)
    else:
        o["security"] = []
    if body:
        o["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        o["responses"]["400"] = {"$ref": "#/components/responses/BadRequest"}
        o["responses"]["413"] = {"$ref": "#/components/responses/TooLarge"}
        o["responses"]["415"] = {"$ref": "#/components/responses/UnsupportedMediaType"}
        o["responses"]["422"] = {"$ref": "#/components/responses/Unprocessable"}
    if params:
        o["parameters"] = params
        if any(p.get("$ref", "").endswith("/limit") for p in params):
            o["responses"]["400"] = {"$ref": "#/components/responses/BadRequest"}
    if extra: o["responses"].update(extra)
    return o
ID = lambda prefix: {"type": "string", "pattern": "^" + prefix + "_[0-9A-HJKMNP-TV-Z]{26}$"}
ID_PREFIX = {"id": None, "key_id": "key"}
def pid(name, desc):
    # Ids are a prefix and 26 Crockford base32 characters; a malformed id names nothing (404).
    return {"name": name, "in": "path", "required": True, "description": desc, "schema": {"type": "string"}}
NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^(?=.*\\S)[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        "description": "1-200 characters (code points) after trimming, with no control characters"}
paging = [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/after"}]
nf = {"404": {"$ref": "#/components/responses/NotFound"}}
ts = {"type": "string", "format": "date-time"}
nts = {"type": ["string", "null"], "format": "date-time"}
scopes_enum = ["operator", "tenant:read", "keys:read", "keys:write", "events:write", "usage:read", "meters:write", "webhooks:read", "webhooks:write",
               "billing:read", "billing:write"]
SUB = [pid("id", "Subscription id (sub_…)")]
INV = [pid("id", "Invoice id (inv_…)")]
INVOICE_FILTERS = [
    {"name": "status", "in": "query", "description": "Only this status", "schema": {"type": "string", "enum": ["draft", "open", "paid", "void"]}},
    {"name": "subscription_id", "in": "query", "description": "Only this subscription's invoices", "schema": {"type": "string"}},
    {"name": "tenant_id", "in": "query", "description": "Only this tenant's (operators; tenant keys always see their own)", "schema": {"type": "string"}},
]
SUB_FILTERS = [INVOICE_FILTERS[2]]
conflict = lambda d: {"409": P(d)}
def INVOICE_GET(opid, summary):
    o = op(summary, opid, "billing", "200", resp("The invoice", ref("Invoice")), params=INV + [
        {"name": "format", "in": "query", "description": "json (default) or html: a printable page (also chosen by `Accept: text/html`)", "schema": {"type": "string", "enum": ["json", "html"]}}],
        extra={**nf, "400": {"$ref": "#/components/responses/BadRequest"}})
    o["responses"]["200"]["content"]["text/html"] = {"schema": {"type": "string"}}
    return o
QUERY = [
    {"name": "from", "in": "query", "required": True, "description": "Range start, RFC 3339 (floored to the window)", "schema": {"type": "string", "format": "date-time"}},
    {"name": "to", "in": "query", "required": True, "description": "Range end, RFC 3339, exclusive (ceiled to the window)", "schema": {"type": "string", "format": "date-time"}},
    {"name": "window", "in": "query", "description": "minute, hour (default) or day; at most 10,000 windows", "schema": {"type": "string", "enum": ["minute", "hour", "day"]}},
    {"name": "group_by", "in": "query", "description": "Comma-separated dimensions to keep (empty: one value per window); default: all", "schema": {"type": "string"}},
    {"name": "subject", "in": "query", "description": "Only this subject (the meter must group by subject)", "schema": {"type": "string"}},
    {"name": "tz", "in": "query", "description": "IANA time zone (Europe/Berlin): hour and day windows follow its offsets and local midnights; default UTC", "schema": {"type": "string"}},
]
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "description": "IETF httpapi idempotency key (1-255 visible ASCII), per tenant, kept 24 h: the same key and body replay the first response",
               "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"}}
JOB_STATES = ["available", "scheduled", "running", "retryable", "completed", "cancelled", "dead"]
JOB_FILTERS = [
    {"name": "state", "in": "query", "description": "Comma-separated states", "schema": {"type": "string"}},
    {"name": "queue", "in": "query", "description": "Only this queue", "schema": {"type": "string"}},
    {"name": "kind", "in": "query", "description": "Only this job kind", "schema": {"type": "string"}},
    {"name": "tenant_id", "in": "query", "description": "Only this tenant's jobs (operators)", "schema": {"type": "string"}},
    {"name": "older_than", "in": "query", "description": "Only jobs last changed at least this many seconds ago", "schema": {"type": "integer", "minimum": 0}},
    {"name": "id", "in": "query", "description": "Comma-separated job ids", "schema": {"type": "string"}},
]
EVENT_ADDRESS = [
    {"name": "source", "in": "path", "required": True, "description": "The event's CloudEvents source, percent-encoded (`//api/node-1` is `%2F%2Fapi%2Fnode-1`)", "schema": {"type": "string"}},
    {"name": "id", "in": "path", "required": True, "description": "The event's id, percent-encoded", "schema": {"type": "string"}},
]
def CORRECTION_OP(kind, opid, summary, body):
    o = op(summary, opid, "metering", "201", resp("The event's history, with the new correction", ref("EventHistory")), params=EVENT_ADDRESS + [IDEMPOTENCY],
           extra={**nf, "400": {"$ref": "#/components/responses/BadRequest"}, "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
                  "409": P("`event_voided`: a voided event takes no further corrections; `idempotency_key_in_flight`"),
                  "422": P("`event_too_old` (outside the lateness horizon without backfill), a meter's rejection of the amended event (`meter_value_missing`, `meter_value_invalid`), `invalid_attribute`, `invalid_data`, `invalid_reason`, `unknown_field`, `missing_attribute`, `idempotency_key_reused`")})
    o["requestBody"] = {"required": kind == "amend", "content": {"application/json": {"schema": body}}}
    return o
def EVENTS_OP(opid, summary):
    o = op(summary, opid, "metering", "200", resp("Each event's outcome, in order", ref("IngestReport")), body=None,
           extra={"400": {"$ref": "#/components/responses/BadRequest"}, "413": P("`body_too_large` or `batch_too_large`"),
                  "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
                  "422": P("One event (not a batch) was rejected: `code` is the event's rejection code; `batch_rejected` (atomic batch, with `results`); `validation_failed` (empty batch); `idempotency_key_reused`")})
    o["parameters"] = [
        {"name": "atomic", "in": "query", "description": "true: book all events or none", "schema": {"type": "boolean"}},
        IDEMPOTENCY,
    ]
    o["responses"]["409"] = P("`idempotency_key_in_flight`: the first request with this key is still being processed")
    o["responses"]["429"] = P("`tenant_overloaded`: this tenant has too much ingest in flight; `rate_limited`, `too_many_auth_failures`: see TooManyRequests. Retry after `Retry-After` seconds")
    o["responses"]["503"] = P("`server_overloaded`: the node is at its ingest capacity; `service_unavailable`: a backing service is down (the database, or Redis for quota leases). Retry after `Retry-After` seconds")
    o["requestBody"] = {"required": True, "content": {
        "application/cloudevents+json": {"schema": ref("CloudEvent")},
        "application/cloudevents-batch+json": {"schema": {"type": "array", "items": ref("CloudEvent"), "minItems": 1, "maxItems": 10000}},
        "application/json": {"schema": {"oneOf": [ref("CloudEvent"), {"type": "array", "items": ref("CloudEvent"), "minItems": 1, "maxItems": 10000}]}}}}
    return o
doc = {
 "openapi": "3.1.0",
 "info": {"title": "Tally API", "version": "0.1.0",
   "description": "Tally: self-hosted usage metering, quota, job and billing core. Every /v1 route takes `Authorization: Bearer <API key>`; the tenant is resolved from the key. Errors are RFC 9457 problem documents with a stable `code`.",
   "license": {"name": "MIT", "identifier": "MIT"}},
 "servers": [{"url": "http://127.0.0.1:8080"}],
 "security": [{"bearer": []}],
 "tags": [{"name": n} for n in ["health", "tenants", "api-keys", "service-identities", "operator", "metering", "entitlements", "jobs", "webhooks", "billing"]],
 "paths": {
  "/health/live": {"get": op("Liveness: the process serves HTTP", "getLive", "health", "200", resp("Alive", ref("Status")), auth=False)},
  "/health/ready": {"get": op("Readiness: every dependency answers within 2 s", "getReady", "health", "200", resp("Ready", ref("Ready")), auth=False,
        extra={"503": P("Not ready: the problem's `checks` member names each dependency's status")})},
  "/metrics": {"get": op("Prometheus metrics (text exposition format 0.0.4)", "getMetrics", "health", "200", resp("Metrics", {"type": "string"}, "text/plain"), auth=False)},
  "/openapi.json": {"get": op("This OpenAPI document", "getOpenAPI", "health", "200", resp("The document", {"type": "object"}), auth=False)},
  "/v1/me": {"get": op("Who the presented key belongs to", "getMe", "api-keys", "200", resp("The caller", ref("Me")))},
  "/v1/tenants": {
    "get": op("List tenants (operator)", "listTenants", "tenants", "200", resp("A page of tenants", ref("TenantList")), params=paging),
    "post": op("Create a tenant (operator)", "createTenant", "tenants", "201", resp("Created", ref("Tenant")), body=ref("NewTenant"),
        extra={"409": P("The slug is taken (`conflict`, field `slug`)")})},
  "/v1/tenants/{id}": {
    "get": op("Read a tenant (operator, or a key of that tenant with tenant:read)", "getTenant", "tenants", "200", resp("The tenant", ref("Tenant")), params=[pid("id", "Tenant id (ten_…)")], extra=nf),
    "patch": op("Rename, reconfigure, suspend, resume or delete a tenant (operator)", "updateTenant", "tenants", "200", resp("The updated tenant", ref("Tenant")),
        body=ref("TenantPatch"), params=[pid("id", "Tenant id (ten_…)")], extra={**nf, "409": P("Status change not allowed (a deleted tenant is final)")})},
  "/v1/tenants/{id}/api-keys": {
    "get": op("List a tenant's API keys (operator)", "listTenantKeys", "operator", "200", resp("A page of keys", ref("APIKeyList")), params=[pid("id", "Tenant id")] + paging, extra=nf),
    "post": op("Issue an API key for a tenant (operator); the secret is returned once", "createTenantKey", "operator", "201", resp("Created, with `secret`", ref("IssuedAPIKey")),
        body=ref("NewAPIKey"), params=[pid("id", "Tenant id")], extra={**nf, "409": P("The service identity is disabled")})},
  "/v1/tenants/{id}/api-keys/{key_id}/revoke": {
    "post": op("Revoke a tenant's API key (operator); idempotent", "revokeTenantKey", "operator", "200", resp("The revoked key", ref("APIKey")),
        params=[pid("id", "Tenant id"), pid("key_id", "API key id (key_…)")], extra=nf)},
  "/v1/api-keys": {
    "get": op("List the caller's tenant's API keys (keys:read)", "listKeys", "api-keys", "200", resp("A page of keys", ref("APIKeyList")), params=paging),
    "post": op("Issue an API key for the caller's tenant (keys:write); cannot grant scopes the caller lacks", "createKey", "api-keys", "201",
        resp("Created, with `secret`", ref("IssuedAPIKey")), body=ref("NewAPIKey"), extra={**nf, "409": P("The service identity is disabled")})},
  "/v1/api-keys/{id}": {
    "get": op("Read one of the tenant's API keys (keys:read); revoked keys stay readable", "getKey", "api-keys", "200", resp("The key", ref("APIKey")), params=[pid("id", "API key id")], extra=nf)},
  "/v1/api-keys/{id}/revoke": {
    "post": op("Revoke one of the tenant's API keys (keys:write); idempotent", "revokeKey", "api-keys", "200", resp("The revoked key", ref("APIKey")), params=[pid("id", "API key id")], extra=nf)},
  "/v1/operator/api-keys": {
    "get": op("List operator keys (operator)", "listOperatorKeys", "operator", "200", resp("A page of keys", ref("APIKeyList")), params=paging),
    "post": op("Issue an operator key (operator); the secret is returned once", "createOperatorKey", "operator", "201", resp("Created, with `secret`", ref("IssuedAPIKey")),
        body={"type": "object", "required": ["name"], "properties": {"name": NAME}})},
  "/v1/operator/api-keys/{id}/revoke": {
    "post": op("Revoke an operator key (operator); idempotent", "revokeOperatorKey", "operator", "200", resp("The revoked key", ref("APIKey")), params=[pid("id", "API key id")], extra=nf)},
  "/v1/meters": {
    "get": op("List the tenant's meters (usage:read)", "listMeters", "metering", "200", resp("The meters", ref("MeterList"))),
    "post": op("Define a meter (meters:write)", "createMeter", "metering", "201", resp("Created", ref("Meter")), body=ref("Meter"),
        extra={"409": P("The slug is taken (`conflict`, field `slug`)")})},
  "/v1/meters/{slug}": {
    "get": op("Read a meter (usage:read)", "getMeter", "metering", "200", resp("The meter", ref("Meter")), params=[pid("slug", "Meter slug")], extra=nf),
    "patch": op("Change a meter (meters:write); it is recomputed over every booked event of its type", "updateMeter", "metering", "200", resp("The changed meter", ref("Meter")),
        body=ref("MeterPatch"), params=[pid("slug", "Meter slug")], extra=nf)},
  "/v1/meters/{slug}/query": {
    "get": op("A meter's exact values per window and group (usage:read)", "queryMeter", "metering", "200", resp("The values", ref("MeterQueryResult")),
        params=[pid("slug", "Meter slug")] + QUERY, extra={**nf, "400": {"$ref": "#/components/responses/BadRequest"}})},
  "/v1/usage": {
    "get": op("Every meter's value over a range (usage:read)", "getUsage", "metering", "200", resp("Totals", ref("Usage")),
        params=QUERY[:2], extra={"400": {"$ref": "#/components/responses/BadRequest"}})},
  "/api/usage": {
    "get": op("Alias of GET /v1/usage (the platform brief's name)", "getUsageAlias", "metering", "200", resp("Totals", ref("Usage")),
        params=QUERY[:2], extra={"400": {"$ref": "#/components/responses/BadRequest"}}),
    "post": EVENTS_OP("postUsageAlias", "Alias of POST /v1/events (the platform brief's name)")},
  "/v1/events": {"post": EVENTS_OP("postEvents", "Post one CloudEvent or a batch (events:write)")},
  "/v1/webhooks": {
    "get": op("The tenant's webhook endpoints (webhooks:read)", "listWebhookEndpoints", "webhooks", "200", resp("The endpoints", ref("WebhookEndpointList"))),
    "post": op("Add a webhook endpoint (webhooks:write); the answer carries its signing secret", "createWebhookEndpoint", "webhooks", "201",
        resp("Created, with `secret`", ref("WebhookEndpoint")), body=ref("NewWebhookEndpoint"))},
  "/api/webhooks": {
    "get": op("Alias of GET /v1/webhooks (the platform brief's name)", "listWebhookEndpointsAlias", "webhooks", "200", resp("The endpoints", ref("WebhookEndpointList"))),
    "post": op("Alias of POST /v1/webhooks (the platform brief's name)", "createWebhookEndpointAlias", "webhooks", "201",
        resp("Created, with `secret`", ref("WebhookEndpoint")), body=ref("NewWebhookEndpoint"))},
  "/v1/webhooks/{id}": {
    "get": op("Read a webhook endpoint (webhooks:read)", "getWebhookEndpoint", "webhooks", "200", resp("The endpoint", ref("WebhookEndpoint")),
        params=[pid("id", "Endpoint id (whe_…)")], extra=nf),
    "patch": op("Change an endpoint's url, description, event types, or enable/disable it (webhooks:write); re-enabling clears its failing streak",
        "updateWebhookEndpoint", "webhooks", "200", resp("The endpoint", ref("WebhookEndpoint")), body=ref("WebhookEndpointPatch"),
        params=[pid("id", "Endpoint id (whe_…)")], extra=nf),
    "delete": op("Delete an endpoint and its delivery log (webhooks:write)", "deleteWebhookEndpoint", "webhooks", "204", resp("Deleted"),
        params=[pid("id", "Endpoint id (whe_…)")], extra=nf)},
  "/v1/webhooks/{id}/rotate-secret": {
    "post": op("Rotate the signing secret (webhooks:write): the previous one keeps signing beside the new for 24 hours", "rotateWebhookSecret", "webhooks",
        "200", resp("The endpoint, with the new `secret`", ref("WebhookEndpoint")), params=[pid("id", "Endpoint id (whe_…)")], extra=nf)},
  "/v1/webhooks/{id}/test": {
    "post": op("Send a webhook.test message to the endpoint (webhooks:write)", "testWebhookEndpoint", "webhooks", "202",
        resp("The delivery", ref("WebhookDelivery")), params=[pid("id", "Endpoint id (whe_…)")], extra={**nf, "409": P("The endpoint is disabled (`conflict`)")})},
  "/v1/webhooks/{id}/deliveries": {
    "get": op("The endpoint's delivery log, newest first, with every attempt (webhooks:read)", "listWebhookDeliveries", "webhooks", "200",
        resp("A page", ref("WebhookDeliveryList")), params=[pid("id", "Endpoint id (whe_…)")] + paging, extra=nf)},
  "/v1/webhooks/{id}/deliveries/{delivery_id}/retry": {
    "post": op("Send a delivery again, on a fresh schedule (webhooks:write)", "retryWebhookDelivery", "webhooks", "202",
        resp("The delivery", ref("WebhookDelivery")), params=[pid("id", "Endpoint id (whe_…)"), pid("delivery_id", "Delivery id (msg_…)")], extra=nf)},
  "/v1/webhooks/in/{source}": {
    "post": {**op("Receive a Standard Webhooks message from another system: verified with the source's secret (TALLY_WEBHOOK_INBOUND_SECRETS) "
                  "within 5 minutes, stored once per webhook-id, processed by a job", "receiveWebhook", "webhooks", "202",
                  resp("Accepted", {"type": "object", "properties": {"status": {"type": "string", "enum": ["accepted"]}}}),
                  params=[pid("source", "The sending system's name"),
                          {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"}},
                          {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
                          {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"}}],
                  extra={"200": resp("Already received (a replay): nothing done", {"type": "object", "properties": {"status": {"type": "string", "enum": ["duplicate"]}}}),
                         "400": {"$ref": "#/components/responses/BadRequest"},
                         "401": P("`invalid_signature`: missing headers, a bad signature, or a timestamp more than 5 minutes off"), **nf},
                  auth=False)}},
  "/v1/events/{source}/{id}": {
    "get": op("A booked event's history: the original, its corrections, and what counts now (usage:read)", "getEventHistory", "metering", "200",
        resp("The history", ref("EventHistory")), params=EVENT_ADDRESS, extra={**nf, "400": {"$ref": "#/components/responses/BadRequest"}})},
  "/v1/events/{source}/{id}/void": {"post": CORRECTION_OP("void", "voidEvent", "Void a booked event (events:write): it stops counting; its window is recomputed",
        {"type": "object", "additionalProperties": False, "properties": {"reason": {"type": ["string", "null"], "maxLength": 1024}}})},
  "/v1/events/{source}/{id}/amend": {"post": CORRECTION_OP("amend", "amendEvent", "Amend a booked event's data and/or subject (events:write); its window is recomputed",
        ref("Amendment"))},
  "/v1/features": {
    "get": op("The feature catalog (operator, or a tenant key with tenant:read)", "listFeatures", "entitlements", "200", resp("The features", ref("FeatureList"))),
    "post": op("Define a feature (operator)", "createFeature", "entitlements", "201", resp("Created", ref("Feature")), body=ref("Feature"),
        extra={"409": P("The key is taken (`conflict`, field `key`)")})},
  "/v1/features/{key}": {
    "get": op("Read a feature (operator, or a tenant key with tenant:read)", "getFeature", "entitlements", "200", resp("The feature", ref("Feature")),
        params=[pid("key", "Feature key")], extra=nf)},
  "/v1/plans": {
    "get": op("The plans, each with its current prices (operator, or a tenant key with tenant:read)", "listPlans", "entitlements", "200", resp("The plans", ref("PlanList"))),
    "post": op("Define a plan: entitlement defaults, rate limits and optionally prices (version 1) (operator)", "createPlan", "entitlements", "201", resp("Created", ref("Plan")), body=ref("Plan"),
        extra={"409": P("The key is taken (`conflict`, field `key`)")})},
  "/v1/plans/{key}/prices": {
    "get": op("Every version of a plan's prices, oldest first (operator, or a tenant key with tenant:read)", "listPlanPrices", "billing", "200",
        resp("The versions", {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Prices")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}}),
        params=[pid("key", "Plan key")], extra=nf)},
  "/v1/plans/{key}": {
    "get": op("Read a plan (operator, or a tenant key with tenant:read)", "getPlan", "entitlements", "200", resp("The plan", ref("Plan")),
        params=[pid("key", "Plan key")], extra=nf),
    "patch": op("Change a plan's name, entitlements (replaced whole) or rate limits (operator); tenants on it follow within TALLY_QUOTA_REFRESH_SECONDS. "
        "New `prices` make a new price version (prices equal to the current version change nothing); subscriptions keep their version until changed",
        "updatePlan", "entitlements", "200", resp("The plan", ref("Plan")), body=ref("PlanPatch"), params=[pid("key", "Plan key")], extra=nf)},
  "/v1/tenants/{id}/entitlements": {
    "get": op("A tenant's plan, overrides and entitlements with usage (operator)", "getTenantEntitlements", "entitlements", "200",
        resp("The assignment", ref("TenantEntitlements")), params=[pid("id", "Tenant id")], extra=nf),
    "put": op("Set a tenant's plan and/or overrides (operator); members left out stay as they are", "setTenantEntitlements", "entitlements", "200",
        resp("The assignment", ref("TenantEntitlements")), body=ref("EntitlementAssignment"), params=[pid("id", "Tenant id")], extra=nf)},
  "/v1/tenants/{id}/grants": {
    "get": op("A tenant's grants, voided ones included (operator)", "listTenantGrants", "entitlements", "200", resp("The grants", ref("GrantList")),
        params=[pid("id", "Tenant id")], extra=nf),
    "post": op("Grant a tenant credit for a metered feature (operator)", "createGrant", "entitlements", "201", resp("Created", ref("Grant")),
        body=ref("NewGrant"), params=[pid("id", "Tenant id")], extra=nf)},
  "/v1/tenants/{id}/grants/{grant_id}/void": {
    "post": op("Void a grant (operator); voiding twice keeps the first time", "voidGrant", "entitlements", "200", resp("The grant", ref("Grant")),
        params=[pid("id", "Tenant id"), pid("grant_id", "Grant id (grt_…)")], extra=nf)},
  "/v1/entitlements": {
    "get": op("Every entitlement of the caller's tenant, metered ones with limit, usage and reset (usage:read)", "listEntitlements", "entitlements", "200",
        resp("The entitlements", ref("EntitlementList")))},
  "/v1/entitlements/check": {
    "post": op("May the tenant use this feature (this much more) now? Answered from memory; with reserve, the amount is held (usage:read)",
        "checkEntitlement", "entitlements", "200", resp("The answer", ref("Entitlement")), body=ref("EntitlementCheck"),
        extra={**nf, "503": P("`service_unavailable`: a reservation needed a quota lease and Redis did not answer; retry after `Retry-After` seconds")})},
  "/v1/entitlements/notifications": {
    "get": op("Threshold notifications recorded for the caller's tenant, newest first (usage:read)", "listThresholdNotifications", "entitlements", "200",
        resp("The notifications", ref("ThresholdNotificationList")))},
  "/v1/jobs": {
    "get": op("List jobs, by id (operator: all, filterable; a tenant key with tenant:read: its own tenant's)", "listJobs", "jobs", "200",
        resp("A page", ref("JobList")), params=paging + JOB_FILTERS),
    "post": op("Enqueue a job (operator); 201 when new, 200 with the existing job when its unique key is taken", "enqueueJob", "jobs", "201",
        resp("Enqueued", ref("Job")), body=ref("NewJob"), extra={"200": resp("The job already holding that unique key", ref("Job"))})},
  "/v1/jobs/stats": {
    "get": op("Jobs per queue and state (operator)", "jobStats", "jobs", "200", resp("The counts", ref("JobStats")))},
  "/v1/jobs/dead": {
    "get": op("The dead-letter queue: jobs that failed for good, with their attempts and errors (operator)", "listDeadJobs", "jobs", "200",
        resp("A page", ref("JobList")), params=paging + [f for f in JOB_FILTERS if f["name"] != "state"])},
  "/v1/jobs/dead/replay": {
    "post": op("Replay dead jobs matching the filter: each becomes available with fresh attempts (operator)", "replayDeadJobs", "jobs", "200",
        resp("How many", {"type": "object", "required": ["replayed"], "properties": {"replayed": {"type": "integer"}}}), body=ref("DeadJobFilter"))},
  "/v1/jobs/dead/purge": {
    "post": op("Delete dead jobs matching the filter (operator)", "purgeDeadJobs", "jobs", "200",
        resp("How many", {"type": "object", "required": ["purged"], "properties": {"purged": {"type": "integer"}}}), body=ref("DeadJobFilter"))},
  "/v1/jobs/{id}": {
    "get": op("Read a job (operator, or a tenant key with tenant:read for its own tenant's jobs)", "getJob", "jobs", "200", resp("The job", ref("Job")),
        params=[pid("id", "Job id (job_…)")], extra=nf)},
  "/v1/jobs/{id}/cancel": {
    "post": op("Cancel an unfinished job (operator); a finished job comes back unchanged", "cancelJob", "jobs", "200", resp("The job", ref("Job")),
        params=[pid("id", "Job id (job_…)")], extra=nf)},
  "/v1/grants": {
    "get": op("The caller's tenant's grants (usage:read)", "listGrants", "entitlements", "200", resp("The grants", ref("GrantList")))},
  "/v1/service-identities": {
    "get": op("List the tenant's service identities (keys:read)", "listServiceIdentities", "service-identities", "200", resp("A page", ref("ServiceIdentityList")), params=paging),
    "post": op("Create a service identity (keys:write)", "createServiceIdentity", "service-identities", "201", resp("Created", ref("ServiceIdentity")),
        body=ref("NewServiceIdentity"), extra={"409": P("The name is taken (`conflict`, field `name`)")})},
  "/v1/service-identities/{id}": {
    "get": op("Read a service identity (keys:read); disabled identities stay readable", "getServiceIdentity", "service-identities", "200", resp("The identity", ref("ServiceIdentity")), params=[pid("id", "Service identity id (svc_…)")], extra=nf)},
  "/v1/service-identities/{id}/disable": {
    "post": op("Disable a service identity and revoke its keys (keys:write)", "disableServiceIdentity", "service-identities", "200", resp("The disabled identity", ref("ServiceIdentity")),
        params=[pid("id", "Service identity id")], extra=nf)},
  "/v1/subscriptions": {
    "get": op("List subscriptions, newest first (operator: all or one tenant's; a tenant key with billing:read: its own)", "listSubscriptions", "billing", "200",
        resp("A page", ref("SubscriptionList")), params=paging + SUB_FILTERS),
    "post": op("Subscribe a tenant to a plan's prices (a tenant key with billing:write subscribes its own tenant; operators name tenant_id)", "createSubscription",
        "billing", "201", resp("Created", ref("Subscription")), body=ref("NewSubscription"),
        extra={**conflict("`subscription_exists`: the tenant has a subscription that is not canceled or expired"), **nf,
               "422": P("`unknown_plan` (field plan or plan_version), `validation_failed`")})},
  "/api/subscriptions": {
    "get": op("Alias of GET /v1/subscriptions (the platform brief's name)", "listSubscriptionsAlias", "billing", "200", resp("A page", ref("SubscriptionList")), params=paging + SUB_FILTERS),
    "post": op("Alias of POST /v1/subscriptions (the platform brief's name)", "createSubscriptionAlias", "billing", "201", resp("Created", ref("Subscription")),
        body=ref("NewSubscription"), extra={**conflict("`subscription_exists`"), **nf, "422": P("`unknown_plan`, `validation_failed`")})},
  "/v1/subscriptions/{id}": {
    "get": op("Read a subscription (operator, or billing:read for the tenant's own)", "getSubscription", "billing", "200", resp("The subscription", ref("Subscription")), params=SUB, extra=nf)},
  "/api/subscriptions/{id}": {
    "get": op("Alias of GET /v1/subscriptions/{id}", "getSubscriptionAlias", "billing", "200", resp("The subscription", ref("Subscription")), params=SUB, extra=nf)},
  "/v1/subscriptions/{id}/change-plan": {
    "post": op("Change plan (operator, or billing:write): now (flat fees prorated by the second; same currency and interval) or at period end (default)",
        "changeSubscriptionPlan", "billing", "200", resp("The subscription", ref("Subscription")), body=ref("PlanChange"), params=SUB,
        extra={**nf, **conflict("The subscription is over, or changed meanwhile (read it again)"), "422": P("`unknown_plan`, `validation_failed`")})},
  "/v1/subscriptions/{id}/cancel": {
    "post": op("Cancel (operator, or billing:write): now (the period ends and is invoiced with flat fees prorated) or at period end (default)",
        "cancelSubscription", "billing", "200", resp("The subscription", ref("Subscription")), params=SUB,
        extra={**nf, **conflict("Already canceled or expired"), "400": {"$ref": "#/components/responses/BadRequest"}, "422": {"$ref": "#/components/responses/Unprocessable"}})},
  "/v1/subscriptions/{id}/credits": {
    "post": op("Grant a credit (operator): a credit line on the subscription's next invoices, applied after tax, never below zero, the rest carried forward",
        "createSubscriptionCredit", "billing", "201", resp("The credit", ref("Credit")), body=ref("NewCredit"), params=SUB,
        extra={**nf, **conflict("The subscription is over, or changed meanwhile")})},
  "/v1/subscriptions/{id}/audit": {
    "get": op("The subscription's audit trail, oldest first (operator, or billing:read)", "getSubscriptionAudit", "billing", "200", resp("The entries", ref("BillingAuditList")), params=SUB, extra=nf)},
  "/v1/invoices": {
    "get": op("List invoices, newest first (operator: all or one tenant's; a tenant key with billing:read: its own)", "listInvoices", "billing", "200",
        resp("A page", ref("InvoiceList")), params=paging + INVOICE_FILTERS)},
  "/api/invoices": {
    "get": op("Alias of GET /v1/invoices (the platform brief's name)", "listInvoicesAlias", "billing", "200", resp("A page", ref("InvoiceList")), params=paging + INVOICE_FILTERS)},
  "/v1/invoices/{id}": {"get": INVOICE_GET("getInvoice", "Read an invoice as JSON or as a printable HTML page (operator, or billing:read)")},
  "/api/invoices/{id}": {"get": INVOICE_GET("getInvoiceAlias", "Alias of GET /v1/invoices/{id}")},
  "/v1/invoices/{id}/mark-paid": {
    "post": op("Mark an open invoice paid (operator); a subscription in dunning with no other failed invoice is reactivated", "markInvoicePaid", "billing", "200",
        resp("The invoice", ref("Invoice")), params=INV, extra={**nf, **conflict("The invoice is a draft, paid or void"), "400": {"$ref": "#/components/responses/BadRequest"},
        "422": {"$ref": "#/components/responses/Unprocessable"}})},
  "/v1/invoices/{id}/void": {
    "post": op("Void a draft or open invoice (operator); its number stays used", "voidInvoice", "billing", "200", resp("The invoice", ref("Invoice")), params=INV,
        extra={**nf, **conflict("The invoice is paid or void"), "400": {"$ref": "#/components/responses/BadRequest"}, "422": {"$ref": "#/components/responses/Unprocessable"}})},
  "/v1/invoices/{id}/credit-notes": {
    "get": op("An invoice's credit notes (operator, or billing:read)", "listCreditNotes", "billing", "200", resp("The credit notes", ref("CreditNoteList")), params=INV, extra=nf),
    "post": op("Credit part or all of a finalized invoice (operator); an open invoice credited in full is settled", "createCreditNote", "billing", "201",
        resp("The credit note", ref("CreditNote")), body=ref("NewCreditNote"), params=INV, extra={**nf, **conflict("The invoice is a draft or void")})},
  "/v1/invoices/{id}/audit": {
    "get": op("The invoice's audit trail, oldest first (operator, or billing:read)", "getInvoiceAudit", "billing", "200", resp("The entries", ref("BillingAuditList")), params=INV, extra=nf)},
  "/v1/tenants/{id}/billing": {
    "get": op("A tenant's billing settings (operator)", "getTenantBilling", "billing", "200", resp("The settings", ref("BillingAccount")), params=[pid("id", "Tenant id")], extra=nf),
    "put": op("Set a tenant's tax rate and/or time zone (operator); members left out stay as they are", "setTenantBilling", "billing", "200",
        resp("The settings", ref("BillingAccount")), body=ref("BillingAccount"), params=[pid("id", "Tenant id")], extra=nf)},
  "/v1/billing/account": {
    "get": op("The caller's tenant's billing settings (billing:read)", "getBillingAccount", "billing", "200", resp("The settings", ref("BillingAccount")))},
  "/v1/billing/runs": {
    "post": op("Run billing now (operator): invoice ended periods, finalize due drafts, carry out due dunning steps. Safe to repeat", "runBilling", "billing", "200",
        resp("What the run did", ref("BillingRunReport")))},
  "/v1/billing/payments/callback": {
    "post": {**op("The payment provider's signed callback (TALLY_PAYMENT_PROVIDER=http): a settled or failed payment. Repeats change nothing",
                  "paymentCallback", "billing", "200", resp("Applied", {"type": "object", "properties": {"status": {"type": "string", "enum": ["accepted"]}}}),
                  params=[{"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"}},
                          {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
                          {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"}}],
                  extra={**nf, "401": P("`invalid_signature`"), "422": {"$ref": "#/components/responses/Unprocessable"}}, auth=False)}},
 },
 "components": {
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API key: tly_<26 characters>_<43 characters>"}},
  "parameters": {
    "limit": {"name": "limit", "in": "query", "description": "Page size, 1-200 (default 50)", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    "after": {"name": "after", "in": "query", "description": "The `next_cursor` of the previous page", "schema": {"type": "string"}}},
  "responses": {
    "BadRequest": P("`malformed_json` or `invalid_parameter`"),
    "Unauthorized": P("`missing_credentials`, `invalid_api_key`, `api_key_revoked` or `api_key_expired`"),
    "Forbidden": P("`forbidden` (wrong kind of key or missing scope), `tenant_suspended` or `tenant_deleted`"),
    "NotFound": P("`not_found`"),
    "TooLarge": P("`body_too_large`"),
    "UnsupportedMediaType": P("`unsupported_media_type`: send application/json"),
    "Unprocessable": P("`validation_failed`, with `field`"),
    "TooManyRequests": P("`rate_limited` (the tenant's or key's rate limit; `RateLimit-Policy`, `RateLimit` and `Retry-After` say which and when), `too_many_auth_failures` (this address failed authentication too often), or on ingest `tenant_overloaded`. Wait `Retry-After` before asking again: after a 429 the server reads nothing more from the connection for a pause (`TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS`, doubling with each 429 in a row, at most `Retry-After`)")},
  "schemas": {
    "Problem": {"type": "object", "required": ["type", "title", "status", "detail", "code"], "properties": {
        "type": {"type": "string", "description": "urn:tally:problem:<code>"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"}, "field": {"type": "string"}, "request_id": {"type": "string"},
        "checks": {"type": "object", "description": "readiness only: status per dependency"}}},
    "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
    "Ready": {"type": "object", "required": ["status", "checks"], "properties": {"status": {"type": "string"},
        "checks": {"type": "object", "additionalProperties": {"type": "object", "properties": {"status": {"type": "string"}, "error": {"type": "string"}}}}}},
    "Tenant": {"type": "object", "required": ["id", "slug", "name", "status", "settings", "created_at", "updated_at"], "properties": {
        "id": {"type": "string"}, "slug": {"type": "string"}, "name": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "suspended", "deleted"]}, "settings": {"type": "object"},
        "created_at": ts, "updated_at": ts}},
    "TenantList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Tenant")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "NewTenant": {"type": "object", "required": ["slug", "name"], "properties": {
        "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,62}$"}, "name": NAME, "settings": {"type": ["object", "null"], "description": "null or absent: {}"}}},
    "TenantPatch": {"type": "object", "description": "Absent or null fields stay as they are.", "properties": {
        "name": {**NAME, "type": ["string", "null"]}, "status": {"type": ["string", "null"], "enum": ["active", "suspended", "deleted", None]},
        "settings": {"type": ["object", "null"], "description": "replaces the settings object; its `metering` section takes `backfill` (boolean) and `lateness_horizon_days` (1-3650), its `rate_limits` section `tenant_per_second` and `key_per_second` (1-1000000)"}}},
    "APIKey": {"type": "object", "required": ["id", "name", "prefix", "scopes", "created_at"], "properties": {
        "id": {"type": "string"}, "tenant_id": {"type": ["string", "null"]}, "service_identity_id": {"type": ["string", "null"]},
        "name": {"type": "string"}, "prefix": {"type": "string", "description": "the secret's first characters"},
        "scopes": {"type": "array", "items": {"type": "string", "enum": scopes_enum}},
        "created_at": ts, "last_used_at": nts, "revoked_at": nts, "expires_at": nts}},
    "IssuedAPIKey": {"allOf": [ref("APIKey"), {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string", "description": "shown once; store it now"}}}]},
    "APIKeyList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("APIKey")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "NewAPIKey": {"type": "object", "required": ["name"], "properties": {
        "name": NAME,
        "scopes": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": scopes_enum[1:]}, "description": "default: every tenant scope"},
        "service_identity_id": ID("svc"), "expires_at": {"type": ["string", "null"], "format": "date-time", "description": "must be in the future; null or absent: never expires"}}},
    "ServiceIdentity": {"type": "object", "required": ["id", "tenant_id", "name", "description", "created_at"], "properties": {
        "id": {"type": "string"}, "tenant_id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
        "created_at": ts, "disabled_at": nts}},
    "ServiceIdentityList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("ServiceIdentity")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "NewServiceIdentity": {"type": "object", "required": ["name"], "properties": {"name": NAME, "description": {"type": ["string", "null"], "maxLength": 1000}}},
    "Meter": {"type": "object", "required": ["slug", "event_type", "aggregation"], "properties": {
        "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{1,62}$"}, "event_type": {"type": "string", "minLength": 1, "maxLength": 256},
        "aggregation": {"type": "string", "enum": ["SUM", "COUNT", "MIN", "MAX", "AVG", "UNIQUE_COUNT", "LATEST"]},
        "value_path": {"type": ["string", "null"], "description": "dotted path into data; required except for COUNT, absent for COUNT"},
        "group_by": {"type": "object", "additionalProperties": {"type": "string"}, "description": "dimension name to 'subject' or 'data.<path>'; at most 8"}}},
    "Feature": {"type": "object", "required": ["key", "name", "kind"], "properties": {
        "key": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{1,62}$"}, "name": NAME,
        "kind": {"type": "string", "enum": ["boolean", "static", "metered"]},
        "meter": {"type": ["string", "null"], "description": "the meter a metered feature counts; only for metered"}}},
    "FeatureList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Feature")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "EntitlementSpec": {"type": "object", "description": "boolean features: {enabled}; static: {value}; metered: {limit, period, rolling_seconds, enforcement, overage, thresholds}",
        "properties": {"enabled": {"type": "boolean"}, "value": {},
            "limit": {"type": ["number", "string"], "description": "exact decimal at least 0 (a string for more than 15 digits)"},
            "period": {"type": "string", "enum": ["month", "billing", "rolling"], "description": "month: calendar months in UTC (default); billing: monthly from the tenant's period anchor; rolling: the last rolling_seconds"},
            "rolling_seconds": {"type": "integer", "minimum": 60, "maximum": 31622400},
            "enforcement": {"type": "string", "enum": ["hard", "soft"], "description": "hard (default): usage past the limit is refused with quota_exceeded; soft: accepted and notified"},
            "overage": {"type": "boolean", "description": "soft limits only: usage past the limit is billable overage"},
            "thresholds": {"type": "array", "maxItems": 10, "items": {"type": "integer", "minimum": 1, "maximum": 1000}, "description": "percentages notified once per period (default [80, 100])"}}},
    "Plan": {"type": "object", "required": ["key", "name"], "properties": {
        "key": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{1,62}$"}, "name": NAME,
        "entitlements": {"type": "object", "additionalProperties": ref("EntitlementSpec"), "description": "feature key to entitlement"},
        "rate_limits": {"type": "object", "properties": {"tenant_per_second": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000000},
            "key_per_second": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000000}}, "description": "defaults for the plan's tenants (their settings' rate_limits win)"},
        "prices": {"oneOf": [ref("Prices"), {"type": "null"}], "description": "billing: the current price version (null: the plan has no prices)"}}},
    "PlanPatch": {"type": "object", "properties": {"name": NAME, "entitlements": {"type": "object", "additionalProperties": ref("EntitlementSpec")},
        "rate_limits": {"type": ["object", "null"]}, "prices": ref("Prices")}},
    "Prices": {"type": "object", "required": ["interval", "currency", "charges"], "description": "One version of a plan's prices. Amounts are exact decimal strings in major units",
      "properties": {
        "version": {"type": "integer", "minimum": 1, "readOnly": True}, "interval": {"type": "string", "enum": ["month", "year"]},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"}, "trial_days": {"type": "integer", "minimum": 0, "maximum": 365},
        "minimum_commitment": {"type": ["string", "null"]},
        "charges": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
            "key": {"type": "string"}, "description": {"type": "string"},
            "type": {"type": "string", "enum": ["flat", "per_unit", "graduated", "volume", "package", "percentage"]},
            "meter": {"type": "string", "description": "the meter rated (all types but flat)"}, "free_units": {"type": "string"},
            "amount": {"type": "string", "description": "flat"}, "unit_price": {"type": "string", "description": "per_unit"},
            "tiers": {"type": "array", "items": {"type": "object", "required": ["unit_price"], "properties": {
                "up_to": {"type": ["string", "null"]}, "unit_price": {"type": "string"}, "flat_fee": {"type": "string"}}}, "description": "graduated, volume"},
            "package_size": {"type": "string"}, "price": {"type": "string", "description": "package: per started package"},
            "percent": {"type": "string"}, "minimum": {"type": "string"}, "maximum": {"type": "string", "description": "percentage: per event"}}}}}},
    "Subscription": {"type": "object", "required": ["id", "tenant_id", "plan", "plan_version", "state", "current_period_start", "current_period_end"], "properties": {
        "id": {"type": "string"}, "tenant_id": {"type": "string"}, "plan": {"type": "string"}, "plan_version": {"type": "integer"},
        "state": {"type": "string", "enum": ["trialing", "active", "past_due", "grace", "suspended", "canceled", "expired"]},
        "anchor": ts, "time_zone": {"type": "string"}, "trial_end": nts, "current_period_start": ts, "current_period_end": ts,
        "cancel_at_period_end": {"type": "boolean"}, "pending_plan": {"type": ["string", "null"]}, "pending_plan_version": {"type": ["integer", "null"]},
        "ended_at": nts, "closed": {"type": "boolean", "description": "every period is invoiced"}, "created_at": ts, "updated_at": ts, "revision": {"type": "integer"}}},
    "SubscriptionList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Subscription")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "NewSubscription": {"type": "object", "additionalProperties": False, "required": ["plan"], "properties": {
        "plan": {"type": "string"}, "plan_version": {"type": ["integer", "null"], "minimum": 1, "description": "default: the latest"},
        "trial_days": {"type": ["integer", "null"], "minimum": 0, "maximum": 365, "description": "default: the plan's"},
        "time_zone": {"type": ["string", "null"], "description": "IANA zone periods count in; default: the tenant's billing time zone"},
        "tenant_id": {"type": "string", "description": "operators: the tenant to subscribe"}}},
    "PlanChange": {"type": "object", "additionalProperties": False, "required": ["plan"], "properties": {
        "plan": {"type": "string"}, "plan_version": {"type": ["integer", "null"], "minimum": 1}, "at": {"type": "string", "enum": ["now", "period_end"]}}},
    "InvoiceLine": {"type": "object", "required": ["kind", "description", "amount"], "properties": {
        "kind": {"type": "string", "enum": ["charge", "proration", "credit", "adjustment", "minimum", "tax"]}, "description": {"type": "string"},
        "amount": {"type": "string"}, "charge": {"type": "string"}, "quantity": {"type": "string", "description": "the meter total rated"},
        "period_start": ts, "period_end": ts}},
    "Invoice": {"type": "object", "required": ["id", "tenant_id", "subscription_id", "status", "currency", "lines", "subtotal", "tax", "total"], "properties": {
        "id": {"type": "string"}, "tenant_id": {"type": "string"}, "subscription_id": {"type": "string"}, "number": {"type": ["string", "null"], "description": "INV-YYYY-NNNNNN, given at finalization"},
        "status": {"type": "string", "enum": ["draft", "open", "paid", "void"]}, "plan": {"type": "string"}, "plan_version": {"type": "integer"},
        "currency": {"type": "string"}, "period_start": ts, "period_end": ts, "full_period_end": ts, "lines": {"type": "array", "items": ref("InvoiceLine")},
        "subtotal": {"type": "string"}, "tax": {"type": "string"}, "total": {"type": "string"}, "credited": {"type": "string"}, "amount_due": {"type": "string"},
        "created_at": ts, "finalize_at": ts, "finalized_at": nts, "due_at": nts, "paid_at": nts, "voided_at": nts, "payment_failed_at": nts,
        "dunning_steps_done": {"type": "integer"}, "dunning_finished": {"type": "boolean"}, "payment_reference": {"type": ["string", "null"]}, "revision": {"type": "integer"}}},
    "InvoiceList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Invoice")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "CreditNote": {"type": "object", "required": ["id", "invoice_id", "number", "amount", "currency", "reason"], "properties": {
        "id": {"type": "string"}, "tenant_id": {"type": "string"}, "invoice_id": {"type": "string"}, "number": {"type": "string", "description": "CN-YYYY-NNNNNN"},
        "amount": {"type": "string"}, "currency": {"type": "string"}, "reason": {"type": "string"}, "created_at": ts}},
    "CreditNoteList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("CreditNote")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "NewCredit": {"type": "object", "additionalProperties": False, "required": ["amount", "reason"], "properties": {
        "amount": {"type": "string", "description": "positive, in the plan's currency"}, "reason": {"type": "string", "minLength": 1, "maxLength": 500}}},
    "Credit": {"type": "object", "required": ["subscription_id", "amount", "currency", "reason"], "properties": {
        "subscription_id": {"type": "string"}, "amount": {"type": "string"}, "currency": {"type": "string"}, "reason": {"type": "string"}}},
    "NewCreditNote": {"type": "object", "additionalProperties": False, "required": ["amount", "reason"], "properties": {
        "amount": {"type": "string", "description": "positive, at most the total less earlier credit notes"}, "reason": {"type": "string", "minLength": 1, "maxLength": 500}}},
    "BillingAccount": {"type": "object", "additionalProperties": False, "properties": {
        "tax_rate": {"type": "string", "description": "percent, 0 to 100 with at most two decimals (\"8.25\")"}, "time_zone": {"type": "string"}}},
    "BillingAuditEntry": {"type": "object", "required": ["at", "subject", "subject_id", "action", "actor"], "properties": {
        "at": ts, "tenant_id": {"type": "string"}, "subject": {"type": "string", "enum": ["subscription", "invoice", "account"]}, "subject_id": {"type": "string"},
        "action": {"type": "string"}, "from": {"type": ["string", "null"]}, "to": {"type": ["string", "null"]}, "actor": {"type": "string"}, "detail": {"type": "string"}}},
    "BillingAuditList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("BillingAuditEntry")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "BillingRunReport": {"type": "object", "properties": {k: {"type": "integer"} for k in ["invoiced", "trials_ended", "canceled", "finalized", "dunning_steps", "lost_races", "failures"]}},
    "PlanList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Plan")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "EntitlementAssignment": {"type": "object", "properties": {"plan": {"type": ["string", "null"], "description": "a plan key; null removes the plan"},
        "overrides": {"type": "object", "additionalProperties": {"oneOf": [ref("EntitlementSpec"), {"type": "null"}]}, "description": "replaces the overrides: feature key to entitlement, or null to take the plan's away"}}},
    "Entitlement": {"type": "object", "required": ["feature", "kind", "allowed"], "properties": {
        "feature": {"type": "string"}, "kind": {"type": "string", "enum": ["boolean", "static", "metered"]}, "allowed": {"type": "boolean"},
        "value": {"description": "boolean and static features"}, "reason": {"type": "string", "description": "not_entitled when the tenant has no entitlement to the feature"},
        "limit": {"type": "string", "description": "allowance plus active grants, exact decimal"}, "used": {"type": "string", "description": "booked usage this period, plus usage in flight and reservations"},
        "remaining": {"type": "string"}, "overage": {"type": "string"}, "resets_at": nts, "enforcement": {"type": "string", "enum": ["hard", "soft"]},
        "period_start": ts, "period_end": ts, "reserved": {"type": "string", "description": "the amount this request reserved"},
        "grants_used": {"type": "array", "items": {"type": "object", "properties": {"grant_id": {"type": "string"}, "used": {"type": "string"}}}}}},
    "EntitlementList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Entitlement")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "TenantEntitlements": {"type": "object", "required": ["plan", "overrides", "period_anchor", "entitlements"], "properties": {
        "plan": {"type": ["string", "null"]}, "overrides": {"type": "object"}, "period_anchor": ts, "entitlements": {"type": "array", "items": ref("Entitlement")}}},
    "EntitlementCheck": {"type": "object", "required": ["feature"], "additionalProperties": False, "properties": {
        "feature": {"type": "string"}, "amount": {"type": ["number", "string"], "description": "how much more; default 0 (is any left?)"},
        "reserve": {"type": "boolean", "description": "hold amount (> 0) until used by ingest or reserve_seconds pass"},
        "reserve_seconds": {"type": "integer", "minimum": 1, "maximum": 3600, "description": "default 60; only with reserve"}}},
    "NewGrant": {"type": "object", "required": ["feature", "amount"], "additionalProperties": False, "properties": {
        "feature": {"type": "string", "description": "a metered feature"}, "amount": {"type": ["number", "string"], "description": "> 0"},
        "priority": {"type": "integer", "minimum": -1000, "maximum": 1000, "description": "lower is drawn first (default 0)"},
        "effective_at": {"type": ["string", "null"], "format": "date-time", "description": "default now"}, "expires_at": nts,
        "recurring": {"type": "boolean", "description": "amount every period (default false: a one-off balance)"},
        "rollover_cap": {"type": ["number", "string"], "description": "recurring only: most of a period's unused amount carried to the next"},
        "reason": {"type": ["string", "null"], "maxLength": 500}}},
    "Grant": {"type": "object", "required": ["id", "feature", "amount", "priority", "effective_at", "recurring", "rollover_cap"], "properties": {
        "id": {"type": "string"}, "feature": {"type": "string"}, "amount": {"type": "string"}, "priority": {"type": "integer"},
        "effective_at": ts, "expires_at": nts, "recurring": {"type": "boolean"}, "rollover_cap": {"type": "string"},
        "reason": {"type": ["string", "null"]}, "voided_at": nts}},
    "Job": {"type": "object", "required": ["id", "kind", "queue", "args", "priority", "state", "attempt", "max_attempts", "run_at", "errors", "created_at", "updated_at"],
      "properties": {
        "id": ID("job"), "kind": {"type": "string"}, "queue": {"type": "string"}, "tenant_id": {"type": ["string", "null"]}, "args": {"type": "object"},
        "priority": {"type": "integer", "minimum": 1, "maximum": 4}, "state": {"type": "string", "enum": JOB_STATES},
        "attempt": {"type": "integer", "description": "attempts started so far"}, "max_attempts": {"type": "integer"}, "run_at": ts,
        "unique_key": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"type": "object", "properties": {"attempt": {"type": "integer"}, "at": ts, "message": {"type": "string"}}}},
        "created_at": ts, "updated_at": ts, "finalized_at": nts}},
    "JobList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Job")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "NewJob": {"type": "object", "required": ["kind"], "additionalProperties": False, "properties": {
        "kind": {"type": "string", "pattern": "^[a-z0-9._-]{1,128}$", "description": "the handler, e.g. tally.noop"},
        "queue": {"type": "string", "pattern": "^[a-z0-9._-]{1,128}$", "description": "default: default"},
        "tenant_id": {"type": ["string", "null"]}, "args": {"type": ["object", "null"]},
        "priority": {"type": "integer", "minimum": 1, "maximum": 4, "description": "1 runs first; default 2"},
        "run_at": {"type": ["string", "null"], "format": "date-time", "description": "run no earlier than this"},
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "default 25"},
        "unique_key": {"type": ["string", "null"], "description": "jobs of one kind with the same key (within the period) are enqueued once"},
        "unique_period_seconds": {"type": ["integer", "null"], "minimum": 1}}},
    "JobStats": {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": {"type": "object", "properties": {
        "queue": {"type": "string"}, "state": {"type": "string", "enum": JOB_STATES}, "count": {"type": "integer"}}}}}},
    "DeadJobFilter": {"type": "object", "additionalProperties": False, "description": "Name the dead jobs, or send all: true",
      "properties": {"all": {"type": "boolean"}, "queue": {"type": "string"}, "kind": {"type": "string"}, "tenant_id": {"type": "string"},
        "older_than": {"type": "integer", "minimum": 0}, "ids": {"type": "array", "minItems": 1, "items": {"type": "string"}}}},
    "WebhookEndpoint": {"type": "object", "required": ["id", "tenant_id", "url", "event_types", "status", "created_at", "updated_at"], "properties": {
        "id": ID("whe"), "tenant_id": {"type": "string"}, "url": {"type": "string"}, "description": {"type": "string"},
        "event_types": {"type": "array", "items": {"type": "string"}, "description": "empty: every type"},
        "status": {"type": "string", "enum": ["enabled", "disabled"]}, "disabled_reason": {"type": ["string", "null"]},
        "failing_since": nts, "previous_secret_until": nts, "created_at": ts, "updated_at": ts,
        "secret": {"type": "string", "description": "whsec_…; only in the answers to create and rotate-secret"}}},
    "WebhookEndpointList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("WebhookEndpoint")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "NewWebhookEndpoint": {"type": "object", "required": ["url"], "additionalProperties": False, "properties": {
        "url": {"type": "string", "description": "http or https; hosts resolving to loopback, private or link-local addresses are refused unless the operator allows them"},
        "description": {"type": ["string", "null"], "maxLength": 500}, "event_types": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"}, "maxItems": 100},
        "secret": {"type": ["string", "null"], "description": "whsec_ and 24-64 bytes in base64; generated when absent"}, "enabled": {"type": "boolean"}}},
    "WebhookEndpointPatch": {"type": "object", "additionalProperties": False, "properties": {
        "url": {"type": "string"}, "description": {"type": "string", "maxLength": 500}, "event_types": {"type": "array", "items": {"type": "string"}}, "enabled": {"type": "boolean"}}},
    "WebhookDelivery": {"type": "object", "required": ["id", "endpoint_id", "event_type", "payload", "status", "attempts", "created_at"], "properties": {
        "id": ID("msg"), "endpoint_id": {"type": "string"}, "event_type": {"type": "string"}, "payload": {"type": "object", "description": "{type, timestamp, data}: the exact body sent"},
        "status": {"type": "string", "enum": ["pending", "delivered", "failed"]}, "job_id": {"type": ["string", "null"]},
        "attempts": {"type": "array", "items": {"type": "object", "properties": {"at": ts, "status": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]}, "duration_ms": {"type": "integer"}}}},
        "created_at": ts, "delivered_at": nts}},
    "WebhookDeliveryList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("WebhookDelivery")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "GrantList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Grant")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "ThresholdNotification": {"type": "object", "required": ["feature", "threshold", "period_start", "used", "limit", "created_at"], "properties": {
        "feature": {"type": "string"}, "threshold": {"type": "integer"}, "period_start": ts, "used": {"type": "string"}, "limit": {"type": "string"}, "created_at": ts}},
    "ThresholdNotificationList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("ThresholdNotification")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "MeterPatch": {"type": "object", "description": "Absent fields stay as they are; the slug cannot change.", "properties": {
        "event_type": {"type": "string", "minLength": 1, "maxLength": 256},
        "aggregation": {"type": "string", "enum": ["SUM", "COUNT", "MIN", "MAX", "AVG", "UNIQUE_COUNT", "LATEST"]},
        "value_path": {"type": ["string", "null"], "description": "null removes it (for COUNT)"},
        "group_by": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "Amendment": {"type": "object", "additionalProperties": False, "minProperties": 1, "description": "data and/or subject: the event from now on",
        "properties": {"data": {"type": "object"}, "subject": {"type": ["string", "null"], "minLength": 1, "maxLength": 256},
                       "reason": {"type": ["string", "null"], "maxLength": 1024}}},
    "EventVersion": {"type": "object", "required": ["subject", "data"], "properties": {"subject": {"type": ["string", "null"]}, "data": {"type": "object"}}},
    "EventHistory": {"type": "object", "required": ["source", "id", "type", "time", "received_at", "status", "original", "effective", "corrections"], "properties": {
        "source": {"type": "string"}, "id": {"type": "string"}, "type": {"type": "string"}, "time": ts, "received_at": ts,
        "status": {"type": "string", "enum": ["active", "amended", "voided"]},
        "original": ref("EventVersion"), "effective": {"oneOf": [ref("EventVersion"), {"type": "null"}], "description": "null once voided"},
        "corrections": {"type": "array", "items": {"type": "object", "required": ["sequence", "kind", "reason", "created_at"], "properties": {
            "sequence": {"type": "integer", "minimum": 1}, "kind": {"type": "string", "enum": ["void", "amend"]},
            "subject": {"type": ["string", "null"]}, "data": {"type": "object"}, "reason": {"type": ["string", "null"]}, "created_at": ts}}}}},
    "MeterList": {"type": "object", "required": ["data", "has_more"], "properties": {"data": {"type": "array", "items": ref("Meter")}, "has_more": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}}},
    "MeterQueryResult": {"type": "object", "required": ["meter", "aggregation", "window", "tz", "from", "to", "data"], "properties": {
        "meter": {"type": "string"}, "aggregation": {"type": "string"}, "window": {"type": "string"}, "tz": {"type": "string"}, "from": ts, "to": ts,
        "data": {"type": "array", "items": {"type": "object", "required": ["window_start", "window_end", "group", "value"], "properties": {
            "window_start": ts, "window_end": ts, "group": {"type": "object", "additionalProperties": {"type": "string"}},
            "value": {"type": "string", "description": "exact decimal"}}}}}},
    "Usage": {"type": "object", "required": ["from", "to", "meters"], "properties": {"from": ts, "to": ts, "meters": {"type": "array", "items": {
        "type": "object", "required": ["meter", "aggregation", "value"], "properties": {"meter": {"type": "string"}, "aggregation": {"type": "string"},
        "value": {"type": ["string", "null"], "description": "exact decimal; null when there is nothing to report"}}}}}},
    "CloudEvent": {"type": "object", "required": ["specversion", "id", "source", "type"], "description": "CloudEvents 1.0, JSON format", "properties": {
        "specversion": {"type": "string", "const": "1.0"}, "id": {"type": "string", "minLength": 1, "maxLength": 256},
        "source": {"type": "string", "minLength": 1, "maxLength": 1024}, "type": {"type": "string", "minLength": 1, "maxLength": 256},
        "subject": {"type": ["string", "null"], "minLength": 1, "maxLength": 256}, "time": {"type": ["string", "null"], "format": "date-time"},
        "datacontenttype": {"type": ["string", "null"]}, "data": {"type": ["object", "null"]}}},
    "IngestReport": {"type": "object", "required": ["accepted", "duplicates", "rejected", "results"], "properties": {
        "accepted": {"type": "integer"}, "duplicates": {"type": "integer"}, "rejected": {"type": "integer"},
        "results": {"type": "array", "items": {"type": "object", "required": ["index", "status"], "properties": {
            "index": {"type": "integer"}, "id": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected", "skipped"]},
            "code": {"type": ["string", "null"], "description": "for rejected events: the rule broken, e.g. invalid_attribute, event_too_old, meter_value_missing, quota_exceeded (a hard limit)"},
            "field": {"type": ["string", "null"]}, "reason": {"type": ["string", "null"]}}}}}},
    "Me": {"type": "object", "required": ["api_key_id", "kind", "scopes"], "properties": {
        "api_key_id": {"type": "string"}, "kind": {"type": "string", "enum": ["operator", "tenant"]}, "tenant_id": {"type": ["string", "null"]},
        "service_identity_id": {"type": ["string", "null"]}, "scopes": {"type": "array", "items": {"type": "string"}}}},
  }}}
text = json.dumps(doc, indent=1, sort_keys=False)
assert '"""#' not in text
swift = ('// Generated by scripts/openapi.py. Do not edit: edit the script and run it.\n\n'
 '/// The OpenAPI 3.1 document served at `/openapi.json`. `OpenAPIDocumentTests` checks that it\n'
 '/// lists exactly the routes the router serves.\n'
 'public enum OpenAPIDocument {\n'
 '    /// The document\'s JSON text.\n'
 '    public static let json = #"""\n' + text + '\n"""#\n}\n')
target = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Sources', 'HTTPFront', 'OpenAPIDocument.swift')
if '--check' in sys.argv:
    with open(target) as f:
        if f.read() != swift:
            sys.exit('Sources/HTTPFront/OpenAPIDocument.swift is stale: run python3 scripts/openapi.py')
else:
    with open(target, 'w') as f:
        f.write(swift)
