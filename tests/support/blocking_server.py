"""An HTTP server on 127.0.0.1 whose responses wait for the test: every request sets `received`,
then blocks until `release` is set, then serves `body`. Its handler is Python code running in a
thread of the test process, so it can only answer while the caller's long call has released the
GIL — which is what the GIL tests assert (no sleeps, no timing)."""
import http.server
import threading


class BlockingHttpServer:
    def __init__(self, body: bytes, content_type="application/zip"):
        self.received = threading.Event()
        self.release = threading.Event()
        self.body = body
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.received.set()
                outer.release.wait(600)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
