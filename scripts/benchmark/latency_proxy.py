"""An HTTP proxy for the benchmark: adds a fixed delay to every call (a store's round trip) and counts
calls by X-Amz-Target, so the tools are compared on latency and on how many calls they make.

GET /__counts returns the counts as JSON; POST /__reset clears them."""
import http.client
import http.server
import json
import socket
import sys
import threading
import time
from collections import Counter

from loopback_http import QuietHandler

UPSTREAM_PORT = int(sys.argv[1])
LISTEN_PORT = int(sys.argv[2])
DELAY = float(sys.argv[3]) if len(sys.argv) > 3 else 0.020

counts = Counter()
lock = threading.Lock()
local = threading.local()


def upstream():
    if getattr(local, "conn", None) is None:
        local.conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM_PORT, timeout=60)
        local.conn.connect()
        local.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return local.conn


class Proxy(QuietHandler):
    def forward(self):
        if self.path == "/__counts":
            with lock:
                return self.reply(200, json.dumps(dict(counts)).encode(), [("Content-Type", "application/json")])
        if self.path == "/__reset":
            with lock:
                counts.clear()
            return self.reply(200, b"{}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target") or f"{self.command} {self.path.split('?')[0]}"
        with lock:
            counts[target] += 1
        time.sleep(DELAY)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        for attempt in range(2):
            try:
                conn = upstream()
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                local.conn = None
                if attempt:
                    raise
        passed = [(k, v) for k, v in response.getheaders() if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        self.reply(response.status, data, passed)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


if __name__ == "__main__":
    Server(("127.0.0.1", LISTEN_PORT), Proxy).serve_forever()
