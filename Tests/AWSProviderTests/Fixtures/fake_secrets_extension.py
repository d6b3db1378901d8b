#!/usr/bin/env python3
"""A loopback stand-in of the AWS Parameters and Secrets Lambda Extension's HTTP API, reading from
moto_server as the real extension reads from Secrets Manager and Parameter Store.

It follows AWS's documents for the extension:
  - "Use AWS Secrets Manager secrets in AWS Lambda functions"
    (docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html):
    GET /secretsmanager/get?secretId=ID[&versionId=ID|&versionStage=LABEL] answers the GetSecretValue
    response as JSON.
  - "Using Parameter Store parameters in AWS Lambda functions"
    (docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html):
    GET /systemsmanager/parameters/get?name=NAME[&version=N|&label=LABEL][&withDecryption=true] answers
    the GetParameter response as JSON.
  - Both: every request carries X-Aws-Parameters-Secrets-Token, the function's AWS_SESSION_TOKEN.
The documents say a request without the token is refused but give no status or body for any error; the
stand-in answers 400 without the header, 401 with another token, and relays a store error with the
store's HTTP status and its AWS error code and message.
It keeps no cache of its own (the real one caches for SECRETS_MANAGER_TTL), so that every request the
runtime library makes is counted here: GET /__standin/stats gives {"requests": N, "paths": {...}},
POST /__standin/reset zeroes it.

Usage: fake_secrets_extension.py PORT MOTO_ENDPOINT
Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (the function role's
credentials, used towards moto); STANDIN_TOKEN, when set, is the token expected instead of
AWS_SESSION_TOKEN. It logs the method and path of each request (ids and versions, never a value).
"""
import base64
import datetime
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.exceptions

port = int(sys.argv[1])
endpoint = sys.argv[2]
expected_token = os.environ.get("STANDIN_TOKEN") or os.environ.get("AWS_SESSION_TOKEN") or ""
session = boto3.session.Session(region_name="us-east-1")
clients = {name: session.client(name, endpoint_url=endpoint) for name in ("secretsmanager", "ssm")}
lock = threading.Lock()
stats = {"requests": 0, "paths": {}}


def jsonable(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def answer(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path == "/__standin/reset":
            with lock:
                stats["requests"] = 0
                stats["paths"] = {}
            return self.answer(200, {})
        self.answer(404, {"message": "not found"})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__standin/stats":
            with lock:
                return self.answer(200, stats)
        with lock:
            stats["requests"] += 1
            stats["paths"][url.path] = stats["paths"].get(url.path, 0) + 1
        token = self.headers.get("X-Aws-Parameters-Secrets-Token")
        if token is None:
            return self.answer(400, b"X-Aws-Parameters-Secrets-Token header is missing")
        if token != expected_token:
            return self.answer(401, b"Unauthorized")
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            if url.path == "/secretsmanager/get":
                arguments = {"SecretId": query["secretId"]}
                if "versionId" in query:
                    arguments["VersionId"] = query["versionId"]
                if "versionStage" in query:
                    arguments["VersionStage"] = query["versionStage"]
                return self.answer(200, jsonable(clients["secretsmanager"].get_secret_value(**arguments)))
            if url.path == "/systemsmanager/parameters/get":
                name = query["name"]
                if "version" in query:
                    name += ":" + query["version"]
                elif "label" in query:
                    name += ":" + query["label"]
                result = clients["ssm"].get_parameter(
                    Name=name, WithDecryption=query.get("withDecryption") == "true")
                return self.answer(200, jsonable(result))
        except KeyError as missing:
            return self.answer(400, {"__type": "ValidationException", "message": "missing %s" % missing})
        except botocore.exceptions.ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            detail = error.response.get("Error", {})
            return self.answer(status, {"__type": detail.get("Code", ""), "message": detail.get("Message", "")})
        self.answer(404, {"message": "unknown path"})


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
