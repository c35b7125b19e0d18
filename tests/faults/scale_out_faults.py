#!/usr/bin/env python3
"""Fault injection for a scale-out deployment (issue #8): three `authwatch run` instances in one
group over a three-partition input, durable state on (checkpoints every 5 s), while faults hit
the instances:

  none      baseline: three instances, no fault
  kill9     SIGKILL a random instance every 10-15 s, restart it after 2-5 s
  stop      SIGSTOP a random instance for longer than its session timeout (6 s), then SIGCONT:
            its partitions move to the others meanwhile, and the zombie must be fenced
  scale     3 -> 2 -> 3 -> 1 -> 3 instances (clean stops and fresh starts)
  broker    SIGKILL the broker, restart it after 5 s, twice, under all three instances
  crash     one instance after the other kills itself at a chosen point (AUTHWATCH_TEST_CRASH_AT):
            mid-checkpoint (a shard's chunks written, its manifest not), mid-restore (re-reading
            after a shard's snapshot), after a decision is on the broker and before its offset
            is stored; each is restarted normally after its crash

The stream is a labelled scenario (tests/scenarios/generate.py, planted attacks): 600 accounts
over a day (~70,000 events), or AUTHWATCH_SCALE_FAULT_ACCOUNTS over AUTHWATCH_SCALE_FAULT_DAYS
(4,000 over three days: ~1,000,000). It is produced at a steady rate over the fault's seconds,
each event to the partition of its account, in the network shards' merge order (event time,
partition), and ended by a sentinel event on every partition at the end of the year that moves
every watermark past the last real event. The oracle is `authwatch replay` of the same stream,
single threaded. Checkers on the decisions topic: every decision of the oracle is there (none
missing), nothing else is (none invented), repeats are only of the same decision_id (at least
once) and counted; each key's decisions are in the order of their triggering events' times
(first occurrences); each input partition's committed offset never goes backwards (sampled
every 0.5 s); the input lag returns to zero within 30 s of the last event. Unblock records are
written when a shard's own stream time passes a TTL, so those due after the last real hour are
not compared. On the state and the input: every snapshot any instance completed during the run
(the state topic's whole history), of every account and network shard, holds exactly the state
the oracle reaches at the snapshot's position (`authwatch verify-state`: equal digests); every
account's events are in the input whole and in order (per-account sequence numbers).

Run by tests/faults/run.sh (which starts the broker) with AUTHWATCH_SCALE_FAULTS (default
"none kill9 stop scale"), and the seeds, duration and results file of fault_test.py."""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from kafka_test import (AW, BOOTSTRAP, ROOT, Engine, Topics, kafka_sh, sequence_gaps, verify_state,  # noqa: E402
                        names_from_env, wait_for)

FAULTS = names_from_env("AUTHWATCH_SCALE_FAULTS", "none kill9 stop scale broker crash",
                        ("none", "kill9", "stop", "scale", "broker", "crash"))
SEEDS = [int(s) for s in os.environ.get("AUTHWATCH_FAULT_SEEDS", "7").split()]
SECONDS = float(os.environ.get("AUTHWATCH_FAULT_SECONDS", "45"))
RESULTS = os.environ.get("AUTHWATCH_FAULT_RESULTS", "")
PARTITIONS = 3
SESSION_S = 6
# The stream: 600 accounts over a day (~70,000 events) by default; the full tier uses 4,000 over
# three days (~1,000,000 events).
ACCOUNTS = int(os.environ.get("AUTHWATCH_SCALE_FAULT_ACCOUNTS", "600"))
DAYS = int(os.environ.get("AUTHWATCH_SCALE_FAULT_DAYS", "1"))


def partition_of(line):
    return zlib.crc32(json.loads(line)["account"].encode()) % PARTITIONS


def stream(seed, tmp):
    """A labelled stream of ACCOUNTS accounts over DAYS days, in merge order, with the sentinels."""
    events = os.path.join(tmp, f"events-{seed}.jsonl")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "scenarios", "generate.py"), "--seed", str(seed),
                    "--accounts", str(ACCOUNTS), "--days", str(DAYS), "--out", events, "--labels", events + ".labels", "--seq"],
                   check=True, capture_output=True, timeout=300)
    with open(events, "rb") as f:
        lines = [l.rstrip(b"\n") for l in f if l.strip()]
    keyed = sorted((json.loads(l)["ts"], partition_of(l), i) for i, l in enumerate(lines))
    lines = [lines[i] for _, _, i in keyed]
    last = json.loads(lines[-1])["ts"]
    at = "2099-01-01T00:00:00.000Z" if last >= "2099" else last[:4] + "-12-31T23:59:59.000Z"
    sentinels, n = [], 0
    while len(sentinels) < PARTITIONS:
        line = json.dumps({"ts": at, "account": f"sentinel{n}@mail.example", "ip": "192.0.2.1",
                           "result": "success", "protocol": "imap"}).encode()
        if partition_of(line) == len(sentinels):
            sentinels.append(line)
        n += 1
    return lines, last, lines + sentinels


def order_violations(messages):
    """Decisions on one key that are out of the order of their triggering events' times.

    The decisions topic is keyed by subject, so each subject's decisions are in one partition,
    in the order they were written. Checked: the first occurrence of each decision_id (a repeat
    under at least once is a copy of an earlier one), per network subject (one network shard
    decides on it), and per account subject and rule for rules keyed by account (one account
    shard); an account decided on by an address-keyed rule has several origins, and is not."""
    last, seen, bad = {}, set(), []
    for m in messages:
        d = json.loads(m.value())
        if d["decision_id"] in seen:
            continue
        seen.add(d["decision_id"])
        kind, value = d["subject"]["type"], d["subject"]["value"]
        if kind in ("ip", "prefix", "asn"):
            key = (kind, value)
        elif d["action"] != "unblock" and (d.get("evidence") or {}).get("key") not in ("ip", "prefix", "asn"):
            key = (kind, value, d["rule"])
        else:
            continue
        if key in last and d["ts"] < last[key]:
            bad.append(f"{key}: {d['ts']} after {last[key]}")
        last[key] = max(last.get(key, ""), d["ts"])
    return bad


class Offsets:
    """Samples each input partition's committed offset every 0.5 s."""

    def __init__(self, topics):
        self.topics, self.values, self.stop = topics, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def committed(self):
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": self.topics.group})
        offs = c.committed([TopicPartition(self.topics.events, p) for p in range(PARTITIONS)], timeout=10)
        c.close()
        return [max(tp.offset, 0) for tp in offs]

    def run(self):
        while not self.stop.is_set():
            try:
                self.values.append(self.committed())
            except Exception:
                pass
            self.stop.wait(0.5)

    def backwards(self):
        return [(a, b) for a, b in zip(self.values, self.values[1:]) if any(y < x for x, y in zip(a, b))]

    def close(self):
        self.stop.set()
        self.thread.join(15)


class Cluster:
    """Up to three instances i0..i2 of one group, each with its instance id and log."""

    def __init__(self, topics, base):
        self.topics, self.base, self.running, self.stopped_ever = topics, base, {}, set()

    def start(self, name, env=None):
        config = os.path.join(self.topics.tmp.name, f"{name}.yaml")
        with open(config, "w") as f:
            f.write(self.base.replace(f"  group_id: {self.topics.group}\n",
                                      f"  group_id: {self.topics.group}\n  instance_id: {name}\n"))
        self.running[name] = Engine(config, os.path.join(self.topics.tmp.name, f"{name}.log"), env=env)

    def kill(self, name):
        self.running.pop(name).kill()

    def stop(self, name):
        rc = self.running.pop(name).stop(60)
        if rc != 0:
            raise AssertionError(f"{name} exited {rc} on SIGTERM\n{self.log(name)}")

    def log(self, name):
        with open(os.path.join(self.topics.tmp.name, f"{name}.log"), errors="replace") as f:
            return f.read()

    def logs_full(self):
        return "\n".join(self.log(n) for n in ("i0", "i1", "i2")
                         if os.path.exists(os.path.join(self.topics.tmp.name, f"{n}.log")))

    def logs(self):
        return "\n".join(f"--- {n}\n{self.log(n)[-5000:]}" for n in ("i0", "i1", "i2")
                         if os.path.exists(os.path.join(self.topics.tmp.name, f"{n}.log")))


class ScaleOutFaultTest(unittest.TestCase):
    def run_fault(self, fault, seed):
        t = Topics(PARTITIONS, properties=f"    session.timeout.ms: {SESSION_S * 1000}\n"
                                          f"    heartbeat.interval.ms: 1000\n",
                   state="  checkpoint_interval: 5s\n")
        self.addCleanup(t.tmp.cleanup)
        with open(t.config) as f:
            # No partition is ever quiet for 10 minutes here: the merge never skips one.
            base = f.read() + "scale_out:\n  partitions: 3\n  idle_after: 10m\n"
        real, last_ts, lines = stream(seed, t.tmp.name)
        replay = subprocess.run([AW, "replay", "--config", t.config, "--input", "-", "--output", "-",
                                 "--dead-letter", os.path.join(t.tmp.name, "r.jsonl")],
                                input=b"\n".join(lines) + b"\n", capture_output=True, timeout=300)
        self.assertEqual(replay.returncode, 0, replay.stderr)
        horizon = last_ts[:13]

        def due(d):
            return d["action"] != "unblock" or d["ts"] < horizon
        expected = {d["decision_id"] for d in map(json.loads, replay.stdout.decode().splitlines()) if due(d)}
        self.assertTrue(expected)

        cluster = Cluster(t, base)
        for n in ("i0", "i1", "i2"):
            cluster.start(n)
        offsets = Offsets(t)
        rng = random.Random(seed * 31 + len(fault))
        producing = threading.Thread(target=self.produce, args=(t, lines), daemon=True)
        started = time.time()
        producing.start()
        events = []
        try:
            self.inject(fault, cluster, rng, started, events)
            producing.join(SECONDS + 120)
            for n in ("i0", "i1", "i2"):
                if n not in cluster.running:
                    cluster.start(n)
            produced_at = time.time()
            total = len(lines)
            caught_up = wait_for(lambda: sum(offsets.values[-1] if offsets.values else [0]) >= total, 60, step=0.5)
            lag_s = round(time.time() - produced_at, 1)
            got, counts = {}, {}

            def complete():
                for m in t.read(t.decisions, timeout=5):
                    d = json.loads(m.value())
                    if due(d):
                        got[d["decision_id"]] = d
                        counts[d["decision_id"]] = counts.get(d["decision_id"], 0) + 1
                return expected <= set(got)
            wait_for(complete, 60, step=3)
            counts.clear()
            complete()  # one full read: repeats counted once
            for n in list(cluster.running):
                cluster.stop(n)
        finally:
            offsets.close()
            for e in list(cluster.running.values()):
                if e.p.poll() is None:
                    e.kill()
        missing = sorted(expected - set(got))
        invented = sorted(set(got) - expected)
        repeats = sum(c - 1 for c in counts.values())
        disorder = order_violations(t.read(t.decisions, timeout=10))
        gaps = sequence_gaps(t.read(t.events, timeout=600, expect=len(lines)))
        verify_config = os.path.join(t.tmp.name, "verify.yaml")
        with open(verify_config, "w") as f:
            f.write(base)
        state, state_errors = verify_state(verify_config)
        logs = cluster.logs_full()
        evidence = {"fenced": logs.count(" (lost)"),  # revocations of a member whose session expired
                    "restored_shards": sum(1 for l in logs.splitlines() if " shard " in l and " from offset " in l
                                           and not l.endswith("from offset committed")),
                    "rebalances": logs.count("assigned "),
                    "consumers_replaced": logs.count("replacing the consumer and joining again")}
        result = {"suite": "scale-out", "fault": fault, "seed": seed, "seconds": SECONDS, "events": len(real),
                  "accounts": ACCOUNTS, "days": DAYS,
                  "instances": 3, "partitions": PARTITIONS, "decisions": len(expected), "missing": len(missing),
                  "invented": len(invented), "repeats": repeats, "order_violations": len(disorder), "offsets_backwards": len(offsets.backwards()),
                  "sequence_gaps": len(gaps), "snapshots_checked": state.get("snapshots", 0),
                  "snapshots_differ": state.get("differ", -1) + state.get("unreadable", 0),
                  "caught_up": caught_up, "lag_zero_after_s": lag_s, **evidence, "faults": events}
        print(json.dumps(result), file=sys.stderr)
        if RESULTS:
            with open(RESULTS, "a") as f:
                f.write(json.dumps(result) + "\n")
        self.assertTrue(caught_up, cluster.logs())
        self.assertLessEqual(lag_s, 30, "the lag is back to zero within 30 s of the last event")
        self.assertEqual(offsets.backwards(), [], "committed offsets never go backwards")
        self.assertEqual(missing, [], f"decisions missing\n{cluster.logs()}")
        self.assertEqual(invented, [], f"decisions invented\n{cluster.logs()}")
        self.assertEqual(disorder, [], "each key's decisions in the order of their triggering events")
        if fault == "crash":
            self.assertEqual([e["point"] for e in events if e.get("crashed")],
                             ["mid-checkpoint", "mid-restore", "after-decision"],
                             f"every crash point was reached\n{cluster.logs()}")
        self.assertEqual(gaps[:10], [], "every account's events in the input, whole and in order")
        self.assertEqual(state.get("exit"), 0, f"every snapshot's state equals the oracle's\n{state_errors}")
        self.assertGreater(state.get("equal", 0), 3 * PARTITIONS, "snapshots of every shard were checked")

    def produce(self, t, lines):
        """The stream at a steady rate over SECONDS, each event to its account's partition."""
        def paced():
            start, n = time.time(), len(lines)
            for i, l in enumerate(lines):
                if i % 500 == 0:  # paced in chunks: a sleep per event would not keep up with 20,000/s
                    time.sleep(max(0.0, start + SECONDS * i / n - time.time()))
                yield l
        t.produce(paced(), partition=partition_of)

    def inject(self, fault, cluster, rng, started, events):
        def at(s):
            time.sleep(max(0.0, s - (time.time() - started)))
        if fault == "none":
            return
        if fault == "kill9":
            t = rng.uniform(10, 15)
            while t < SECONDS - 5:
                at(t)
                victim = rng.choice(sorted(cluster.running))
                cluster.kill(victim)
                down = rng.uniform(2, 5)
                events.append({"at_s": round(t, 1), "kill9": victim, "down_s": round(down, 1)})
                time.sleep(down)
                cluster.start(victim)
                t += rng.uniform(10, 15)
        elif fault == "stop":
            t = rng.uniform(8, 12)
            while t < SECONDS - 12:
                at(t)
                victim = rng.choice(sorted(cluster.running))
                pid = cluster.running[victim].p.pid
                os.kill(pid, signal.SIGSTOP)
                paused = SESSION_S + rng.uniform(3, 5)
                events.append({"at_s": round(t, 1), "sigstop": victim, "paused_s": round(paused, 1)})
                time.sleep(paused)
                os.kill(pid, signal.SIGCONT)
                t += paused + rng.uniform(8, 12)
        elif fault == "scale":
            # 3 -> 2 -> 3 -> 1 -> 3, a step every SECONDS/5.
            steps = [("stop", ["i2"]), ("start", ["i2"]), ("stop", ["i1", "i2"]), ("start", ["i1", "i2"])]
            for k, (what, names) in enumerate(steps):
                at(SECONDS * (k + 1) / 5)
                for n in names:
                    cluster.stop(n) if what == "stop" else cluster.start(n)
                events.append({"at_s": round(time.time() - started, 1), what: names,
                               "instances": len(cluster.running)})
        elif fault == "broker":
            for k in range(2):
                at(SECONDS * (k + 1) / 3)
                kafka_sh("kill9")
                time.sleep(5)
                kafka_sh("restart")
                events.append({"at_s": round(time.time() - started, 1), "broker": "kill9, restart after 5 s"})
        elif fault == "crash":
            # One instance, restarted at each point in turn: its crash mid-checkpoint leaves
            # snapshots older than the committed offsets, so the next start re-reads (mid-restore).
            at(SECONDS * 0.2)
            victim = rng.choice(sorted(cluster.running))
            cluster.stop(victim)
            for point in ("mid-checkpoint", "mid-restore", "after-decision"):
                cluster.start(victim, env={"AUTHWATCH_TEST_CRASH_AT": point})
                engine = cluster.running.pop(victim)
                try:
                    engine.p.wait(SECONDS)
                    engine.log.close()
                except subprocess.TimeoutExpired:
                    engine.stop(60)
                crashed = f"AUTHWATCH_TEST_CRASH_AT={point}: killing" in cluster.log(victim)
                events.append({"at_s": round(time.time() - started, 1), "crash": victim, "point": point,
                               "crashed": crashed})
            cluster.start(victim)
        else:
            raise ValueError(f"unknown fault {fault}")


def make_test(fault, seed):
    def test(self):
        self.run_fault(fault, seed)
    return test


for _fault in FAULTS:
    for _seed in SEEDS:
        setattr(ScaleOutFaultTest, f"test_{_fault}_seed{_seed}", make_test(_fault, _seed))

if __name__ == "__main__":
    unittest.main(verbosity=2)
