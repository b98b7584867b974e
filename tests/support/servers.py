"""Real servers and repositories the tests create: a static HTTP server on 127.0.0.1 (port 0)
and git repositories with fixed author/committer dates (so SHAs are constant)."""
import functools
import http.server
import os
import pathlib
import socket
import subprocess
import threading


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


class BackgroundHttpServer:
    """An http.server on 127.0.0.1:<free port> served by a background thread while the `with`
    block runs; subclasses build the server and call `_serve(httpd)`."""

    def _serve(self, httpd):
        self.httpd = httpd
        self.port = httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class StaticHttpServer(BackgroundHttpServer):
    """Serves `root` on 127.0.0.1:<free port> in a background thread; with an
    `ssl.SSLContext` as `context`, over HTTPS."""

    def __init__(self, root, context=None):
        self.root = pathlib.Path(root)
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        if context is not None:
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self._serve(httpd)
        if context is not None:
            self.base_url = f"https://127.0.0.1:{self.port}"


class GeneratedHttpServer(BackgroundHttpServer):
    """Serves generated bodies on 127.0.0.1:<free port>. `routes` maps a path ("/bomb.zip") to
    a function returning (content_length or None, iterable of byte chunks); without a length the
    body ends when the connection closes. Chunks are produced while sending, so a large body never
    exists in memory or on disk. `sent[path]` counts the bytes that reached the socket."""

    def __init__(self, routes):
        self.routes = dict(routes)
        self.sent = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                route = outer.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                length, chunks = route()
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                outer.sent.setdefault(self.path, 0)
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        outer.sent[self.path] += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the limits are for

            def log_message(self, format, *args):  # noqa: A002
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        self._serve(httpd)


class HangingServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers (it reads
    nothing and writes nothing; connections stay open until the server closes). `accepted`
    counts the connections; `url` is its http:// base."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self.conns = []
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join()
        for c in self.conns:
            c.close()


GIT_ENV_BASE = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "LC_ALL": "C",
    "TZ": "UTC",
}


def git(cwd, *args, date=None, check=True):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("GIT_") and not k.startswith("GIT_TRACE"):
            del env[k]
    env.update(GIT_ENV_BASE)
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{date} +0000"
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


class GitFactory:
    """Makes repositories under `base`. Commit dates start at 1700000000 and step by 1000 s."""

    def __init__(self, base):
        self.base = pathlib.Path(base)
        self.clock = 1700000000

    def tick(self):
        self.clock += 1000
        return self.clock

    def create(self, name, files=None, branch="main"):
        path = self.base / name
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", branch)
        if files:
            self.commit(path, files, "initial")
        return path

    def commit(self, repo, files, message="change"):
        for rel, content in files.items():
            p = pathlib.Path(repo) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", message, date=self.tick())
        return git(repo, "rev-parse", "HEAD")
