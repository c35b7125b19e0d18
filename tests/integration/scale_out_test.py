#!/usr/bin/env python3
"""Scale-out (issue #8): several `authwatch run` instances in one group decide as one replay.

The input has three partitions keyed by account. The oracle is `authwatch replay` of the events in
the order the network shards merge them: by event time, then input partition, then offset (the
test sorts the stream so, and writes each partition in that order). Unblock records are written
when a shard's own stream time passes a TTL, so only those due before the last events are
compared.

Started by tests/integration/run.sh (after kafka_test.py), which starts the broker."""
import json
import os
import subprocess
import sys
import unittest
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_test import AW, Engine, Topics, sample_lines, wait_for  # noqa: E402

PARTITIONS = 3
# Idle partitions would let the network shards merge on without them (README "Scale-out"): here
# no partition is ever idle for that long, and a sentinel event on every partition, an hour after
# the stream, moves every watermark past the last real event.
SCALE_OUT = "scale_out:\n  partitions: 3\n  idle_after: 10m\n"


def partition_of(line):
    return zlib.crc32(json.loads(line)["account"].encode()) % PARTITIONS


def ordered(lines):
    """The stream in the network shards' merge order: time, partition, original order."""
    keyed = [(json.loads(l)["ts"], partition_of(l), i, l) for i, l in enumerate(lines)]
    return [l for _, _, _, l in sorted(keyed)]


def ts_of(line):
    return json.loads(line)["ts"]


def sentinels(lines):
    """One successful login an hour after the last event on every partition."""
    last = ts_of(lines[-1])
    at = last[:11] + "%02d" % (int(last[11:13]) + 1) + last[13:] if int(last[11:13]) < 23 else last[:8] + \
        "%02d" % (int(last[8:10]) + 1) + "T00" + last[13:]
    out, account = [], 0
    while len(out) < PARTITIONS:
        line = json.dumps({"ts": at, "account": f"sentinel{account}@mail.example", "ip": "192.0.2.1",
                           "result": "success", "protocol": "imap"})
        if partition_of(line) == len(out):
            out.append(line.encode())
        account += 1
    return out


class ScaleOutTest(unittest.TestCase):
    maxDiff = None
    def setUp(self):
        # A cleanly stopped static member keeps its partitions for a session timeout: 10 s here.
        self.t = Topics(PARTITIONS, properties="    session.timeout.ms: 10000\n", state="  checkpoint_interval: 1h\n")
        self.addCleanup(self.t.tmp.cleanup)
        with open(self.t.config) as f:
            self.base = f.read() + SCALE_OUT
        self.engines = []

    def tearDown(self):
        for e in self.engines:
            if e.p.poll() is None:
                e.kill()

    def start(self, name):
        config = os.path.join(self.t.tmp.name, f"{name}.yaml")
        with open(config, "w") as f:
            f.write(self.base.replace(f"  group_id: {self.t.group}\n",
                                      f"  group_id: {self.t.group}\n  instance_id: {name}\n"))
        e = Engine(config, os.path.join(self.t.tmp.name, f"{name}.log"))
        e.name = name
        self.engines.append(e)
        return e

    def logs(self):
        out = []
        for e in self.engines:
            with open(os.path.join(self.t.tmp.name, f"{e.name}.log"), errors="replace") as f:
                out.append(f"--- {e.name}\n" + f.read()[-6000:])
        return "\n".join(out)

    def produce(self, lines):
        """Each event to the partition its account maps to, in the given order."""
        self.t.produce(lines, partition=partition_of)

    def replay(self, lines):
        r = subprocess.run([AW, "replay", "--config", self.t.config, "--input", "-", "--output", "-",
                            "--dead-letter", os.path.join(self.t.tmp.name, "r.jsonl")],
                           input=b"\n".join(lines) + b"\n", capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(l) for l in r.stdout.decode().splitlines()]

    def compare(self, expected, horizon):
        """Waits for the decisions topic to hold the oracle's decisions; returns (missing, invented)."""
        def due(d):
            return d["action"] != "unblock" or d["ts"] < horizon
        want = {d["decision_id"] for d in expected if due(d)}
        got = set()

        def enough():
            got.clear()
            got.update(json.loads(m.value())["decision_id"] for m in self.t.read(self.t.decisions, timeout=5)
                       if due(json.loads(m.value())))
            return want <= got
        wait_for(enough, 60, step=2)
        every = {d["decision_id"]: d for d in expected}
        every.update({json.loads(m.value())["decision_id"]: json.loads(m.value())
                      for m in self.t.read(self.t.decisions, timeout=5)})

        def show(ids):
            return sorted(f'{every[i]["ts"]} {every[i]["rule"]} {every[i]["action"]} {every[i]["subject"]["value"]}'
                          for i in ids)
        return show(want - got), show(got - want)

    def test_instances_decide_as_one_replay(self):
        lines = ordered(sample_lines())
        lines += sentinels(lines)
        expected = self.replay(lines)
        self.assertTrue(any(d["subject"]["type"] in ("ip", "prefix", "asn") for d in expected),
                        "the sample has network decisions, which need events of every partition")
        self.produce(lines)
        a, b = self.start("a"), self.start("b")
        self.assertTrue(wait_for(lambda: self.t.committed(PARTITIONS) == len(lines), 120), self.logs())
        missing, invented = self.compare(expected, ts_of(lines[-PARTITIONS - 1])[:13])
        self.assertEqual(a.stop(), 0, self.logs())
        self.assertEqual(b.stop(), 0, self.logs())
        self.assertEqual((missing, invented), ([], []), self.logs())

    def test_shards_move_between_instances_with_their_state(self):
        # One instance reads the first half and stops (a checkpoint of every shard); two others
        # take the shards over, restore them and read the second half. Decisions that need
        # windows from the first half are still made, and none twice.
        lines = ordered(sample_lines())
        lines += sentinels(lines)
        half = len(lines) // 2
        expected = self.replay(lines)
        self.produce(lines[:half])
        a = self.start("a")
        self.assertTrue(wait_for(lambda: self.t.committed(PARTITIONS) == half, 120), self.logs())
        self.assertEqual(a.stop(), 0, self.logs())
        self.produce(lines[half:])
        b, c = self.start("b"), self.start("c")
        self.assertTrue(wait_for(lambda: self.t.committed(PARTITIONS) == len(lines), 120), self.logs())
        missing, invented = self.compare(expected, ts_of(lines[-PARTITIONS - 1])[:13])
        self.assertEqual(b.stop(), 0, self.logs())
        self.assertEqual(c.stop(), 0, self.logs())
        self.assertEqual((missing, invented), ([], []), self.logs())
        msgs = self.t.read(self.t.decisions, timeout=5)
        ids = [json.loads(m.value())["decision_id"] for m in msgs]
        self.assertEqual(len(ids), len(set(ids)), "no decision is written twice across the hand-over")


if __name__ == "__main__":
    unittest.main(verbosity=2)
