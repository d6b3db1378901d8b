#!/usr/bin/env python3
"""A loopback stand-in for Azure Key Vault (secrets), Entra ID's token endpoint and the two managed
identity endpoints, written from Microsoft's REST documentation for the AzureProviderTests. Standard
library only. Never logs a value, a client secret or a token.

    python3 fake_key_vault.py --port PORT

Routes (one server plays every host):
  GET  /secrets/{name}[/], /secrets/{name}/{version}   Key Vault Get Secret (a value read is counted)
  GET  /secrets/{name}/versions[?maxresults=1..25]     Key Vault Get Secret Versions (nextLink paging)
  POST /{tenant}/oauth2/v2.0/token                     Entra client credentials (secret or assertion)
  GET  /msi/token                                      App Service managed identity (X-IDENTITY-HEADER)
  GET  /metadata/identity/oauth2/token                 IMDS managed identity (Metadata: true)
  POST /_control/{reset,configure,secret,expire,disable,delete,fault,revoke-tokens}, GET /_control/counters

Key Vault behaviour modelled (https://learn.microsoft.com/rest/api/keyvault/secrets/):
  - api-version is required on every vault call (400 BadParameter otherwise);
  - no or an unknown token: 401 with `WWW-Authenticate: Bearer authorization="{base}/{tenant}",
    resource="https://vault.azure.net"` and {"error":{"code":"Unauthorized","message":"AKV10000: ..."}};
  - a token for another tenant: 401 with the same challenge (AKV10032 invalid issuer);
  - GET of a disabled version (the latest included): 403 Forbidden / innererror SecretDisabled;
  - unknown secret or version: 404 SecretNotFound;
  - attributes carry `created` and `updated` (the service's clock) and, when set, `exp` and `nbf` (Set
    Secret's `attributes`, NumericDate seconds); Key Vault still returns a version past its `exp`;
  - listing returns ids and attributes only, never a value; `nextLink` is an absolute URL with a
    $skiptoken. Real Key Vault also repeats api-version in nextLink; this stand-in leaves it out on
    purpose, so a client that does not set its api-version on nextLink fails here;
  - faults: the next N requests under a path prefix answer a given status (429 with Retry-After, 403
    as a denial by access policy).
Error message texts are modelled on the documented shapes; they are not byte-for-byte Azure's.
"""
import argparse
import base64
import copy
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {
    "tenant": "11111111-1111-1111-1111-111111111111",
    # the tenant the vault's challenge names; None means "tenant"
    "challenge_tenant": None,
    "challenge_resource": "https://vault.azure.net",
    # client_id -> {"tenants": [...], "secret": str|None, "assertion": str|None}
    "clients": {},
    "identity_header": None,
    # cap on page size, whatever maxresults asks (Key Vault may return fewer items than asked)
    "page_cap": 25,
    "secrets": {},  # name -> [version dicts, in creation order]
    "tokens": {},  # token -> {"tenant", "audience", "kind"}
    "faults": [],  # {"prefix", "status", "count", "retry_after"}
    "token_lifetime": 3599,  # seconds, for every issued token
    "clock": 1_700_000_000,
}
COUNTERS = {
    "requests": 0,
    "challenges": 0,
    "value_reads": {},  # name -> count of GETs that returned a value
    "list_pages": 0,
    "token_requests": {"client_secret": 0, "federated": 0, "app_service": 0, "imds": 0},
    "token_failures": 0,
    "faults_served": 0,
    "api_versions": [],
    "missing_api_version": 0,
}

INITIAL = (copy.deepcopy(STATE), copy.deepcopy(COUNTERS))

KV_API_VERSIONS = {"2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"}
NOT_FOUND_HINT = ("If you recently deleted this secret you may be able to recover it using the correct recovery "
                  "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182")


def now_tick():
    STATE["clock"] += 1
    return STATE["clock"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeKeyVault/1.0"

    def log_message(self, fmt, *args):  # no request log: URLs are harmless, but keep the log quiet
        pass

    # -- plumbing ---------------------------------------------------------------------------------
    def base(self):
        return "http://127.0.0.1:%d" % self.server.server_port

    def send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def kv_error(self, status, code, message, inner=None, headers=None):
        error = {"code": code, "message": message}
        if inner:
            error["innererror"] = {"code": inner}
        self.send_json(status, {"error": error}, headers)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def route(self, method):
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        path = parsed.path
        body = self.read_body() if method in ("POST", "PUT") else b""
        with LOCK:
            if path.startswith("/_control/"):
                return self.control(method, path[len("/_control/"):], body)
            COUNTERS["requests"] += 1
            if path.endswith("/oauth2/v2.0/token") and method == "POST":
                return self.entra_token(path, body)
            if path == "/msi/token" and method == "GET":
                return self.app_service_token(query)
            if path == "/metadata/identity/oauth2/token" and method == "GET":
                return self.imds_token(query)
            if path.startswith("/secrets/") and method == "GET":
                return self.vault(path, query)
            if path.startswith("/secrets/") and method == "PUT":  # Set Secret: a new version
                return self.vault(path, query, body)
            self.send_json(404, {"error": {"code": "NotFound", "message": "no route " + method + " " + path}})

    # -- control ----------------------------------------------------------------------------------
    def control(self, method, action, body):
        args = json.loads(body or b"{}")
        if action == "counters":
            return self.send_json(200, COUNTERS)
        if action == "reset":  # back to the initial state, counters zeroed: one server serves many tests
            STATE.clear()
            STATE.update(copy.deepcopy(INITIAL[0]))
            COUNTERS.clear()
            COUNTERS.update(copy.deepcopy(INITIAL[1]))
            return self.send_json(200, {})
        if action == "configure":
            for key in ("tenant", "challenge_tenant", "challenge_resource", "clients", "identity_header", "page_cap",
                        "token_lifetime"):
                if key in args:
                    STATE[key] = args[key]
            return self.send_json(200, {})
        if action == "secret":  # add a version: {"name", "value", "enabled"?, "created"?, "exp"?, "nbf"?}
            version = uuid.uuid4().hex
            created = args.get("created") or now_tick()
            STATE["secrets"].setdefault(args["name"], []).append({
                "version": version, "value": args["value"], "enabled": args.get("enabled", True),
                "created": created, "updated": created, "contentType": args.get("contentType"),
                "exp": args.get("exp"), "nbf": args.get("nbf")})
            return self.send_json(200, {"version": version})
        if action == "expire":  # {"name", "version", "exp"}: Update Secret's attributes.exp, as a PATCH sets it
            for entry in STATE["secrets"].get(args["name"], []):
                if entry["version"] == args["version"]:
                    entry["exp"] = args["exp"]
                    entry["updated"] = now_tick()
            return self.send_json(200, {})
        if action == "disable":  # {"name", "version"}
            for entry in STATE["secrets"].get(args["name"], []):
                if entry["version"] == args["version"]:
                    entry["enabled"] = False
                    entry["updated"] = now_tick()
            return self.send_json(200, {})
        if action == "delete":  # {"name"}: the whole secret, as Key Vault deletes
            STATE["secrets"].pop(args["name"], None)
            return self.send_json(200, {})
        if action == "fault":  # {"prefix", "status", "count", "retry_after"?}
            STATE["faults"].append(dict(args))
            return self.send_json(200, {})
        if action == "revoke-tokens":
            STATE["tokens"].clear()
            return self.send_json(200, {})
        return self.send_json(404, {"error": "unknown control action " + action})

    def fault(self, path):
        """Answers with a seeded fault for `path` if one is due; True when it did."""
        for fault in STATE["faults"]:
            if fault["count"] > 0 and path.startswith(fault["prefix"]):
                fault["count"] -= 1
                COUNTERS["faults_served"] += 1
                headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
                if fault["status"] == 429:
                    self.kv_error(429, "Throttled", "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached", headers=headers)
                elif fault["status"] == 403:
                    self.kv_error(403, "Forbidden", "The user, group or application does not have secrets get permission on key vault.", inner="ForbiddenByPolicy")
                else:
                    self.kv_error(fault["status"], "InternalServerError", "The service is unavailable.", headers=headers)
                return True
        return False

    # -- Entra ID ---------------------------------------------------------------------------------
    def issue(self, kind, tenant, audience):
        token = "fake-token-" + uuid.uuid4().hex
        STATE["tokens"][token] = {"tenant": tenant, "audience": audience, "kind": kind}
        return token

    def entra_error(self, status, error, code, description):
        COUNTERS["token_failures"] += 1
        trace = str(uuid.uuid4())
        self.send_json(status, {
            "error": error,
            "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
                code, description, trace, uuid.uuid4(), time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())),
            "error_codes": [code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": trace, "correlation_id": str(uuid.uuid4())})

    def entra_token(self, path, body):
        if self.fault(path):
            return
        tenant = path.split("/")[1]
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        if form.get("grant_type") != "client_credentials":
            return self.entra_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id = form.get("client_id", "")
        client = STATE["clients"].get(client_id)
        if client is None or tenant not in client["tenants"]:
            return self.entra_error(400, "unauthorized_client", 700016,
                                    "Application with identifier '%s' was not found in the directory '%s'." % (client_id, tenant))
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return self.entra_error(400, "invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)." % scope)
        if "client_secret" in form:
            kind = "client_secret"
            if form["client_secret"] != client.get("secret"):
                return self.entra_error(401, "invalid_client", 7000215,
                                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'." % client_id)
        elif "client_assertion" in form:
            kind = "federated"
            if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return self.entra_error(400, "invalid_request", 90002, "The client_assertion_type is not supported.")
            if form["client_assertion"] != client.get("assertion"):
                return self.entra_error(400, "invalid_client", 70021,
                                        "No matching federated identity record found for presented assertion.")
        else:
            return self.entra_error(401, "invalid_client", 7000216,
                                    "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
        COUNTERS["token_requests"][kind] += 1
        token = self.issue(kind, tenant, scope[: -len("/.default")])
        lifetime = STATE["token_lifetime"]
        self.send_json(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token})

    # -- managed identity -------------------------------------------------------------------------
    def mi_response(self, kind, resource):
        COUNTERS["token_requests"][kind] += 1
        token = self.issue(kind, STATE["tenant"], resource.rstrip("/"))
        lifetime = STATE["token_lifetime"]
        expires = int(time.time()) + lifetime
        # Managed identity endpoints send every number as a string.
        return {"access_token": token, "expires_on": str(expires), "expires_in": str(lifetime),
                "ext_expires_in": str(lifetime), "not_before": str(expires - lifetime),
                "resource": resource, "token_type": "Bearer"}

    def app_service_token(self, query):
        if query.get("api-version", [""])[0] != "2019-08-01":
            return self.send_json(400, {"statusCode": 400, "message": "api-version 2019-08-01 is required"})
        if STATE["identity_header"] is None or self.headers.get("X-IDENTITY-HEADER") != STATE["identity_header"]:
            return self.send_json(401, {"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or wrong"})
        resource = query.get("resource", [""])[0]
        if not resource:
            return self.send_json(400, {"statusCode": 400, "message": "resource is required"})
        body = self.mi_response("app_service", resource)
        body["client_id"] = query.get("client_id", ["system-assigned"])[0]
        self.send_json(200, body)

    def imds_token(self, query):
        if self.headers.get("Metadata") != "true":
            return self.send_json(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
        if not query.get("api-version", [""])[0]:
            return self.send_json(400, {"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"})
        resource = query.get("resource", [""])[0]
        if not resource:
            return self.send_json(400, {"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"})
        self.send_json(200, self.mi_response("imds", resource))

    # -- Key Vault --------------------------------------------------------------------------------
    def challenge_headers(self):
        tenant = STATE["challenge_tenant"] or STATE["tenant"]
        return {"WWW-Authenticate": 'Bearer authorization="%s/%s", resource="%s"' % (
            self.base(), tenant, STATE["challenge_resource"])}

    def vault(self, path, query, put_body=None):
        api_version = query.get("api-version", [""])[0]
        if not api_version:
            COUNTERS["missing_api_version"] += 1
            return self.kv_error(400, "BadParameter", "The request URI contains an invalid or missing api-version query parameter.")
        COUNTERS["api_versions"].append(api_version)
        if api_version not in KV_API_VERSIONS:
            return self.kv_error(400, "BadParameter", "The specified version (%s) is not recognized. Consider using the latest supported version (2025-07-01)." % api_version)

        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            COUNTERS["challenges"] += 1
            return self.kv_error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                                 headers=self.challenge_headers())
        grant = STATE["tokens"].get(authorization[len("Bearer "):])
        expected_tenant = STATE["challenge_tenant"] or STATE["tenant"]
        if grant is None:
            COUNTERS["challenges"] += 1
            return self.kv_error(401, "Unauthorized", "AKV10022: Invalid token: it is expired, revoked or unknown.",
                                 headers=self.challenge_headers())
        if grant["tenant"] != expected_tenant and grant["kind"] not in ("app_service", "imds"):
            COUNTERS["challenges"] += 1
            return self.kv_error(401, "Unauthorized", "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/%s/." % expected_tenant,
                                 headers=self.challenge_headers())
        if grant["audience"] != STATE["challenge_resource"]:
            COUNTERS["challenges"] += 1
            return self.kv_error(401, "Unauthorized", "AKV10022: Invalid audience. Expected %s." % STATE["challenge_resource"],
                                 headers=self.challenge_headers())

        if self.fault(path):
            return

        parts = path.split("/")[2:]  # after "/secrets/"
        name = parts[0]
        rest = parts[1:]
        if put_body is not None:
            if rest not in ([], [""]):
                return self.kv_error(405, "MethodNotAllowed", "PUT goes to /secrets/{name}.")
            try:
                request = json.loads(put_body)
                value = request["value"]
                attributes = request.get("attributes") or {}
            except (ValueError, KeyError, TypeError, AttributeError):
                return self.kv_error(400, "BadParameter", "The request body must be a JSON object with a value.")
            created = now_tick()
            entry = {"version": uuid.uuid4().hex, "value": value, "enabled": attributes.get("enabled", True),
                     "created": created, "updated": created, "contentType": request.get("contentType"),
                     "exp": attributes.get("exp"), "nbf": attributes.get("nbf")}
            STATE["secrets"].setdefault(name, []).append(entry)
            COUNTERS.setdefault("writes", 0)
            COUNTERS["writes"] += 1
            return self.send_json(200, self.item(name, entry))
        versions = STATE["secrets"].get(name)
        if rest == ["versions"]:
            return self.list_versions(name, versions, query, api_version)
        if not versions:
            return self.kv_error(404, "SecretNotFound", "A secret with (name/id) %s was not found in this key vault. %s" % (name, NOT_FOUND_HINT))
        if rest in ([], [""]):
            entry = max(versions, key=lambda v: v["created"])
        elif len(rest) == 1:
            entry = next((v for v in versions if v["version"] == rest[0]), None)
            if entry is None:
                return self.kv_error(404, "SecretNotFound", "A secret with (name/id) %s/%s was not found in this key vault. %s" % (name, rest[0], NOT_FOUND_HINT))
        else:
            return self.kv_error(400, "BadParameter", "The request URI is not valid.")
        if not entry["enabled"]:
            return self.kv_error(403, "Forbidden", "Operation get is not allowed on a disabled secret.", inner="SecretDisabled")
        COUNTERS["value_reads"][name] = COUNTERS["value_reads"].get(name, 0) + 1
        bundle = self.item(name, entry)
        bundle["value"] = entry["value"]
        self.send_json(200, bundle)

    def item(self, name, entry):
        item = {"id": "%s/secrets/%s/%s" % (self.base(), name, entry["version"]),
                "attributes": {"enabled": entry["enabled"], "created": entry["created"], "updated": entry["updated"],
                               "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
                "tags": {}}
        for key in ("exp", "nbf"):
            if entry.get(key) is not None:
                item["attributes"][key] = entry[key]
        if entry.get("contentType"):
            item["contentType"] = entry["contentType"]
        return item

    def list_versions(self, name, versions, query, api_version):
        if versions is None:
            return self.kv_error(404, "SecretNotFound", "A secret with (name/id) %s was not found in this key vault. %s" % (name, NOT_FOUND_HINT))
        try:
            asked = int(query.get("maxresults", ["25"])[0])
        except ValueError:
            asked = 0
        if not 1 <= asked <= 25:
            return self.kv_error(400, "BadParameter", "maxresults must be between 1 and 25.")
        size = min(asked, int(STATE["page_cap"]))
        skip = 0
        token = query.get("$skiptoken", [""])[0]
        if token:
            skip = int(json.loads(base64.urlsafe_b64decode(token.encode()).decode())["skip"])
        COUNTERS["list_pages"] += 1
        page = versions[skip:skip + size]
        body = {"value": [self.item(name, entry) for entry in page], "nextLink": None}
        if skip + size < len(versions):
            token = base64.urlsafe_b64encode(json.dumps({"skip": skip + size}).encode()).decode()
            body["nextLink"] = "%s/secrets/%s/versions?%s" % (self.base(), name, urllib.parse.urlencode(
                {"$skiptoken": token, "maxresults": str(asked)}))
        self.send_json(200, body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
