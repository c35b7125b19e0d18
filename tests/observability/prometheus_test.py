#!/usr/bin/env python3
"""The observability proof: authwatch's metrics, the Prometheus rules and the Grafana dashboard,
checked against a real Prometheus scraping a real `authwatch run` on a real Kafka broker.

Started by tests/observability/run.sh, which starts the broker and sets AUTHWATCH_OBS_BOOTSTRAP.
Python's standard library and confluent_kafka only (Debian's python3-confluent-kafka, so run with
/usr/bin/python3). The scenario (ScenarioTest.setUpClass):
  1. fresh topics; `authwatch run` with metrics on a free loopback port;
  2. `prometheus` with deploy/prometheus/prometheus.yml (1 s scrape and rule interval instead of
     5 s / 15 s, this authwatch as the target) and the shipped alerts.yml;
  3. once Prometheus scrapes authwatch: the shipped sample (19,553 events) in 10 batches a second
     apart, with 11 malformed records of 10 reasons among them; then SIGHUP (a reload);
  4. once every record is committed and the engine's counters are still: a final scrape;
  5. assertions through Prometheus's HTTP API: the target is up, every query of every dashboard
     panel returns data, and the counters equal what was produced and what is on the topics.
Artifacts of the last run (engine and Prometheus logs, a /metrics sample) are left in
var/observability/."""
import ctypes
import gzip
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AW = os.path.join(ROOT, "build", "bin", "authwatch")
BOOTSTRAP = os.environ.get("AUTHWATCH_OBS_BOOTSTRAP", "127.0.0.1:19292")
SAMPLE_GZ = os.path.join(ROOT, "deploy", "samples", "events.jsonl.gz")
PROM_DIR = os.path.join(ROOT, "deploy", "prometheus")
PROM_CONFIG = os.path.join(PROM_DIR, "prometheus.yml")
ALERTS = os.path.join(PROM_DIR, "alerts.yml")
ALERTS_TEST = os.path.join(PROM_DIR, "alerts_test.yml")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "dashboards", "authwatch.json")
GRAFANA_DATASOURCES = os.path.join(ROOT, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml")
GRAFANA_DASHBOARDS = os.path.join(ROOT, "deploy", "grafana", "provisioning", "dashboards", "authwatch.yml")
ARTIFACTS = os.path.join(ROOT, "var", "observability")

# The metric contract (engine/metrics/engine_metrics.cc) and each family's type.
CONTRACT = {
    "authwatch_build_info": "gauge", "authwatch_events_total": "counter",
    "authwatch_events_rejected_total": "counter", "authwatch_events_skipped_total": "counter",
    "authwatch_events_per_second": "gauge", "authwatch_last_event_timestamp_seconds": "gauge",
    "authwatch_decisions_total": "counter", "authwatch_active_decisions": "gauge",
    "authwatch_decision_latency_seconds": "histogram", "authwatch_state_keys": "gauge",
    "authwatch_state_memory_bytes": "gauge", "authwatch_geoip_lookups_total": "counter",
    "authwatch_geoip_cache_hit_ratio": "gauge", "authwatch_reloads_total": "counter",
    "authwatch_rules_info": "gauge", "authwatch_consumer_lag": "gauge",
    "authwatch_kafka_delivery_failures_total": "counter", "authwatch_kafka_errors_total": "counter",
    "authwatch_kafka_rebalances_total": "counter", "authwatch_assigned_partitions": "gauge",
    "authwatch_state_checkpoints_total": "counter", "authwatch_state_replayed_events_total": "counter",
    "authwatch_state_shed_total": "counter",
}
ALERT_NAMES = {"AuthwatchDown", "AuthwatchNoEvents", "AuthwatchConsumerLagGrowing", "AuthwatchDeadLetterRateHigh",
               "AuthwatchDecisionSpike", "AuthwatchReloadFailures", "AuthwatchDeliveryFailures", "AuthwatchNotReady",
               "AuthwatchCheckpointFailures"}
# The grid a dashboard's window-size variables are given in the proof (Grafana computes them
# from the time range and the data source's scrape interval).
RATE_INTERVAL = "1m"


def malformed_records():
    """(record, reason) pairs: every rejection reason of the JSON input (bad_protobuf is the
    protobuf decoder's)."""
    ts = "2026-11-02T12:00:00Z"
    base = {"ts": ts, "account": "mallory@mail.example", "ip": "198.51.100.7", "result": "failure", "protocol": "imap"}

    def j(**kw):
        d = dict(base)
        d.update(kw)
        return json.dumps(d).encode()

    no_account = dict(base)
    del no_account["account"]
    return [
        (b'{"ts": not json', "invalid_json"),
        (b'{"ts":"2026-11-02T12:00:00Z","account":"\xff\xfe","ip":"1.2.3.4","result":"failure"}', "invalid_utf8"),
        (j(user_agent="A" * 70000), "oversize"),
        (json.dumps(no_account).encode(), "missing_field"),
        (j(account=""), "missing_field"),
        (j(account=123), "wrong_type"),
        (j(ip="999.1.1.1"), "bad_ip"),
        (j(ts="yesterday"), "bad_time"),
        (j(result="maybe"), "bad_result"),
        (j(account="bad\u0007account@mail.example"), "bad_account"),
        (j(ts="2026-11-01T00:00:00Z"), "late_event"),  # a day before the stream's newest event
    ]


def sample_lines():
    with gzip.open(SAMPLE_GZ, "rb") as f:
        return [line.rstrip(b"\n") for line in f if line.strip()]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, step=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def http_get(url, timeout=5):
    """(status, body) or (None, error) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


def _die_with_parent():
    # Children get SIGTERM if this test process dies without cleaning up (PR_SET_PDEATHSIG).
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


STARTED = []  # every process this test started, stopped at exit whatever happens


def start(argv, log_path):
    log = open(log_path, "ab")
    p = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    p.log = log
    STARTED.append(p)
    return p


def stop(p, timeout=30):
    if p is None:
        return None
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)  # by its own pid: only processes this test started
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if not p.log.closed:
        p.log.close()
    return p.returncode


def promtool(*args):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


def parse_exposition(text):
    """{(name, frozenset(labels)): value} and {family: type} of a Prometheus text exposition."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def family_sum(samples, name, **match):
    return sum(v for (n, labels), v in samples.items()
               if n == name and all((k, val) in labels for k, val in match.items()))


def dashboard_targets(dashboard):
    """(panel title, expr) of every query of every panel, rows' nested panels included."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", "?"), t["expr"]))
            walk(p.get("panels", []))

    walk(dashboard["panels"])
    return out


def substitute(expr, values):
    """Grafana's variable syntaxes: $var, ${var}, ${var:format}, [[var]]."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise KeyError(f"no value for dashboard variable ${name} in {expr!r}")
        return values[name]
    return re.sub(r'\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]', repl, expr)


def parse_rfc3339(s):
    # Prometheus writes nanoseconds; Python takes microseconds.
    m = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$', s)
    frac = (m.group(2) or ".0")[:7]
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + zone).timestamp()


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        req = urllib.request.Request(url)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.api("/api/v1/query", **params)

    def vector(self, expr):
        """{frozenset(labels): value} of an instant query."""
        data = self.query(expr)
        if data["resultType"] == "scalar":
            return {frozenset(): float(data["result"][1])}
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in data["result"]}

    def scalar(self, expr):
        v = self.vector(expr)
        if len(v) != 1:
            raise AssertionError(f"{expr}: expected one series, got {v}")
        return next(iter(v.values()))

    def target(self, job):
        for t in self.api("/api/v1/targets", state="active")["activeTargets"]:
            if t["labels"].get("job") == job:
                return t
        return None


def kafka_read_all(topic, timeout=30):
    """Every message on the topic: the end offsets say how many there are."""
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "obs-reader-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    meta = c.list_topics(topic, timeout=10).topics[topic]
    expected = 0
    for p in meta.partitions:
        low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        expected += high - low
    c.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
    out, deadline = [], time.time() + timeout
    while len(out) < expected and time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            out.append(m)
    c.close()
    if len(out) != expected:
        raise AssertionError(f"{topic}: read {len(out)} of {expected} messages")
    return out


class PromtoolTest(unittest.TestCase):
    """The shipped Prometheus files, checked by Prometheus' own tool."""

    def run_ok(self, *args):
        r = promtool(*args)
        self.assertEqual(r.returncode, 0, f"promtool {' '.join(args)}:\n{r.stdout}{r.stderr}")
        return r.stdout

    def test_check_config(self):
        out = self.run_ok("check", "config", PROM_CONFIG)
        self.assertIn("1 rule files found", out, "prometheus.yml loads alerts.yml")

    def test_check_rules(self):
        self.run_ok("check", "rules", ALERTS)

    def test_rules_unit_tests(self):
        self.run_ok("test", "rules", ALERTS_TEST)

    def test_every_alert_is_unit_tested_firing_and_not_firing(self):
        with open(ALERTS) as f:
            alerts = set(re.findall(r'^\s*- alert: (\w+)', f.read(), re.M))
        self.assertEqual(alerts, ALERT_NAMES)
        with open(ALERTS_TEST) as f:
            text = f.read()
        # Each alert_rule_test item: "alertname: X" followed by "exp_alerts: []" (silent) or a list.
        cases = re.findall(r'alertname: (\w+)\n\s+exp_alerts:(.*)', text)
        silent = {a for a, rest in cases if rest.strip() == "[]"}
        firing = {a for a, rest in cases if rest.strip() == ""}
        self.assertEqual(firing, ALERT_NAMES, "a case where each alert fires")
        self.assertEqual(silent, ALERT_NAMES, "a case where each alert does not fire")


class GrafanaFilesTest(unittest.TestCase):
    """The dashboard and the provisioning files (no Grafana here: structure only; the queries are
    run against a real Prometheus in ScenarioTest)."""

    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD) as f:
            cls.dashboard = json.load(f)

    def all_panels(self):
        out = []

        def walk(panels):
            for p in panels:
                out.append(p)
                walk(p.get("panels", []))

        walk(self.dashboard["panels"])
        return out

    def test_datasource_is_a_template_variable(self):
        variables = {v["name"]: v for v in self.dashboard["templating"]["list"]}
        ds = variables.get("DS_PROMETHEUS")
        self.assertIsNotNone(ds)
        self.assertEqual((ds["type"], ds["query"]), ("datasource", "prometheus"))
        for p in self.all_panels():
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, p["title"])
            self.assertTrue(p["targets"], p["title"])
            for t in p["targets"]:
                self.assertEqual(t["datasource"]["uid"], "${DS_PROMETHEUS}", p["title"])
        for v in variables.values():
            if v["type"] == "query":
                self.assertEqual(v["datasource"]["uid"], "${DS_PROMETHEUS}", v["name"])

    def test_panels_are_well_formed(self):
        panels = self.all_panels()
        ids = [p["id"] for p in panels]
        self.assertEqual(len(ids), len(set(ids)), "unique panel ids")
        self.assertTrue(self.dashboard.get("uid") and self.dashboard.get("title"))
        cells = set()
        for p in panels:
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, f"panel {p['title']!r} overlaps another")
                    cells.add((x, y))
            if p["type"] != "row":
                refs = [t["refId"] for t in p["targets"]]
                self.assertEqual(len(refs), len(set(refs)), p["title"])

    def test_dashboard_shows_every_metric_of_the_contract(self):
        exprs = " ".join(e for _, e in dashboard_targets(self.dashboard))
        missing = [m for m in CONTRACT if not re.search(re.escape(m) + r'(_bucket|_sum|_count)?\b', exprs)]
        self.assertEqual(missing, [])

    def test_provisioning_files(self):
        with open(GRAFANA_DATASOURCES) as f:
            ds = f.read()
        for needle in ("apiVersion: 1", "type: prometheus", "access: proxy", "url: http", "timeInterval: 5s"):
            self.assertIn(needle, ds)
        with open(GRAFANA_DASHBOARDS) as f:
            dash = f.read()
        for needle in ("apiVersion: 1", "providers:", "type: file", "path: "):
            self.assertIn(needle, dash)
        self.assertNotIn("\t", ds + dash, "YAML has no tabs")


class ScenarioTest(unittest.TestCase):
    """A real Prometheus scraping a real `authwatch run` fed with the sample stream."""

    engine = prometheus_proc = None

    @classmethod
    def setUpClass(cls):
        if os.path.isdir(ARTIFACTS):
            shutil.rmtree(ARTIFACTS)
        os.makedirs(ARTIFACTS)
        cls.tmp = tempfile.TemporaryDirectory(prefix="authwatch-obs-")
        try:
            cls._run_scenario()
        except BaseException:
            cls._shutdown()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._shutdown()

    @classmethod
    def _shutdown(cls):
        stop(cls.engine)
        stop(cls.prometheus_proc)
        for name in ("engine.log", "prometheus.log"):
            src = os.path.join(cls.tmp.name, name)
            if os.path.exists(src):
                shutil.copy(src, ARTIFACTS)
        cls.tmp.cleanup()

    @classmethod
    def log(cls, msg):
        print(f"[obs +{time.time() - cls.t0:5.1f}s] {msg}", file=sys.stderr, flush=True)

    @classmethod
    def engine_log(cls):
        with open(os.path.join(cls.tmp.name, "engine.log"), errors="replace") as f:
            return f.read()

    @classmethod
    def _run_scenario(cls):
        cls.t0 = time.time()
        tag = uuid.uuid4().hex[:8]
        cls.events_topic, cls.decisions_topic, cls.dead_topic = f"obs.{tag}.events", f"obs.{tag}.decisions", f"obs.{tag}.dead"
        cls.group = f"obs.{tag}"
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        for f in admin.create_topics([NewTopic(cls.events_topic, 2, 1), NewTopic(cls.decisions_topic, 2, 1),
                                      NewTopic(cls.dead_topic, 1, 1)]).values():
            f.result(30)

        # authwatch: the shipped config with this run's topics and a free metrics port.
        with open(os.path.join(ROOT, "deploy", "authwatch.yaml")) as f:
            base = f.read()
        base = base.replace("../var/dead-letter.jsonl", os.path.join(cls.tmp.name, "dl.jsonl"))
        base = base.replace("../var/", os.path.join(ROOT, "var") + "/").replace("[../rules]", "[%s]" % os.path.join(ROOT, "rules"))
        head, _, _ = base.partition("kafka:")
        config = os.path.join(cls.tmp.name, "authwatch.yaml")
        with open(config, "w") as f:
            f.write(head + f"kafka:\n  input_topics: [{cls.events_topic}]\n  decisions_topic: {cls.decisions_topic}\n"
                    f"  dead_letter_topic: {cls.dead_topic}\n  group_id: {cls.group}\n  properties:\n"
                    f"    bootstrap.servers: {BOOTSTRAP}\n    auto.commit.interval.ms: 500\n"
                    f"    statistics.interval.ms: 1000\n"
                    "\nmetrics:\n  listen: 127.0.0.1:0\n")
        cls.engine = start([AW, "run", "--config", config], os.path.join(cls.tmp.name, "engine.log"))
        port = []

        def metrics_port():
            m = re.search(r'metrics on http://127\.0\.0\.1:(\d+)/metrics', cls.engine_log())
            if m:
                port.append(int(m.group(1)))
            if cls.engine.poll() is not None:
                raise AssertionError(f"authwatch run exited {cls.engine.returncode}:\n{cls.engine_log()}")
            return bool(m)

        if not wait_for(metrics_port, 30):
            raise AssertionError("authwatch run did not report its metrics port:\n" + cls.engine_log())
        cls.metrics_url = f"http://127.0.0.1:{port[0]}"
        if not wait_for(lambda: http_get(cls.metrics_url + "/readyz")[0] == 200, 30):
            raise AssertionError("authwatch never became ready (no partition assigned):\n" + cls.engine_log())
        cls.log(f"authwatch ready, metrics on {cls.metrics_url}")

        # Prometheus: the shipped config and rules, scraping this authwatch every second.
        with open(PROM_CONFIG) as f:
            prom = f.read()
        for pattern, repl in [(r'scrape_interval: \S+', "scrape_interval: 1s"), (r'scrape_timeout: \S+', "scrape_timeout: 1s"),
                              (r'evaluation_interval: \S+', "evaluation_interval: 1s"), (r'- alerts\.yml', "- " + ALERTS),
                              (r"targets: \['127\.0\.0\.1:9464'\]", f"targets: ['127.0.0.1:{port[0]}']")]:
            prom, n = re.subn(pattern, repl, prom)
            if n != 1:
                raise AssertionError(f"deploy/prometheus/prometheus.yml: expected one {pattern!r}, found {n}")
        prom_config = os.path.join(cls.tmp.name, "prometheus.yml")
        with open(prom_config, "w") as f:
            f.write(prom)
        prom_port = free_port()
        cls.prometheus_proc = start(["prometheus", f"--config.file={prom_config}",
                                     f"--storage.tsdb.path={os.path.join(cls.tmp.name, 'tsdb')}",
                                     f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1h"],
                                    os.path.join(cls.tmp.name, "prometheus.log"))
        cls.prom = Prometheus(prom_port)
        cls.prom_started = time.time()
        if not wait_for(lambda: http_get(cls.prom.base + "/-/ready")[0] == 200 or cls.prometheus_proc.poll() is not None, 30) \
                or cls.prometheus_proc.poll() is not None:
            with open(os.path.join(cls.tmp.name, "prometheus.log")) as f:
                raise AssertionError("prometheus did not start:\n" + f.read()[-3000:])
        # Two successful scrapes before any event, so every counter's rise is seen by rate().
        if not wait_for(lambda: cls.prom.vector('count_over_time(up{job="authwatch"}[1m])') and
                        min(cls.prom.vector('count_over_time(up{job="authwatch"}[1m])').values()) >= 2 and
                        cls.prom.scalar('min(up{job="authwatch"})') == 1, 30):
            raise AssertionError(f"prometheus does not scrape authwatch: {cls.prom.target('authwatch')}")
        cls.log(f"prometheus on {cls.prom.base} scrapes authwatch")

        # The stream: the sample in 10 batches a second apart, malformed records among them.
        lines = sample_lines()
        bad = malformed_records()
        records = []  # (value, key)
        step = len(lines) // (len(bad) + 1)
        for i, line in enumerate(lines):
            records.append((line, json.loads(line)["account"].encode()))
            if (i + 1) % step == 0 and (i + 1) // step <= len(bad):
                records.append((bad[(i + 1) // step - 1][0], None))
        cls.valid_count, cls.bad = len(lines), bad
        cls.total = len(records)
        assert cls.total == len(lines) + len(bad)
        cls.produce_started = time.time()
        p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5, "queue.buffering.max.messages": 1000000})
        batch = (len(records) + 9) // 10
        for b in range(10):
            for value, key in records[b * batch:(b + 1) * batch]:
                p.produce(cls.events_topic, value, key=key)
                p.poll(0)
            if p.flush(30) != 0:
                raise AssertionError("producer did not deliver every record")
            if b < 9:
                time.sleep(1)
        cls.log(f"produced {len(lines)} sample events and {len(bad)} malformed records")

        def committed():
            c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": cls.group})
            offs = c.committed([TopicPartition(cls.events_topic, i) for i in range(2)], timeout=10)
            c.close()
            return sum(max(tp.offset, 0) for tp in offs)

        if not wait_for(lambda: committed() == cls.total, 60, step=0.5):
            raise AssertionError(f"authwatch committed {committed()} of {cls.total}:\n{cls.engine_log()}")
        cls.log("every record processed and committed")

        # A reload (SIGHUP: rules and GeoIP databases), for the reload metrics.
        cls.engine.send_signal(signal.SIGHUP)
        if not wait_for(lambda: 'rules reloaded' in cls.engine_log() and 'GeoIP databases reloaded' in cls.engine_log(), 15):
            raise AssertionError("no reload after SIGHUP:\n" + cls.engine_log())

        cls.decisions = [json.loads(m.value()) for m in kafka_read_all(cls.decisions_topic)]
        cls.dead_letters = kafka_read_all(cls.dead_topic)
        cls.log(f"{len(cls.decisions)} decisions and {len(cls.dead_letters)} dead letters on the topics")

        # Sync point: the engine's own counters have stopped moving (it publishes about once a
        # second), then one more scrape after that.
        def engine_totals():
            s, _ = parse_exposition(http_get(cls.metrics_url + "/metrics")[1])
            return tuple(family_sum(s, n) for n in ("authwatch_events_total", "authwatch_events_rejected_total",
                                                    "authwatch_decisions_total", "authwatch_reloads_total"))
        previous = [None]

        def still():
            now = engine_totals()
            same = now == previous[0]
            previous[0] = now
            return same
        wait_for(still, 15, step=1.5)
        settled = time.time()
        if not wait_for(lambda: parse_rfc3339(cls.prom.target("authwatch")["lastScrape"]) > settled + 0.2, 15):
            raise AssertionError("no scrape after the engine's counters settled")
        time.sleep(1.2)  # one more rule evaluation on the final scrape
        status, cls.metrics_text = http_get(cls.metrics_url + "/metrics")
        with open(os.path.join(ARTIFACTS, "metrics.txt"), "w") as f:
            f.write(cls.metrics_text)
        cls.queried_at = time.time()
        cls.log("final scrape done")

    def promql_values(self):
        return {"__rate_interval": RATE_INTERVAL, "__interval": RATE_INTERVAL,
                "__range": f"{int(time.time() - self.prom_started) + 60}s",
                "job": "authwatch", "instance": self.instance_all_value()}

    def instance_all_value(self):
        with open(DASHBOARD) as f:
            variables = {v["name"]: v for v in json.load(f)["templating"]["list"]}
        return variables["instance"].get("allValue") or ".*"

    # ---------------------------------------------------------------------------------------

    def test_target_is_up(self):
        t = self.prom.target("authwatch")
        self.assertIsNotNone(t, "an active target of job authwatch")
        self.assertEqual(t["health"], "up", t.get("lastError"))
        self.assertEqual(t["labels"]["instance"], self.metrics_url.removeprefix("http://"))
        self.assertEqual(self.prom.scalar('up{job="authwatch"}'), 1)

    def test_every_dashboard_query_returns_data(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        values = self.promql_values()
        targets = dashboard_targets(dashboard)
        self.assertGreaterEqual(len(targets), 20)
        start = self.produce_started - 5
        for title, expr in targets:
            q = substitute(expr, values)
            with self.subTest(panel=title, expr=q):
                self.assertNotIn("$", q)
                result = self.prom.query(q)["result"]
                self.assertTrue(result, "the instant query at the end of the run returns no series")
                # ... and at some point of the run it had a number (not only NaN gaps).
                series = self.prom.api("/api/v1/query_range", query=q, start=f"{start:.3f}",
                                       end=f"{time.time():.3f}", step="1")["result"]
                finite = [v for s in series for _, v in s["values"] if math.isfinite(float(v))]
                self.assertTrue(finite, "the query had no finite value during the run")

    def test_dashboard_variables_resolve(self):
        jobs = self.prom.api("/api/v1/label/job/values", **{"match[]": "authwatch_build_info"})
        self.assertEqual(jobs, ["authwatch"])
        instances = self.prom.api("/api/v1/label/instance/values", **{"match[]": 'authwatch_build_info{job="authwatch"}'})
        self.assertEqual(instances, [self.metrics_url.removeprefix("http://")])

    def test_events_total_equals_valid_events_produced(self):
        self.assertEqual(self.prom.scalar("sum(authwatch_events_total)"), self.valid_count)
        self.assertEqual(self.prom.scalar("sum(authwatch_events_skipped_total)"), 0)

    def test_rejected_total_equals_malformed_records_and_dead_letters(self):
        self.assertEqual(self.prom.scalar("sum(authwatch_events_rejected_total)"), len(self.bad))
        expected = {}
        for _, reason in self.bad:
            expected[reason] = expected.get(reason, 0) + 1
        got = {dict(k)["reason"]: v for k, v in self.prom.vector("sum by (reason) (authwatch_events_rejected_total) > 0").items()}
        self.assertEqual(got, expected)
        on_topic = {}
        for m in self.dead_letters:
            reason = dict(m.headers())["authwatch.reason"].decode()
            on_topic[reason] = on_topic.get(reason, 0) + 1
        self.assertEqual(on_topic, expected, "the dead-letter topic holds the same records")

    def test_decisions_total_equals_decisions_on_the_topic(self):
        self.assertGreater(len(self.decisions), 0, "the sample's attacks are decided on")
        self.assertEqual(self.prom.scalar("sum(authwatch_decisions_total)"), len(self.decisions))
        on_topic = {}
        for d in self.decisions:
            k = (d["rule"], d["action"], d["scope"])
            on_topic[k] = on_topic.get(k, 0) + 1
        got = {(dict(k)["rule"], dict(k)["action"], dict(k)["scope"]): v
               for k, v in self.prom.vector("sum by (rule, action, scope) (authwatch_decisions_total) > 0").items()}
        self.assertEqual(got, on_topic, "by rule, action and scope")

    def test_active_decisions_match_the_decisions_topic(self):
        # Replaying the topic's decisions: at most one per subject, scope and origin (README
        # "Decisions"), an unblock ends it.
        active = {}
        for d in self.decisions:
            if d.get("dry_run"):
                continue  # a dry run is never in force
            key = (d["subject"]["type"], d["subject"]["value"], d["scope"], d.get("origin", ""))
            if d["action"] == "unblock":
                active.pop(key, None)
            else:
                active[key] = d["action"]
        expected = {a: sum(1 for v in active.values() if v == a) for a in ("block", "challenge", "monitor")}
        got = {dict(k)["action"]: v for k, v in self.prom.vector("sum by (action) (authwatch_active_decisions)").items()}
        self.assertEqual(got, expected)

    def test_geoip_and_state_metrics(self):
        self.assertEqual(self.prom.scalar("sum(authwatch_geoip_lookups_total)"), self.valid_count,
                         "one lookup per accepted event")
        ratio = self.prom.scalar("sum(authwatch_geoip_lookups_total{result='hit'}) / sum(authwatch_geoip_lookups_total)")
        self.assertAlmostEqual(self.prom.scalar("authwatch_geoip_cache_hit_ratio"), ratio, places=6)
        self.assertGreater(ratio, 0.5)
        for kind in ("account", "ip", "profile"):
            self.assertGreater(self.prom.scalar(f'authwatch_state_keys{{kind="{kind}"}}'), 0, kind)
        self.assertGreater(self.prom.scalar("authwatch_state_memory_bytes"), 0)
        newest = max(json.loads(line)["ts"] for line in sample_lines())
        self.assertAlmostEqual(self.prom.scalar("authwatch_last_event_timestamp_seconds"), parse_rfc3339(newest), places=3)

    def test_kafka_metrics(self):
        self.assertEqual(self.prom.scalar("authwatch_assigned_partitions"), 2)
        lag = {dict(k)["partition"]: v for k, v in self.prom.vector(
            f'authwatch_consumer_lag{{topic="{self.events_topic}"}}').items()}
        self.assertEqual(lag, {"0": 0, "1": 0}, "both partitions reported, nothing behind")
        self.assertEqual(self.prom.scalar("authwatch_kafka_delivery_failures_total"), 0)
        self.assertGreaterEqual(self.prom.scalar("authwatch_kafka_rebalances_total"), 1, "the initial assignment")

    def test_reloads_counted(self):
        got = {(dict(k)["component"], dict(k)["result"]): v
               for k, v in self.prom.vector("sum by (component, result) (authwatch_reloads_total)").items()}
        self.assertEqual(got, {("rules", "success"): 1, ("geoip", "success"): 1,
                               ("rules", "failure"): 0, ("geoip", "failure"): 0})
        self.assertEqual(self.prom.scalar("count(authwatch_rules_info == 1)"), 1)
        self.assertEqual(self.prom.scalar("count(authwatch_build_info == 1)"), 1)

    def test_rules_are_loaded_healthy_and_alerts_documented(self):
        groups = self.prom.api("/api/v1/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        self.assertTrue(groups and all(g["file"] == ALERTS for g in groups))
        for r in rules:
            self.assertEqual(r["health"], "ok", f"{r['name']}: {r.get('lastError')}")
        alerts = {r["name"]: r for r in rules if r["type"] == "alerting"}
        self.assertEqual(set(alerts), ALERT_NAMES)
        for name, r in alerts.items():
            self.assertIn(r["labels"].get("severity"), ("critical", "warning"), name)
            for a in ("summary", "description", "runbook"):
                self.assertTrue(r["annotations"].get(a), f"{name}: annotation {a}")
        # Every recorded series exists (NaN is data: e.g. a latency quantile with no decision).
        for r in rules:
            if r["type"] == "recording":
                self.assertTrue(self.prom.query(r["name"])["result"], f"recording rule {r['name']} has no data")
        firing = [a["labels"]["alertname"] for a in self.prom.api("/api/v1/alerts")["alerts"] if a["state"] == "firing"]
        self.assertEqual(firing, [], "a healthy run fires no alert")

    def test_metrics_endpoint_serves_the_contract(self):
        samples, types = parse_exposition(self.metrics_text)
        self.assertEqual({n: types.get(n) for n in CONTRACT}, CONTRACT)
        self.assertEqual(http_get(self.metrics_url + "/healthz")[0], 200)
        self.assertEqual(http_get(self.metrics_url + "/readyz")[0], 200)
        # Labels only from closed sets: no account, address or other user-controlled value.
        for (name, labels), _ in samples.items():
            for k, v in labels:
                self.assertNotIn("@", v, f"{name}: label {k}={v}")


def main():
    started = time.time()
    # SIGTERM (run.sh forwards it) interrupts like Ctrl-C; the finally below stops what we started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = unittest.main(exit=False, verbosity=2).result
    finally:
        for p in STARTED:
            stop(p, timeout=10)
    # A test method with failing subtests counts once; a failing setUpClass counts as a failure
    # (its tests did not run).
    failed_ids = {getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors}
    failed_tests = {i for i in failed_ids if "setUpClass" not in i and "tearDownClass" not in i}
    passed = result.testsRun - len(failed_tests)
    since = float(os.environ.get("AUTHWATCH_OBS_STARTED", started))
    print(f"observability proof took {time.time() - since:.1f}s ({time.time() - started:.1f}s without the Kafka start)")
    print(f"{passed} passed, {len(failed_ids)} failed")
    return 1 if failed_ids or not result.testsRun else 0


if __name__ == "__main__":
    sys.exit(main())
