"""The request body of a BaseHTTPRequestHandler, whether sent with Content-Length or chunked.

Shared by the test servers in this directory (fault_proxy.py runs as a script, sigv4_proxy.py is
imported; both find this module beside them).
"""


def read_request_body(handler):
    """Reads the whole body of `handler`'s current request (chunk extensions and trailers dropped)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""
