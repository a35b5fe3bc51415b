"""rawclient.py - for the test API server's own tests: plain HTTPS requests with
any token and headers, and watch streams read event by event.

Not used by the server. lib.apiserver.ApiServer covers ordinary requests.
"""
import http.client
import json
import os
import ssl
from urllib.parse import urlsplit


def tls_context(api):
    return ssl.create_default_context(cafile=os.path.join(api.dir, "ca.crt"))


class Client:
    """One keep-alive HTTPS connection to the server."""

    def __init__(self, api, token=None, timeout=10):
        u = urlsplit(api.url)
        self.conn = http.client.HTTPSConnection(u.hostname, u.port, context=tls_context(api),
                                                timeout=timeout)
        self.token = api.token if token is None else token

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers, parsed JSON or raw bytes)."""
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        return r.status, r.headers, parsed

    def close(self):
        self.conn.close()


class WatchStream:
    """A WATCH request; next() returns events one by one, None at the stream's clean end.

    A stream cut short (no terminating chunk) raises http.client.IncompleteRead,
    and a server that sends nothing for `timeout` seconds raises TimeoutError:
    reading is the deadline, no sleeping needed.
    """

    def __init__(self, api, path, timeout=10):
        u = urlsplit(api.url)
        self.conn = http.client.HTTPSConnection(u.hostname, u.port, context=tls_context(api),
                                                timeout=timeout)
        self.conn.request("GET", path, headers={"Authorization": "Bearer " + api.token})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.buf = b""

    def next(self):
        # read1() (unlike readline()) raises IncompleteRead when the last chunk is missing.
        while b"\n" not in self.buf:
            data = self.response.read1(65536)
            if not data:
                if self.buf:
                    raise http.client.IncompleteRead(self.buf)
                return None
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def take(self, n, skip_bookmarks=True):
        """The next n events (BOOKMARKs left out unless asked for)."""
        out = []
        while len(out) < n:
            ev = self.next()
            if ev is None:
                raise AssertionError(f"watch ended after {out}")
            if not (skip_bookmarks and ev["type"] == "BOOKMARK"):
                out.append(ev)
        return out

    def rest(self):
        """Every event up to the clean end of the stream."""
        out = []
        while True:
            ev = self.next()
            if ev is None:
                return out
            out.append(ev)

    def close(self):
        self.conn.close()
