"""A stand-in for a releases server (GitHub Releases' layout), on loopback only,
for the install.sh tests.

    python3 release_server.py ROOT

serves the files under ROOT on a free port of 127.0.0.1 and prints the port on
its first line. A file whose name ends in `.truncated` is served under its
name without that ending and cut off halfway, with the full Content-Length: the
client sees an interrupted download. The server stops by itself after 120 s.
"""

import http.server
import os
import sys
import threading


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        path = self.translate_path(self.path)
        cut = path + ".truncated"
        if os.path.isfile(cut):
            with open(cut, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def main():
    root = sys.argv[1]
    handler = lambda *a, **k: Handler(*a, directory=root, **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    threading.Timer(120, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
