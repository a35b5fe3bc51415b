#!/usr/bin/env python3
"""apiserver.py - a stand-in Kubernetes API server for spoke's e2e tests.

    python3 e2e/apiserver/apiserver.py --dir DIR --port PORT [--host 127.0.0.1]
        [--bookmark-interval SECONDS] [--preload OBJECTS.json]

Speaks the real protocol over HTTPS (self-signed CA, bearer token) for what
the agent and kubectl use: discovery, CRUD with optimistic concurrency, LIST
with limit/continue and selectors, WATCH with bookmarks and 410 Gone, /status,
CRDs and custom objects, and JSON/merge/strategic merge patches. Faults are
ordered through POST /_test/... (see faults.py).

On start it writes DIR/ca.crt, server.crt, server.key, token and kubeconfig
(kept on restart), then prints one line `READY https://127.0.0.1:PORT` on
stdout. Logs go to stderr. On SIGTERM/SIGINT it ends every watch cleanly,
saves the objects and the resourceVersion to DIR/state.json and exits 0; the
next start in DIR loads them (the watch history does not survive, so older
resourceVersions get 410). --preload takes a JSON list of objects, created
before READY.
"""
import argparse
import json
import logging
import os
import signal
import ssl
import sys
import threading

from faults import Faults
from httpapi import ApiHTTPServer
from pki import ensure_certificates, ensure_token, write_kubeconfig
from store import Store

log = logging.getLogger("apiserver")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="where credentials, kubeconfig and state live")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--bookmark-interval", type=float, default=60.0,
                    help="seconds between BOOKMARK events (default 60)")
    ap.add_argument("--preload", help="JSON file: a list of objects to create before READY")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    os.makedirs(args.dir, exist_ok=True)
    ensure_certificates(args.dir)
    token = ensure_token(args.dir)

    store = Store(bookmark_interval=args.bookmark_interval)
    state = os.path.join(args.dir, "state.json")
    if os.path.exists(state):
        store.load(state)
        log.info("loaded %s (resourceVersion %d)", state, store.rv)
    preload = []
    if args.preload:
        with open(args.preload) as f:
            preload = json.load(f)
    store.bootstrap(preload)
    if preload:
        log.info("preloaded %d objects", len(preload))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(args.dir, "server.crt"), os.path.join(args.dir, "server.key"))
    server = ApiHTTPServer((args.host, args.port), store, Faults(), token, ctx)
    port = server.server_address[1]
    url = f"https://127.0.0.1:{port}"
    write_kubeconfig(args.dir, url, token)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, name="accept", daemon=True)
    serving.start()
    log.info("serving %s (resourceVersion %d)", url, store.rv)
    print(f"READY {url}", flush=True)

    stop.wait()
    log.info("stopping")
    store.shutdown()           # every watch ends its chunked body first
    server.shutdown()
    server.server_close()
    store.save(state)
    log.info("saved %s (resourceVersion %d)", state, store.rv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
