"""test_metrics.py - the agent's /metrics, /healthz and /readyz on its admin port, in
routing mode with a real HAProxy: /metrics parses as Prometheus text (format 0.0.4,
every sample under a HELP and a TYPE) and counts what was created; /readyz answers 503
while the first LISTs are held back by the API server, 200 once the cache is synced
and the routing pushed."""
import math
import re
import unittest
import urllib.error
import urllib.request

from lib import resources as R
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "metrics"
N_INGRESSES = 3

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})?\s+(\S+)(?:\s+-?\d+)?$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)')
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m or m.end() == pos:
            raise AssertionError(f"bad labels {{{text}}} at {pos}")
        if m.group(1) in labels:
            raise AssertionError(f"label {m.group(1)} twice in {{{text}}}")
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
    return labels


def parse_prometheus(text):
    """{(name, ((label, value), ...)): float} and {family: type}; raises on anything
    that is not the text format, or a sample without HELP and TYPE for its family."""
    if text and not text.endswith("\n"):
        raise AssertionError("exposition does not end with a newline")
    helps, types, samples = {}, {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            m = HELP.match(line) or TYPE.match(line)
            if line.startswith("# HELP "):
                if not m or m.group(1) in helps:
                    raise AssertionError(f"bad or repeated HELP: {line!r}")
                helps[m.group(1)] = m.group(2)
            elif line.startswith("# TYPE "):
                if not m or m.group(1) in types:
                    raise AssertionError(f"bad or repeated TYPE: {line!r}")
                types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a sample line: {line!r}")
        name, labels = m.group(1), parse_labels(m.group(2) or "")
        try:
            number = float(m.group(3))  # accepts +Inf, -Inf, NaN
        except ValueError:
            raise AssertionError(f"bad value: {line!r}") from None
        family = name
        if name not in types:
            for fam, t in types.items():
                if any(name == fam + s for s in SUFFIXES.get(t, ())):
                    family = fam
        if family not in types or family not in helps:
            raise AssertionError(f"sample without HELP and TYPE: {line!r}")
        key = (name, tuple(sorted(labels.items())))
        if key in samples:
            raise AssertionError(f"sample repeated: {line!r}")
        samples[key] = number
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def get_text(port, path):
    """(status, content type, body) of GET path on the admin port; 4xx/5xx included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.haproxy_metrics = free_port()
        cls.rc = RoutedCluster("metrics", extra_args=[
            "--haproxy-metrics-listen", f"127.0.0.1:{cls.haproxy_metrics}"]).start()
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "web"),
            *[R.ingress(NS, f"ing-{i}", host=f"m{i}.example.com") for i in range(N_INGRESSES)])
        cls.rc.wait_synced()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop()

    def scrape(self):
        status, ctype, body = get_text(self.rc.agent.admin_port, "/metrics")
        self.assertEqual(status, 200, body)
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        self.assertIn("version=0.0.4", ctype)
        return parse_prometheus(body)

    def test_metrics_parse_and_count(self):
        samples, types = wait_until(
            lambda: (lambda s: s if value(s[0], "spoke_objects", kind="Ingress") == N_INGRESSES
                     and value(s[0], "spoke_routes") == N_INGRESSES else None)(self.scrape()),
            timeout=20, what=f"spoke_objects{{kind=\"Ingress\"}} and spoke_routes == {N_INGRESSES}")
        self.assertEqual(types["spoke_objects"], "gauge")
        self.assertEqual(value(samples, "spoke_objects", kind="Service"), 1)
        self.assertEqual(value(samples, "spoke_cache_synced"), 1)
        info = [(dict(labels), v) for (name, labels), v in samples.items()
                if name == "spoke_build_info"]
        self.assertEqual(len(info), 1, info)
        self.assertTrue(info[0][0].get("version"), info)
        self.assertEqual(info[0][1], 1)
        self.assertGreater(value(samples, "spoke_reconcile_passes_total"), 0)
        self.assertEqual(types["spoke_reconcile_passes_total"], "counter")
        self.assertGreater(value(samples, "spoke_haproxy_runtime_commands_total"), 0)
        self.assertIsNotNone(value(samples, "spoke_haproxy_reloads_total",
                                   reason="pool_exhausted"))
        self.assertIsNotNone(value(samples, "spoke_watch_events_total", kind="Ingress"))
        self.assertIsNotNone(value(samples, "spoke_relists_total", kind="Ingress"))
        self.assertIsNotNone(value(samples, "spoke_spoe_frames_total", direction="in"))
        # One route per Ingress, all to one Service: one pool slot used.
        used = value(samples, "spoke_backend_slots", profile="http-roundrobin", state="used")
        free = value(samples, "spoke_backend_slots", profile="http-roundrobin", state="free")
        self.assertEqual((used, used + free), (1, 64))
        for name, t in types.items():
            if name.endswith("_total"):
                self.assertEqual(t, "counter", name)

    def test_haproxy_exporter(self):
        """HAProxy's own counters, from its built-in exporter."""
        self.assertEqual(self.rc.pod_for("nowhere.example.com"), 404)
        status, ctype, body = get_text(self.haproxy_metrics, "/metrics")
        self.assertEqual(status, 200, body[:200])
        samples, _ = parse_prometheus(body)
        self.assertGreaterEqual(value(samples, "haproxy_frontend_http_requests_total",
                                      proxy="spoke_http"), 1)

    def test_reconcile_histogram_is_consistent(self):
        samples, types = self.scrape()
        self.assertEqual(types["spoke_reconcile_duration_seconds"], "histogram")
        buckets = sorted(
            ((float(dict(labels)["le"]), v) for (name, labels), v in samples.items()
             if name == "spoke_reconcile_duration_seconds_bucket"), key=lambda b: b[0])
        self.assertTrue(buckets and math.isinf(buckets[-1][0]), buckets)
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), "buckets are cumulative")
        self.assertEqual(counts[-1], value(samples, "spoke_reconcile_duration_seconds_count"))
        self.assertIsNotNone(value(samples, "spoke_reconcile_duration_seconds_sum"))

    def test_healthz_and_readyz(self):
        port = self.rc.agent.admin_port
        self.assertEqual(get_text(port, "/healthz")[0], 200)
        status, _, body = wait_until(
            lambda: (lambda r: r if r[0] == 200 else None)(get_text(port, "/readyz")),
            timeout=20, what="/readyz 200")
        self.assertEqual(body.strip(), "ok")

    def test_parser_rejects_bad_text(self):
        for bad in ["a 1\n", "# HELP a A\na 1\n", "# TYPE a gauge\na 1\n",
                    "# HELP a A\n# TYPE a gauge\na{x=\"1} 1\n",
                    "# HELP a A\n# TYPE a gauge\na one\n",
                    "# HELP a A\n# TYPE a gauge\na_sum 1\n"]:
            with self.assertRaises(AssertionError, msg=bad):
                parse_prometheus(bad)
        samples, _ = parse_prometheus(
            '# HELP h H\n# TYPE h histogram\nh_bucket{le="+Inf",p="a\\"b\\\\c\\n"} 2\n'
            "h_sum 0.5\nh_count 2\n")
        self.assertEqual(value(samples, "h_bucket", le="+Inf", p='a"b\\c\n'), 2)


class ReadyzBeforeSyncTest(unittest.TestCase):
    """The API server holds every LIST back: the agent is alive but not ready."""

    def setUp(self):
        self.rc = RoutedCluster("metrics-readyz")
        self.rc.api.start()
        self.rc.api.fault("delay", count=100, seconds=4, match="limit")
        self.rc.agent.kubeconfig = self.rc.api.kubeconfig
        self.rc.agent.start()

    def tearDown(self):
        self.rc.stop()

    def test_readyz_503_until_synced(self):
        port = self.rc.agent.admin_port
        status, _, body = get_text(port, "/readyz")
        self.assertEqual(status, 503, body)
        self.assertEqual(len(body.strip().splitlines()), 1, body)
        self.assertIn("not synced", body)
        self.assertEqual(get_text(port, "/healthz")[0], 200)
        samples, _ = parse_prometheus(get_text(port, "/metrics")[2])
        self.assertEqual(value(samples, "spoke_cache_synced"), 0)
        self.rc.api.fault("delay", count=0, seconds=0)
        wait_until(lambda: get_text(port, "/readyz")[0] == 200, timeout=30,
                   what="/readyz 200 after the LISTs went through")
        samples, _ = parse_prometheus(get_text(port, "/metrics")[2])
        self.assertEqual(value(samples, "spoke_cache_synced"), 1)
        self.assertGreater(value(samples, "spoke_reconcile_passes_total"), 0)


if __name__ == "__main__":
    unittest.main()
