"""A fast in-memory Secrets Manager stand-in for the fleet benchmark: the same awsJson wire protocol,
a fixed delay per call (a store's round trip) and a dict lookup per secret, so the store costs next to
nothing and what is measured is the client and the quotas.

It keeps AWS's documented quotas as token buckets (BatchGetSecretValue and ListSecrets 100 calls a
second after a burst of 100, GetSecretValue and DescribeSecret 10,000) and answers a call over its
quota with ThrottlingException, counted apart, so a client that outruns a quota shows it.

  fast_store.py PORT SECRETS [DELAY]

Seeds SECRETS secrets named fleet/secret-00000... with {"password": "fleet-password-N"}. Signatures are
not checked. GET /__counts returns the calls by X-Amz-Target, the throttled ones, and when the first and
the last call arrived (`first`, `last`, Unix time); POST /__reset
clears them."""
import bisect
import http.server
import json
import sys
import threading
import time
from collections import Counter

import loopback_http

PORT = int(sys.argv[1])
SECRETS = int(sys.argv[2])
DELAY = float(sys.argv[3]) if len(sys.argv) > 3 else 0.020
PREFIX = "secretsmanager."

names = [f"fleet/secret-{i:05d}" for i in range(SECRETS)]
secrets = {
    name: {"ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf",
           "Name": name, "VersionId": f"{i:08d}-0000-4000-8000-000000000000",
           "SecretString": json.dumps({"password": f"fleet-password-{i}"})}
    for i, name in enumerate(names)
}

counts = Counter()
# When the first and the last call since the reset arrived (wall clock, to compare with a client's start
# and end): how long the store was asked, apart from the client's own work before and after.
window = []
lock = threading.Lock()


class Bucket:
    def __init__(self, rate, burst):
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


quotas = {"BatchGetSecretValue": Bucket(100, 100), "ListSecrets": Bucket(100, 100),
          "GetSecretValue": Bucket(10000, 10000), "DescribeSecret": Bucket(10000, 10000)}


def metadata(entry):
    return {"ARN": entry["ARN"], "Name": entry["Name"], "VersionIdsToStages": {entry["VersionId"]: ["AWSCURRENT"]},
            "SecretVersionsToStages": {entry["VersionId"]: ["AWSCURRENT"]}}


def not_found(secret_id):
    return 400, {"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."}


def lookup(secret_id):
    if secret_id in secrets:
        return secrets[secret_id]
    if secret_id.startswith("arn:"):
        return next((e for e in secrets.values() if e["ARN"] == secret_id or e["ARN"].startswith(secret_id + "-")), None)
    return None


def answer(operation, body):
    if operation == "BatchGetSecretValue":
        values, errors = [], []
        for secret_id in body.get("SecretIdList", []):
            entry = lookup(secret_id)
            if entry:
                values.append(dict(entry, VersionStages=["AWSCURRENT"]))
            else:
                errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException", "Message": "not found"})
        return 200, {"SecretValues": values, "Errors": errors}
    if operation == "GetSecretValue":
        entry = lookup(body.get("SecretId", ""))
        return (200, dict(entry, VersionStages=["AWSCURRENT"])) if entry else not_found(body.get("SecretId"))
    if operation == "DescribeSecret":
        entry = lookup(body.get("SecretId", ""))
        return (200, metadata(entry)) if entry else not_found(body.get("SecretId"))
    if operation == "ListSecrets":
        values = [v for f in body.get("Filters", []) if f.get("Key") == "name" for v in f.get("Values", [])]
        if not values:
            matched = names
        else:
            # Sorted names: each prefix is a run found by bisection, not a scan of every secret.
            found = set()
            for value in values:
                i = bisect.bisect_left(names, value)
                while i < len(names) and names[i].startswith(value):
                    found.add(names[i])
                    i += 1
            matched = sorted(found)
        start = int(body.get("NextToken") or 0)
        size = min(100, int(body.get("MaxResults") or 100))
        page = matched[start:start + size]
        out = {"SecretList": [metadata(secrets[n]) for n in page]}
        if start + size < len(matched):
            out["NextToken"] = str(start + size)
        return 200, out
    return 400, {"__type": "UnknownOperationException", "message": operation}


class Handler(loopback_http.Handler):
    def answer(self, status, payload):
        self.reply(status, json.dumps(payload).encode(), [("Content-Type", "application/x-amz-json-1.1")])

    def do_GET(self):
        if self.path == "/__counts":
            with lock:
                spent = {"first": window[0], "last": window[1]} if window else {}
                return self.answer(200, dict(counts, **spent))
        self.answer(404, {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/__reset":
            with lock:
                counts.clear()
                window.clear()
            return self.answer(200, {})
        target = self.headers.get("X-Amz-Target") or ""
        operation = target[len(PREFIX):] if target.startswith(PREFIX) else target
        with lock:
            allowed = operation not in quotas or quotas[operation].take()
            counts[target if allowed else "throttled." + operation] += 1
            now = time.time()
            window[:] = [window[0] if window else now, now]
        time.sleep(DELAY)
        if not allowed:
            return self.answer(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
        status, payload = answer(operation, json.loads(raw or b"{}"))
        self.answer(status, payload)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


Server(("127.0.0.1", PORT), Handler).serve_forever()
