"""A smallcase Gateway stand-in for scripts/schemathesis: answers POST /gateway/<name>/transaction and
GET /v1/<name>/engine/transactiondetails as the Gateway documents them, checking the API secret, so the runner's
/smallcase routes get real answers on loopback.

Prints its base URL on the first line of standard output, then serves until killed."""

import json
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_SECRET = sys.argv[1]


class Gateway(BaseHTTPRequestHandler):
    def do_GET(self):
        # Transaction details: every transaction is still waiting for the user (INITIALIZED).
        ok = "/engine/transactiondetails?transactionId=" in self.path and self.headers.get("x-gateway-secret") == API_SECRET
        if ok:
            transaction = self.path.split("transactionId=", 1)[1]
            status, body = 200, {"success": True, "data": {"transactionId": transaction,
                                                         "transactionDetails": {"status": "INITIALIZED"}}}
        else:
            status, body = 401, {"success": False, "errors": ["invalid gateway credentials"]}
        self.reply(status, body)

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        ok = (
            self.path.startswith("/gateway/")
            and self.path.endswith("/transaction")
            and self.headers.get("x-gateway-secret") == API_SECRET
            and self.headers.get("x-gateway-authtoken")
        )
        if ok:
            status, body = 200, {"success": True, "data": {"transactionId": "TRX_" + secrets.token_hex(8)}}
        else:
            status, body = 401, {"success": False, "errors": ["invalid gateway credentials"]}
        self.reply(status, body)

    def reply(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
