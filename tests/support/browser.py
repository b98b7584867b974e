"""A real browser for the tests, without PyPI: Debian's headless Chromium driven over the
DevTools protocol (CDP) through `--remote-debugging-pipe` (JSON messages ending in NUL on file
descriptors 3 and 4, so no port and no websocket), a static HTTP server that records every
request it gets, and a PNG decoder (zlib + the PNG filters) to inspect screenshots.

    with Chromium(tmp_path) as browser:
        page = browser.new_page(javascript=False)
        page.navigate("file:///.../packages.html")
        page.evaluate("document.title")
        png = decode_png(page.screenshot())

Waiting is event-driven (the load event, the reply to each command); a generous deadline only
turns a hung browser into a failure instead of a hung test suite."""
import base64
import functools
import http.server
import json
import os
import pathlib
import select
import struct
import subprocess
import time
import zlib

import servers
import tools

# Flags the brief and this machine need: without the background-networking ones Chromium's own
# connections are refused here; each run gets a fresh profile.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-default-browser-check", "--disable-extensions", "--disable-default-apps",
    "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe",
]
DEADLINE = 120  # seconds without any reply before the browser counts as hung


class CdpError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium process; `new_page()` opens tabs in it."""

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.exe = tools.require_tool("chromium")
        self.proc = None
        self._buf = b""
        self._next_id = 0
        self._pending = []  # events read while waiting for something else

    def __enter__(self):
        profile = self.workdir / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "chromium.log"
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4: the shell moves our pipe
        # ends there (stdin/stdout carry them in), then execs the browser.
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2', self.exe,
                 *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=to_chrome_r, stdout=from_chrome_w, stderr=log, start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        return self

    def __exit__(self, *exc):
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001 - the process may already be gone
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)

    # --- the protocol ---------------------------------------------------------------------
    def _read_message(self):
        deadline = time.monotonic() + DEADLINE
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_chrome], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"no reply from Chromium in {DEADLINE} s; log: {self._log_tail()}")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise CdpError(f"Chromium closed the pipe (exit {self.proc.poll()}); log: {self._log_tail()}")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def _log_tail(self):
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def send(self, method, params=None, session=None):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._to_chrome, data)
            data = data[n:]
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._pending.append(reply)

    def wait_event(self, method, session, predicate=lambda params: True):
        """The first event `method` of `session` (already received or next) matching."""
        for i, e in enumerate(self._pending):
            if e["method"] == method and e.get("sessionId") == session and predicate(e.get("params", {})):
                return self._pending.pop(i).get("params", {})
        while True:
            e = self._read_message()
            if "method" not in e:
                continue
            if e["method"] == method and e.get("sessionId") == session and predicate(e.get("params", {})):
                return e.get("params", {})
            self._pending.append(e)

    def take_events(self, method, session):
        """Every buffered event `method` of `session`, removed from the buffer."""
        taken = [e.get("params", {}) for e in self._pending
                 if e["method"] == method and e.get("sessionId") == session]
        self._pending = [e for e in self._pending
                         if not (e["method"] == method and e.get("sessionId") == session)]
        return taken

    def new_page(self, javascript=True, width=1200, height=900):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, target, session, javascript, width, height)


class Page:
    def __init__(self, browser, target, session, javascript, width, height):
        self.browser = browser
        self.target = target
        self.session = session
        self.requests = []  # every URL this page asked for, in order
        self.console = []
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        if not javascript:
            self.send("Emulation.setScriptExecutionDisabled", {"value": True})

    def send(self, method, params=None):
        return self.browser.send(method, params, self.session)

    def _collect(self):
        for e in self.browser.take_events("Network.requestWillBeSent", self.session):
            self.requests.append(e["request"]["url"])
        for e in self.browser.take_events("Runtime.consoleAPICalled", self.session):
            self.console.append(e)

    def navigate(self, url):
        """Loads `url` and returns once its load event fired."""
        self._collect()
        self.browser.take_events("Page.loadEventFired", self.session)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CdpError(f"navigating to {url}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session)
        self._collect()
        return result

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (works with scripts disabled too:
        CDP evaluation is not page script)."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                            "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CdpError(f"{expression}: {r['exceptionDetails']}")
        self._collect()
        return r["result"].get("value")

    def type_text(self, text):
        """Key presses into the focused element, as a user types."""
        for ch in text:
            self.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": ch, "text": ch,
                                                 "unmodifiedText": ch})
            self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": ch})
        self._collect()

    def screenshot(self):
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def close(self):
        self._collect()
        self.browser.send("Target.closeTarget", {"targetId": self.target})


# --- PNG ----------------------------------------------------------------------------------------
def decode_png(data):
    """(width, height, channels, rows): rows are bytes objects of width*channels samples.
    8-bit greyscale, RGB, grey+alpha and RGBA, non-interlaced (what Chromium writes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos = 8
    idat = b""
    width = height = channels = None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace != 0 or color not in (0, 2, 4, 6):
                raise ValueError(f"unsupported PNG: depth {depth}, color {color}, interlace {interlace}")
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    rows = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = prev[i]
                c = prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        elif ftype != 0:
            raise ValueError(f"bad PNG filter {ftype}")
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def luma(rows, channels, x0, y0, x1, y1):
    """Luma (0-255) of every pixel in the box [x0, x1) x [y0, y1)."""
    out = []
    for y in range(max(y0, 0), min(y1, len(rows))):
        row = rows[y]
        for x in range(max(x0, 0), min(x1, len(row) // channels)):
            px = row[x * channels:x * channels + 3] if channels >= 3 else row[x * channels:x * channels + 1] * 3
            out.append((299 * px[0] + 587 * px[1] + 114 * px[2]) // 1000)
    return out


# --- a static HTTP server that records requests --------------------------------------------------
class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, record, **kwargs):
        self._record = record
        super().__init__(*args, **kwargs)

    def log_message(self, format, *args):  # noqa: A002
        pass

    def send_head(self):
        self._record.append(self.path)
        return super().send_head()


class RecordingHttpServer(servers.BackgroundHttpServer):
    """Serves `root` on 127.0.0.1:<free port>; `paths` lists every path requested."""

    def __init__(self, root):
        self.paths = []
        handler = functools.partial(_RecordingHandler, directory=str(root), record=self.paths)
        self._serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler))
