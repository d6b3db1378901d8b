"""What the benchmark's loopback servers (latency_proxy.py, fast_store.py, lambda_standin.py) share: a
quiet HTTP/1.1 keep-alive handler that answers without Nagle delays, and one keep-alive connection
upstream per thread."""
import http.client
import http.server
import socket
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the client's
        # delayed ACK hold every response back about 40 ms on top of the delay the proxy means to add.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Upstream:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.local = threading.local()

    def send(self, method, path, body, headers):
        """(status, headers, body) of the upstream's answer; one reconnect if a kept-alive connection died."""
        for attempt in range(2):
            try:
                if getattr(self.local, "conn", None) is None:
                    self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                    self.local.conn.connect()
                    self.local.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.local.conn.request(method, path, body=body, headers=headers)
                answer = self.local.conn.getresponse()
                return answer.status, answer.getheaders(), answer.read()
            except (http.client.HTTPException, OSError):
                self.local.conn = None
                if attempt:
                    raise
