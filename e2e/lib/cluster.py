"""cluster.py - a test API server + kubectl + helpers to compare the agent's
cache with the server's truth. Used by the agent's e2e tests."""
import os
import shutil
import subprocess
import tempfile

from lib import resources as R
from lib.apiserver import ApiServer
from lib.wait import wait_until


def make_workdir(prefix):
    return tempfile.mkdtemp(prefix=f"spoke-{prefix}-")


def remove_workdir(path):
    if os.environ.get("SPOKE_KEEP_WORKDIR"):
        print(f"# kept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


def kubectl(api, *args, stdin=None, check=True):
    # A discovery cache per API server: ports are reused between tests.
    cache = os.path.join(api.dir, "kubectl-cache")
    p = subprocess.run(["kubectl", "--kubeconfig", api.kubeconfig, "--cache-dir", cache, *args],
                       input=stdin,
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def server_objects(api, kind, ns=None):
    """{key: resourceVersion} of every object of a kind on the server."""
    out = {}
    cont = ""
    while True:
        q = "?limit=500" + (f"&continue={cont}" if cont else "")
        lst = api.ok("GET", R.collection_path(kind, ns) + q)
        for o in lst["items"]:
            md = o["metadata"]
            key = f"{md['namespace']}/{md['name']}" if md.get("namespace") else md["name"]
            out[key] = md["resourceVersion"]
        cont = lst["metadata"].get("continue")
        if not cont:
            return out


def agent_objects(agent, kind):
    objects, _ = agent.store(kind)
    return {k: o["metadata"]["resourceVersion"] for k, o in objects.items()}


def wait_store_matches_server(agent, api, kinds, ns=None, timeout=30):
    """Nothing missed, nothing stale: the agent's cache equals the server, kind by kind."""
    for kind in kinds:
        want = server_objects(api, kind, ns)
        wait_until(lambda: agent_objects(agent, kind) == want, timeout=timeout,
                   what=f"agent {kind} cache == server ({len(want)} objects)")
