"""HTTP server for the mesh map test (tests/openwrt.rs), run inside a
node's network namespace:

    python3 mapserve.py ROOT PORT ROOST_BIN CONTROL_SOCKET

serves the files in ROOT, and /topology.json live from the daemon
(`roost topology --netjson`); every graph served is also written to
ROOT/served.json, for the test to compare with what the browser drew.
"""
import http.server
import subprocess
import sys

root, port, roost, sock = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)

    def do_GET(self):
        if not self.path.startswith("/topology.json"):
            return super().do_GET()
        out = subprocess.run(
            [roost, "topology", "--netjson", "--control-socket", sock],
            capture_output=True, check=False).stdout
        with open(root + "/served.json", "wb") as f:
            f.write(out)
        self.send_response(200 if out else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
