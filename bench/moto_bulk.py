#!/usr/bin/env python3
"""moto_server as the bench runs it: moto's own WSGI application on werkzeug's threaded server,
exactly what `moto_server -H HOST -p PORT` starts, plus one endpoint for seeding data in bulk:

    POST /_bench/seed?bucket=NAME      body: one "key<TAB>path" line per object (UTF-8)

puts each file's bytes as object `key` straight into moto's S3 backend — the same objects, ETags
and listings a PUT would make, without an HTTP request, a signature and an XML round per object
(a 10,000-package catalogue is 30,000 objects: minutes through moto's PUT path, seconds here).
Answers `200 <count>`; an unknown bucket or unreadable file is a 500. Only servers.Stack.seed
calls it; the clients never do (nginx does not log it either: seeding goes to moto directly).

    moto_bulk.py -H 127.0.0.1 -p PORT"""
import argparse
import os
import signal
import sys

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response


def with_seed_endpoint(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != "/_bench/seed" or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        req = Request(environ)
        bucket = req.args.get("bucket", "")
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        count = 0
        try:
            backend.get_bucket(bucket)
            for line in req.get_data().decode().splitlines():
                if not line:
                    continue
                key, path = line.split("\t", 1)
                with open(path, "rb") as f:
                    backend.put_object(bucket, key, f.read())
                count += 1
        except Exception as e:  # reported to the caller, which fails loudly
            return Response(f"seed failed after {count} objects: {type(e).__name__}: {e}\n",
                            status=500)(environ, start_response)
        return Response(f"{count}\n")(environ, start_response)
    return wsgi


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, required=True)
    args = p.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto_server does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server does
    run_simple(args.host, args.port, with_seed_endpoint(app), threaded=True)


if __name__ == "__main__":
    main()
