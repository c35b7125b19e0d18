#!/usr/bin/env python3
"""authwatch run against a real Kafka broker: decisions, dead letters, at-least-once offsets,
graceful stop and resume, and recovery from a broker restart.

Started by tests/integration/run.sh, which starts the broker and sets AUTHWATCH_IT_BOOTSTRAP."""
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AW = os.path.join(ROOT, "build", "bin", "authwatch")
BOOTSTRAP = os.environ.get("AUTHWATCH_IT_BOOTSTRAP", "127.0.0.1:19192")
KAFKA_DIR = os.environ.get("AUTHWATCH_IT_KAFKA_DIR", os.path.join(ROOT, "var", "kafka", "it"))
SAMPLE_GZ = os.path.join(ROOT, "deploy", "samples", "events.jsonl.gz")


def kafka_sh(*args):
    subprocess.run([os.path.join(ROOT, "deploy", "kafka", "kafka.sh"), *args, "--dir", KAFKA_DIR],
                   check=True, capture_output=True, timeout=120)


class Topics:
    """Fresh topics and a config for one test."""

    def __init__(self, partitions=1, properties="", state=""):
        tag = uuid.uuid4().hex[:8]
        self.state_topic = f"it.{tag}.state"
        self.events, self.decisions, self.dead = f"it.{tag}.events", f"it.{tag}.decisions", f"it.{tag}.dead"
        self.group = f"it.{tag}"
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        futures = admin.create_topics([NewTopic(self.events, partitions, 1), NewTopic(self.decisions, 2, 1),
                                       NewTopic(self.dead, 1, 1)])
        for f in futures.values():
            f.result(30)
        self.tmp = tempfile.TemporaryDirectory()
        self.config = os.path.join(self.tmp.name, "authwatch.yaml")
        with open(os.path.join(ROOT, "deploy", "authwatch.yaml")) as f:
            base = f.read()
        base = base.replace("../var/", os.path.join(ROOT, "var") + "/").replace("[../rules]", "[%s]" % os.path.join(ROOT, "rules"))
        base = base.replace("../var/dead-letter.jsonl", os.path.join(self.tmp.name, "dl.jsonl"))
        kafka = (f"kafka:\n  input_topics: [{self.events}]\n  decisions_topic: {self.decisions}\n"
                 f"  dead_letter_topic: {self.dead}\n  group_id: {self.group}\n  properties:\n"
                 f"    bootstrap.servers: {BOOTSTRAP}\n    auto.commit.interval.ms: 500\n"
                 f"    reconnect.backoff.max.ms: 1000\n{properties}")
        head, _, _ = base.partition("kafka:")
        with open(self.config, "w") as f:
            f.write(head + kafka + "\nmetrics:\n  listen: 127.0.0.1:0\n" +
                    (f"state:\n  topic: {self.state_topic}\n{state}" if state else ""))

    def produce(self, records, key=lambda r: None, partition=None):
        # Idempotent: a retried batch (a broker just restarted) must not overtake the next one, or
        # events arrive out of order and the late ones are dead-lettered. `records` may be a
        # generator (one that paces them); `partition(record)` picks a partition explicitly.
        p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5, "queue.buffering.max.messages": 1000000,
                      "enable.idempotence": True})
        for r in records:
            where = {} if partition is None else {"partition": partition(r)}
            while True:
                try:
                    p.produce(self.events, r, key=key(r), **where)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(60)
        if left:
            raise RuntimeError(f"{left} test records not delivered to {self.events} in 60 s")

    def read(self, topic, timeout=10.0, expect=None):
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "reader-" + uuid.uuid4().hex,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.subscribe([topic])
        out, deadline, idle_since = [], time.time() + timeout, time.time()
        while time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                if expect is None and out and time.time() - idle_since > 2:
                    break
                continue
            if m.error():
                continue
            out.append(m)
            idle_since = time.time()
            if expect is not None and len(out) >= expect:
                break
        c.close()
        return out

    def committed(self, partitions=1):
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": self.group})
        offs = c.committed([TopicPartition(self.events, p) for p in range(partitions)], timeout=10)
        c.close()
        return sum(max(tp.offset, 0) for tp in offs)


class Engine:
    def __init__(self, config, log, env=None):
        self.log = open(log, "ab")
        self.p = subprocess.Popen([AW, "run", "--config", config], stdout=self.log, stderr=self.log,
                                  env=None if env is None else {**os.environ, **env})

    def kill(self):
        self.p.kill()  # SIGKILL: no flush, no commit, no checkpoint
        self.p.wait(30)
        self.log.close()

    def stop(self, timeout=30):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout)
        self.log.close()
        return rc


def names_from_env(var, default, known):
    """The space-separated names in environment variable `var` (else `default`), each one of
    `known`: a typo such as "kill9,crash" would otherwise select nothing and pass."""
    names = os.environ.get(var, default).split()
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"{var}: unknown name(s) {' '.join(unknown)}; known, space-separated: {' '.join(known)}")
    return names


def wait_for(predicate, timeout, step=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def verify_state(config):
    """`authwatch verify-state`: every snapshot in the state topic's history against the oracle
    (the same rules run offline on the input topic). Returns its summary and its stderr."""
    r = subprocess.run([AW, "verify-state", "--config", config], capture_output=True, timeout=900)
    lines = r.stdout.decode().splitlines()
    summary = json.loads(lines[-1]) if lines and lines[-1].startswith('{"summary"') else {}
    summary["exit"] = r.returncode
    return summary, r.stderr.decode()[-4000:]


def sequence_gaps(messages):
    """Events whose per-account "seq" (tests/scenarios/generate.py --seq) is not one more than the
    account's previous one in its partition: the input lost, repeated or reordered something."""
    last, bad = {}, []
    for m in messages:
        e = json.loads(m.value())
        if "seq" not in e:
            continue
        if e["seq"] != last.get(e["account"], 0) + 1:
            bad.append(f"{e['account']}: seq {e['seq']} after {last.get(e['account'], 0)}")
        last[e["account"]] = e["seq"]
    return bad


def sample_lines():
    with gzip.open(SAMPLE_GZ, "rb") as f:
        return [l.rstrip(b"\n") for l in f if l.strip()]


class KafkaServiceTest(unittest.TestCase):
    def topics(self, partitions=1, properties="", state=""):
        t = Topics(partitions, properties, state)
        self.addCleanup(t.tmp.cleanup)
        return t

    def engine(self, topics):
        return Engine(topics.config, os.path.join(topics.tmp.name, "engine.log"))

    def engine_log(self, topics):
        with open(os.path.join(topics.tmp.name, "engine.log"), errors="replace") as f:
            return f.read()

    def test_scenario_stream_gives_the_same_decisions_as_replay(self):
        t = self.topics()
        lines = sample_lines()
        t.produce(lines)
        replay = subprocess.run([AW, "replay", "--config", t.config, "--input", "-", "--output", "-",
                                 "--dead-letter", os.path.join(t.tmp.name, "r.jsonl")],
                                input=b"\n".join(lines) + b"\n", capture_output=True, timeout=120)
        self.assertEqual(replay.returncode, 0, replay.stderr)
        expected = [json.loads(l) for l in replay.stdout.decode().splitlines()]
        self.assertTrue(expected)
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed() == len(lines), 60), self.engine_log(t))
        self.assertEqual(e.stop(), 0, self.engine_log(t))
        got = t.read(t.decisions, timeout=20, expect=len(expected))
        decisions = [json.loads(m.value()) for m in got]
        self.assertEqual(sorted(d["decision_id"] for d in decisions), sorted(d["decision_id"] for d in expected),
                         "run and replay decide the same on the same events, and nothing else\n" + self.engine_log(t))
        for m in got:
            self.assertEqual(m.key().decode(), json.loads(m.value())["subject"]["value"], "keyed by subject")

    def replay(self, t, lines):
        r = subprocess.run([AW, "replay", "--config", t.config, "--input", "-", "--output", "-",
                            "--dead-letter", os.path.join(t.tmp.name, "r.jsonl")],
                           input=b"\n".join(lines) + b"\n", capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(l)["decision_id"] for l in r.stdout.decode().splitlines()]

    def test_state_survives_a_restart_and_a_kill9(self):
        # Three thirds of the sample: engine 1 reads the first and stops cleanly (checkpoint);
        # engine 2 restores it, reads the second and is killed with SIGKILL before any further
        # checkpoint; engine 3 restores the first checkpoint, re-reads the second third without
        # output, and reads the last. The decisions written must be exactly replay's: none lost
        # (the window state crossed both restarts), none repeated (the re-read was silent).
        t = self.topics(state="  checkpoint_interval: 1h\n")
        lines = sample_lines()
        a, b = len(lines) // 3, 2 * len(lines) // 3
        expected = self.replay(t, lines)
        apart = set(self.replay(t, lines[:a])) | set(self.replay(t, lines[a:b])) | set(self.replay(t, lines[b:]))
        self.assertTrue(set(expected) - apart, "the stream has decisions that need state from an earlier third")
        t.produce(lines[:a])
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed() == a, 60), self.engine_log(t))
        self.assertEqual(e.stop(), 0, self.engine_log(t))
        self.assertIn(f"state: checkpoint 1 at offset sum {a} ", self.engine_log(t))
        t.produce(lines[a:b])
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed() == b, 60), self.engine_log(t))
        e.kill()
        t.produce(lines[b:])
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed() == len(lines), 60), self.engine_log(t))
        self.assertEqual(e.stop(), 0, self.engine_log(t))
        log = self.engine_log(t)
        self.assertIn(f"restore complete: {b - a} events re-read without output", log)
        got = [json.loads(m.value())["decision_id"] for m in t.read(t.decisions, timeout=20, expect=len(expected))]
        self.assertEqual(sorted(got), sorted(expected), "exactly replay's decisions across a clean stop and a kill -9")

    def test_state_is_rebuilt_by_time_when_there_is_no_snapshot(self):
        # The first engine runs without durable state (as before an upgrade) and commits half the
        # stream; the second, with durable state but no snapshot, re-reads the input of the
        # longest rule window up to the committed offset without output, then goes on: its
        # decisions are replay's for the second half, including those that need the first.
        t = self.topics()
        lines = sample_lines()
        half = len(lines) // 2
        expected = self.replay(t, lines)
        first = set(self.replay(t, lines[:half]))
        alone = set(self.replay(t, lines[half:]))
        t.produce(lines[:half])
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed() == half, 60), self.engine_log(t))
        self.assertEqual(e.stop(), 0, self.engine_log(t))
        stateful = os.path.join(t.tmp.name, "stateful.yaml")
        with open(t.config) as f, open(stateful, "w") as g:
            g.write(f.read() + f"state:\n  topic: {t.state_topic}\n")
        t.produce(lines[half:])
        e = Engine(stateful, os.path.join(t.tmp.name, "engine.log"))
        self.assertTrue(wait_for(lambda: t.committed() == len(lines), 60), self.engine_log(t))
        self.assertEqual(e.stop(), 0, self.engine_log(t))
        log = self.engine_log(t)
        self.assertIn("has no snapshot here; rebuilding it from offset 0", log)
        self.assertIn(f"restore complete: {half} events re-read without output", log)
        got = [json.loads(m.value())["decision_id"] for m in t.read(t.decisions, timeout=30)]
        # The first engine wrote the first half's decisions; the second everything after it.
        self.assertEqual(sorted(got), sorted(expected), "decisions across the upgrade equal replay's")
        self.assertTrue(set(expected) - first - alone, "some decisions needed the rebuilt state")

    def test_malformed_messages_go_to_the_dead_letter_topic_and_the_engine_goes_on(self):
        t = self.topics()
        good = [json.dumps({"ts": f"2026-11-02T10:00:{i:02d}Z", "account": "victim@mail.example",
                            "ip": "45.155.205.23", "result": "failure", "protocol": "imap"}).encode() for i in range(40)]
        bad = [b"not json", b'{"ts":"2026-11-02T10:00:30Z","account":"a","ip":"999.1.1.1","result":"failure"}',
               b"\x00\xff\xfebinary", b'{"ts":"2026-11-02T10:00:31Z","ip":"1.2.3.4","result":"failure"}']
        t.produce(good[:20] + bad + good[20:])
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed() == 44, 60), self.engine_log(t))
        self.assertEqual(e.stop(), 0)
        dead = t.read(t.dead, expect=4)
        self.assertEqual([m.value() for m in dead], bad)
        reasons = [dict(m.headers())["authwatch.reason"].decode() for m in dead]
        self.assertEqual(reasons, ["invalid_json", "bad_ip", "invalid_utf8", "missing_field"])
        for m in dead:
            h = dict(m.headers())
            self.assertIn(t.events, h["authwatch.source"].decode())
            self.assertTrue(h["authwatch.detail"])
        decisions = [json.loads(m.value()) for m in t.read(t.decisions)]
        self.assertTrue(any(d["subject"]["value"] == "45.155.205.23" and d["action"] == "block" for d in decisions),
                        "records after the bad ones were processed")

    def numbered_stream(self, n):
        """Records that each leave a trace: every one is dead-lettered (no account), numbered."""
        return [json.dumps({"seq": i, "ts": "2026-11-02T10:00:00Z", "ip": "198.51.100.1", "result": "failure"}).encode()
                for i in range(n)]

    def assert_every_record_seen(self, t, n):
        seen = {json.loads(m.value())["seq"] for m in t.read(t.dead, timeout=60, expect=n)}
        self.assertEqual(seen, set(range(n)), "every record processed at least once, none skipped")

    def test_stop_mid_stream_then_resume_skips_nothing(self):
        t = self.topics(partitions=2)
        n = 100000
        records = self.numbered_stream(n)
        key = lambda r: r[-12:]
        t.produce(records[: n // 2], key=key)
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed(2) == n // 2, 60), self.engine_log(t))
        # The second half arrives while the engine runs; SIGTERM lands in the middle of it.
        import threading
        producer = threading.Thread(target=lambda: [t.produce(records[i:i + 2000], key=key) or time.sleep(0.05)
                                                    for i in range(n // 2, n, 2000)])
        producer.start()
        time.sleep(0.4)
        self.assertEqual(e.stop(), 0, "SIGTERM is a graceful stop")
        producer.join()
        first = t.committed(2)
        self.assertGreaterEqual(first, n // 2)
        self.assertLess(first, n, "stopped mid-stream")
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed(2) == n, 120), self.engine_log(t))
        self.assertEqual(e.stop(), 0)
        self.assertGreaterEqual(t.committed(2), first, "offsets never go backwards")
        self.assert_every_record_seen(t, n)

    def test_engine_rides_out_a_broker_restart(self):
        t = self.topics()
        n = 300000
        t.produce(self.numbered_stream(n))
        e = self.engine(t)
        self.assertTrue(wait_for(lambda: t.committed() > 0, 60), self.engine_log(t))
        kafka_sh("kill9")
        time.sleep(5)
        kafka_sh("restart")
        self.assertIsNone(e.p.poll(), "the engine must not exit while the broker is away")
        self.assertTrue(wait_for(lambda: t.committed() == n, 180), self.engine_log(t))
        self.assertEqual(e.stop(), 0, self.engine_log(t))
        self.assert_every_record_seen(t, n)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
