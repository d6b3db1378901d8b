#!/usr/bin/env python3
"""A counting, fault-injecting HTTP proxy in front of moto_server, for the AWS provider tests.

Forwards every request unchanged (the Host header included, so SigV4 still verifies upstream) and counts
the requests it receives by X-Amz-Target. Control endpoints (never forwarded):

  GET  /__proxy/stats   -> {"received": {target: n}, "forwarded": {target: n}, "faults": {kind: n},
                            "decrypting": {target: n}, "starting": {target: n}}
                           (decrypting: requests with "WithDecryption": true; starting: requests without a
                           "NextToken", the first page of each call)
  POST /__proxy/reset   -> zero the counters and stop injecting faults
  POST /__proxy/faults  -> body {"rate": 0.15, "kinds": ["500", "throttle", "reset"], "seed": 7}

DescribeParameters answers get each parameter's ARN where moto 5.2 leaves it out: AWS documents and
returns ParameterMetadata.ARN, and `${ref.*}` references name parameters by it.

A fault answers instead of moto: "500" an InternalFailure, "throttle" a 400 ThrottlingException,
"reset" closes the connection without an answer (RST). It prints nothing a request carried.

Usage: aws_proxy.py PORT UPSTREAM_URL
"""
import http.client
import http.server
import json
import random
import socket
import struct
import sys
import threading
import urllib.parse

LOCK = threading.Lock()
STATE = {"received": {}, "forwarded": {}, "faults": {}, "decrypting": {}, "starting": {}, "rate": 0.0, "kinds": [], "random": random.Random(0)}
UPSTREAM = None


def bump(table, key):
    STATE[table][key] = STATE[table].get(key, 0) + 1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: nothing about requests goes to the log
        pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass  # the connection was reset on purpose

    def reply(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def control(self, body):
        if self.path == "/__proxy/stats":
            with LOCK:
                stats = {k: dict(STATE[k]) for k in ("received", "forwarded", "faults", "decrypting", "starting")}
            return self.reply(200, json.dumps(stats), [("Content-Type", "application/json")])
        if self.path == "/__proxy/reset":
            with LOCK:
                for k in ("received", "forwarded", "faults", "decrypting", "starting"):
                    STATE[k] = {}
                STATE["rate"] = 0.0
                STATE["kinds"] = []
            return self.reply(200, "{}")
        if self.path == "/__proxy/faults":
            spec = json.loads(body or b"{}")
            with LOCK:
                STATE["rate"] = float(spec.get("rate", 0))
                STATE["kinds"] = list(spec.get("kinds", []))
                STATE["random"] = random.Random(spec.get("seed", 0))
            return self.reply(200, "{}")
        return self.reply(404, "unknown control path")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__proxy/"):
            return self.control(body)
        target = self.headers.get("X-Amz-Target") or (self.command + " " + self.path.split("?")[0])
        try:
            request = json.loads(body or b"{}")
            decrypting = request.get("WithDecryption") is True
            starting = not request.get("NextToken")
        except (ValueError, AttributeError):
            decrypting, starting = False, True
        with LOCK:
            bump("received", target)
            if decrypting:
                bump("decrypting", target)
            if starting:
                bump("starting", target)
            fault = None
            if STATE["kinds"] and STATE["random"].random() < STATE["rate"]:
                fault = STATE["random"].choice(STATE["kinds"])
                bump("faults", fault)
            else:
                bump("forwarded", target)
        if fault == "500":
            return self.reply(500, json.dumps({"__type": "InternalFailure", "message": "injected"}),
                              [("Content-Type", "application/x-amz-json-1.1")])
        if fault == "throttle":
            return self.reply(400, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}),
                              [("Content-Type", "application/x-amz-json-1.1")])
        if fault == "reset":
            # Linger 0 makes close() send RST. The buffered reader holds the socket open until it is
            # closed too, so close both.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.rfile.close()
            self.connection.close()
            return
        upstream = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() in ("connection", "keep-alive", "proxy-connection", "transfer-encoding"):
                    continue
                upstream.putheader(name, value)
            upstream.endheaders(body)
            answer = upstream.getresponse()
            data = answer.read()
            if target == "AmazonSSM.DescribeParameters" and answer.status == 200:
                data = with_parameter_arns(data, self.headers.get("Authorization", ""))
            headers = [(k, v) for k, v in answer.getheaders()
                       if k.lower() not in ("content-length", "connection", "transfer-encoding", "keep-alive")]
            self.reply(answer.status, data, headers)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def with_parameter_arns(data, authorization):
    """Adds ARN to DescribeParameters entries as moto's own GetParameters writes it (its default account)."""
    scope = authorization.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    region = scope[2] if len(scope) > 2 else "us-east-1"
    answer = json.loads(data)
    for parameter in answer.get("Parameters", []):
        name = parameter.get("Name", "")
        parameter.setdefault("ARN", "arn:aws:ssm:%s:123456789012:parameter/%s" % (region, name.lstrip("/")))
    return json.dumps(answer).encode()


def main():
    global UPSTREAM
    port = int(sys.argv[1])
    UPSTREAM = urllib.parse.urlsplit(sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
