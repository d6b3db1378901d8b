"""A loopback stand-in for AWS Lambda's control plane, in front of moto (Python standard library only).

moto applies a configuration update at once and never throttles; real Lambda does neither. This proxy
forwards every call to moto and adds what a fleet deploy has to live with, as the Lambda API reference
documents it:

- UpdateFunctionConfiguration leaves the function `LastUpdateStatus: InProgress` for --delay seconds
  (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html: "the function's
  LastUpdateStatus is InProgress" until the update completes; GetFunctionConfiguration reports it,
  https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html, and
  https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html).
- Another update of that function meanwhile is refused with 409 ResourceConflictException
  (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html#API_UpdateFunctionConfiguration_Errors:
  "The resource already exists, or another operation is in progress").
- Control-plane calls beyond --rate a second (a token bucket holding one second's worth; GetFunction and
  GetPolicy draw from their own 100 a second, as the quotas page lists them) get 429
  TooManyRequestsException with a Retry-After header and `retryAfterSeconds`, `Reason:
  CallerRateLimitExceeded` (https://docs.aws.amazon.com/lambda/latest/api/API_TooManyRequestsException.html;
  the quota of 15 a second: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
- With --deny OPERATION (repeatable: GetResources, GetFunction, ...), that operation is answered
  AccessDeniedException, as for a role without its IAM action (403 from Lambda, 400 from the awsJson
  Tagging API).

Only Lambda's REST paths (`/2015-03-31/...`, `/2017-03-31/...`) count against the quota; STS and the
Tagging API pass through uncounted by it. GET /__standin/stats returns the calls by operation, the 429s
and 409s; POST /__standin/reset clears them.

    python3 lambda_standin.py --port 8001 --upstream http://127.0.0.1:5000 [--delay 2] [--rate 15]
"""
import argparse
import http.server
import json
import math
import re
import threading
import time
import urllib.parse
from collections import Counter

from loopback_http import Handler, Upstream

LAMBDA_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/")
CONFIGURATION = re.compile(r"^/2015-03-31/functions/([^/?]+)/configuration")
FUNCTION = re.compile(r"^/2015-03-31/functions/([^/?]+)/?(\?|$)")
POLICY = re.compile(r"^/2015-03-31/functions/([^/?]+)/policy")


class Bucket:
    """A token bucket holding one second's worth of calls."""

    def __init__(self, rate):
        self.rate = rate
        self.tokens = rate
        self.last = time.monotonic()

    def take(self):
        """0 when a call may go; else the seconds until one may. Called under the state's lock."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return (1 - self.tokens) / self.rate


class State:
    def __init__(self, rate, delay):
        self.lock = threading.Lock()
        self.delay = delay
        self.control_plane = Bucket(rate)
        # GetFunction and GetPolicy have a quota of their own, 100 a second.
        self.get_function = Bucket(100)
        self.busy_until = {}
        self.counts = Counter()

    def take_token(self, name):
        with self.lock:
            return (self.get_function if name in ("GetFunction", "GetPolicy") else self.control_plane).take()


def function_key(segment):
    """A function's name from a path segment that may be a (percent-encoded) ARN."""
    name = urllib.parse.unquote(segment)
    if name.startswith("arn:"):
        parts = name.split(":")
        name = parts[6] if len(parts) > 6 else name
    return name


def operation(method, path, headers, body):
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    if CONFIGURATION.match(path):
        return {"GET": "GetFunctionConfiguration", "PUT": "UpdateFunctionConfiguration"}.get(method, method + " configuration")
    if path.startswith("/2017-03-31/tags/"):
        return {"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}.get(method, method + " tags")
    if path.rstrip("/").endswith("/2015-03-31/functions") and method == "POST":
        return "CreateFunction"
    if FUNCTION.match(path) and method == "GET":
        return "GetFunction"
    if POLICY.match(path) and method == "GET":
        return "GetPolicy"
    if method == "POST" and path == "/":
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return method + " " + path.split("?")[0][:40]


def make_handler(state, upstream, denied):
    class StandIn(Handler):
        def error(self, status, code, message, extra=None, headers=()):
            document = {"Type": "User", "message": message}
            document.update(extra or {})
            self.reply(status, json.dumps(document).encode(),
                       [("Content-Type", "application/json"), ("X-Amzn-ErrorType", code)] + list(headers))

        def forward(self, body):
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
            headers["Content-Length"] = str(len(body))
            return upstream.send(self.command, self.path, body, headers)

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path
            if path == "/__standin/stats":
                with state.lock:
                    return self.reply(200, json.dumps(dict(state.counts)).encode(), [("Content-Type", "application/json")])
            if path == "/__standin/reset":
                with state.lock:
                    state.counts.clear()
                return self.reply(200, b"{}")
            name = operation(self.command, path, self.headers, body)
            control_plane = bool(LAMBDA_PATH.match(path)) and not path.endswith("/invocations")
            if control_plane:
                wait = state.take_token(name)
                if wait:
                    with state.lock:
                        state.counts["throttled"] += 1
                        state.counts["throttled " + name] += 1
                    seconds = max(1, math.ceil(wait))
                    return self.error(429, "TooManyRequestsException", "Rate exceeded",
                                      {"Reason": "CallerRateLimitExceeded", "retryAfterSeconds": str(seconds)},
                                      [("Retry-After", str(seconds))])
            if name in denied:
                with state.lock:
                    state.counts["denied " + name] += 1
                if control_plane:
                    return self.error(403, "AccessDeniedException", f"User is not authorized to perform: lambda:{name}")
                document = {"__type": "AccessDeniedException", "Message": f"User is not authorized to perform: tag:{name}"}
                return self.reply(400, json.dumps(document).encode(),
                                  [("Content-Type", "application/x-amz-json-1.1")])
            match = CONFIGURATION.match(path)
            key = function_key(match.group(1)) if match else None
            now = time.monotonic()
            if key and self.command == "PUT":
                with state.lock:
                    busy = state.busy_until.get(key, 0) > now
                    if busy:
                        state.counts["conflict"] += 1
                if busy:
                    return self.error(409, "ResourceConflictException",
                                      f"The operation cannot be performed at this time. An update is in progress for resource: {key}")
            with state.lock:
                state.counts[name] += 1
            status, headers, answer = self.forward(body)
            if name == "GetFunction" and 200 <= status < 300:
                key = function_key(FUNCTION.match(path).group(1))
            if key and 200 <= status < 300:
                with state.lock:
                    if self.command == "PUT":
                        state.busy_until[key] = now + state.delay
                    busy = state.busy_until.get(key, 0) > time.monotonic()
                if busy:
                    document = json.loads(answer)
                    configuration = document.get("Configuration", document)
                    configuration["LastUpdateStatus"] = "InProgress"
                    configuration["LastUpdateStatusReason"] = "The function is being updated."
                    configuration["LastUpdateStatusReasonCode"] = "InProgress"
                    answer = json.dumps(document).encode()
            keep = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date")]
            self.reply(status, answer, keep)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = handle_any

    return StandIn


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="moto's URL, http://127.0.0.1:PORT")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds a function stays InProgress after an update")
    parser.add_argument("--rate", type=float, default=15.0, help="control-plane calls a second before 429")
    parser.add_argument("--deny", action="append", default=[], metavar="OPERATION")
    args = parser.parse_args()
    upstream = urllib.parse.urlparse(args.upstream)
    if upstream.hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the upstream must be on loopback")
    state = State(args.rate, args.delay)
    handler = make_handler(state, Upstream(upstream.hostname, upstream.port), set(args.deny))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
