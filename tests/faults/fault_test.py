#!/usr/bin/env python3
"""Fault injection for `authwatch run` with durable state, against a real broker (issue #8).

A labelled scenario stream (tests/scenarios/generate.py, planted attacks) is produced at a steady
rate into a one-partition topic while one engine consumes it with durable state on (checkpoints
every 5 s), and faults are injected for the whole stream:

  none      baseline: no fault
  kill9     SIGKILL the engine every 10-15 s, restart it after 2-5 s
  broker    SIGKILL the broker, restart it after 5 s, twice
  crash     the engine kills itself at chosen points: mid-checkpoint (chunks written, manifest
            not), mid-restore (re-reading after the snapshot), after a decision is on the broker
            and before its offset is stored
  network   the engine reaches the broker only through a TCP proxy (toxiproxy, on loopback; the
            broker's PROXIED listener advertises the proxy's port, so consumer, producer and state
            clients all go through it, checked with ss); every 8-12 s, for 2-4 s, a burst of
            300-1500 ms latency with jitter both ways, connection resets (reset_peer) or a
            black hole that then closes the connections (timeout), in a seeded rotation. The
            test's own producer and checkers connect to the broker directly

The oracle is `authwatch replay` of the same events, single-threaded. Checkers on the final output:
every decision of the oracle is on the decisions topic (none missing), nothing else is (none
invented), repeats are only of the same decision_id (at least once) and counted; the committed offset
never goes backwards (sampled every 0.5 s); the lag returns to zero within 30 s of the last event;
every snapshot the engine completed (the state topic's history) holds exactly the state of the
oracle at the snapshot's offset (`authwatch verify-state`, equal digests); every account's events
are in the input whole and in order (per-account sequence numbers).

Started by tests/faults/run.sh (which starts the broker); tier and seeds from the environment:
AUTHWATCH_FAULTS (default "none kill9 broker crash"), AUTHWATCH_FAULT_SEEDS (default "7"),
AUTHWATCH_FAULT_SECONDS (default 45), AUTHWATCH_FAULT_ACCOUNTS and AUTHWATCH_FAULT_DAYS (the stream's
size, default 600 accounts over one day) and AUTHWATCH_FAULT_RESULTS (a JSON lines file to append to).
The network fault also needs AUTHWATCH_KAFKA_PROXIED (LISTEN:PROXY ports of the broker's PROXIED
listener, as given to deploy/kafka/kafka.sh), AUTHWATCH_TOXIPROXY (the server binary, from
tests/faults/install-toxiproxy.sh) and AUTHWATCH_TOXIPROXY_API (host:port of its HTTP API).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from kafka_test import (AW, BOOTSTRAP, KAFKA_DIR, ROOT, Engine, Topics, kafka_sh, names_from_env,  # noqa: E402
                        sequence_gaps, verify_state, wait_for)

FAULTS = names_from_env("AUTHWATCH_FAULTS", "none kill9 broker crash",
                        ("none", "kill9", "broker", "crash", "network"))
SEEDS = [int(s) for s in os.environ.get("AUTHWATCH_FAULT_SEEDS", "7").split()]
SECONDS = float(os.environ.get("AUTHWATCH_FAULT_SECONDS", "45"))
# The stream: 600 accounts over a day (~70,000 events) unless AUTHWATCH_FAULT_ACCOUNTS over
# AUTHWATCH_FAULT_DAYS say otherwise (4,000 over three days: ~1,000,000).
ACCOUNTS = int(os.environ.get("AUTHWATCH_FAULT_ACCOUNTS", "600"))
DAYS = int(os.environ.get("AUTHWATCH_FAULT_DAYS", "1"))
RESULTS = os.environ.get("AUTHWATCH_FAULT_RESULTS", "")
LOGS = os.path.join(ROOT, "var", "faults")  # the logs of each test's last run, for a post-mortem
PROXIED = os.environ.get("AUTHWATCH_KAFKA_PROXIED", "")
TOXIPROXY = os.environ.get("AUTHWATCH_TOXIPROXY", os.path.join(ROOT, "var", "tools", "bin", "toxiproxy-server"))
TOXIPROXY_API = os.environ.get("AUTHWATCH_TOXIPROXY_API", "127.0.0.1:19296")


def scenario(seed, tmp):
    """A labelled stream with every campaign kind: ACCOUNTS accounts over DAYS days."""
    events = os.path.join(tmp, f"events-{seed}.jsonl")
    labels = os.path.join(tmp, f"labels-{seed}.json")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "scenarios", "generate.py"), "--seed", str(seed),
                    "--accounts", str(ACCOUNTS), "--days", str(DAYS), "--out", events, "--labels", labels, "--seq"],
                   check=True, capture_output=True, timeout=300)
    with open(events, "rb") as f:
        return [l.rstrip(b"\n") for l in f if l.strip()]


class Committed:
    """Samples the group's committed offset; remembers whether it ever went backwards."""

    def __init__(self, topics):
        self.topics, self.values, self.times, self.stop = topics, [], [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                self.values.append(self.topics.committed())
                self.times.append(round(time.time(), 2))
            except Exception:  # the broker may be down: that is the point of some faults
                pass
            self.stop.wait(0.5)

    def backwards(self):
        return [(a, b) for a, b in zip(self.values, self.values[1:]) if b < a]

    def close(self):
        self.stop.set()
        self.thread.join(10)


class Toxiproxy:
    """A toxiproxy server on loopback with one proxy, 127.0.0.1:LISTEN -> the broker's PROXIED
    listener, driven through its HTTP API."""

    def __init__(self, listen, upstream, log):
        host, port = TOXIPROXY_API.rsplit(":", 1)
        self.api = f"http://{TOXIPROXY_API}"
        self.log = open(log, "ab")
        self.p = subprocess.Popen([TOXIPROXY, "-host", host, "-port", port, "-seed", "1"],
                                  stdout=self.log, stderr=self.log)
        self.toxics = []
        if not wait_for(self.answers, 10, step=0.1):
            self.close()
            raise RuntimeError(f"toxiproxy did not answer on {self.api} (log: {log})")
        self.call("POST", "/proxies", {"name": "kafka", "listen": listen, "upstream": upstream, "enabled": True})

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.api + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read()

    def answers(self):
        try:
            return self.p.poll() is None and bool(self.call("GET", "/version"))
        except OSError:
            return False

    def add(self, name, kind, stream, **attributes):
        self.call("POST", "/proxies/kafka/toxics", {"name": name, "type": kind, "stream": stream, "toxicity": 1.0,
                                                    "attributes": attributes})
        self.toxics.append(name)

    def clear(self):
        # Removing a timeout toxic closes the connections it held (toxiproxy's Cleanup), so no
        # connection goes on with bytes missing from its stream.
        while self.toxics:
            self.call("DELETE", "/proxies/kafka/toxics/" + self.toxics.pop())

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)
        self.log.close()


class Sockets:
    """Samples process pid's TCP connections (any state but listening) with ss every 0.5 s: which
    peers it talks to, and a timeline of its connections (state, queues) for a post-mortem."""

    def __init__(self, pid):
        self.pid, self.peers, self.lines, self.stop = pid, set(), [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, timeout=10).stdout
            now = time.time()
            for line in out.splitlines():
                if f"pid={self.pid}," in line:
                    state, recv_q, send_q, local, peer = line.split()[:5]
                    self.peers.add(peer)
                    self.lines.append(f"{now:.1f} {state} {recv_q} {send_q} {local} {peer}")
            self.stop.wait(0.5)

    def close(self):
        self.stop.set()
        self.thread.join(15)


# One burst of the network fault, in a seeded rotation: every kind happens in a 45 s run.
BURSTS = ["latency+reset", "latency+timeout", "latency", "reset"]


def burst(proxy, kind, rng, seconds):
    """One burst of `seconds`: latency, then (or only) resets or a black hole; no toxic is left
    after it. Returns a description for the results."""
    desc = {"kind": kind, "s": round(seconds, 1)}
    end = time.time() + seconds
    if "latency" in kind:
        latency = rng.randint(300, 1500)
        jitter = rng.randint(latency // 10, latency // 2)
        for stream in ("upstream", "downstream"):
            proxy.add(f"latency_{stream}", "latency", stream, latency=latency, jitter=jitter)
        desc.update(latency_ms=latency, jitter_ms=jitter)
        if kind != "latency":
            # Latency first, then the connections break. Toxics act in the order they were added:
            # behind the latency a reset would see only the trickle of data the latency lets through.
            time.sleep(rng.uniform(0.4, 0.6) * seconds)
            proxy.clear()  # a latency toxic delivers what it holds when removed, drops nothing
    stream = rng.choice(["upstream", "downstream"])
    if "reset" in kind:
        # RST on the first data through the proxy, after `timeout` ms: every connection that
        # carries a request or response dies, and every new one too until the burst ends.
        timeout = rng.choice([0, 0, 100, 500])
        proxy.add("reset", "reset_peer", stream, timeout=timeout)
        desc.update(reset_stream=stream, reset_timeout_ms=timeout)
    elif "timeout" in kind:
        # A black hole: data is held back (dropped by the proxy) and the connection closed after
        # `timeout` ms, or when the toxic is removed.
        timeout = rng.randint(500, 2000)
        proxy.add("timeout", "timeout", stream, timeout=timeout)
        desc.update(timeout_stream=stream, timeout_ms=timeout)
    time.sleep(max(0.0, end - time.time()))
    proxy.clear()
    return desc


class FaultTest(unittest.TestCase):
    def run_fault(self, fault, seed):
        t = Topics(state="  checkpoint_interval: 5s\n")
        self.addCleanup(t.tmp.cleanup)
        proxy = None
        if fault == "network":
            if not PROXIED:
                self.skipTest("the network fault needs the broker's PROXIED listener (tests/faults/run.sh sets it)")
            upstream, listen = (f"127.0.0.1:{p}" for p in PROXIED.split(":"))
            proxy = Toxiproxy(listen, upstream, os.path.join(t.tmp.name, "toxiproxy.log"))
            self.addCleanup(proxy.close)
            # Only the engine goes through the proxy; the test's producer and checkers do not.
            with open(t.config) as f:
                config = f.read()
            self.assertEqual(config.count(f"bootstrap.servers: {BOOTSTRAP}\n"), 1)
            with open(t.config, "w") as f:
                f.write(config.replace(f"bootstrap.servers: {BOOTSTRAP}\n", f"bootstrap.servers: {listen}\n"))
        lines = scenario(seed, t.tmp.name)
        oracle = subprocess.run([AW, "replay", "--config", t.config, "--input", "-", "--output", "-",
                                 "--dead-letter", os.path.join(t.tmp.name, "oracle-dl.jsonl")],
                                input=b"\n".join(lines) + b"\n", capture_output=True, timeout=300)
        self.assertEqual(oracle.returncode, 0, oracle.stderr)
        expected = {json.loads(l)["decision_id"] for l in oracle.stdout.decode().splitlines()}
        self.assertGreater(len(expected), 10, "the scenario's attacks give decisions")
        log = os.path.join(t.tmp.name, "engine.log")
        # crc32, not hash(): str hashes differ per process (PYTHONHASHSEED), so a seed would not
        # give the same fault schedule twice.
        rng = random.Random(seed * 1000 + zlib.crc32(fault.encode()) % 1000)

        # The stream arrives at a steady rate over SECONDS while the faults happen.
        done = threading.Event()
        chunk = max(1, len(lines) // int(SECONDS * 4))

        produced = [0.0]  # when the last chunk was on the broker

        def produce():
            for i in range(0, len(lines), chunk):
                for _ in range(60):
                    try:
                        t.produce(lines[i:i + chunk])
                        produced[0] = time.time()
                        break
                    except Exception:
                        time.sleep(1)  # broker down: retry this chunk
                time.sleep(0.25)
            done.set()

        committed = Committed(t)
        producer = threading.Thread(target=produce, daemon=True)
        engine = Engine(t.config, log)
        producer.start()
        kills = restarts = 0
        crashed, bursts, sockets = [], [], None
        started = time.time()
        if fault == "kill9":
            while not done.is_set():
                time.sleep(rng.uniform(10, 15))
                if done.is_set():
                    break
                engine.kill()
                kills += 1
                time.sleep(rng.uniform(2, 5))
                engine = Engine(t.config, log)
        elif fault == "broker":
            for _ in range(2):
                time.sleep(rng.uniform(8, 12))
                kafka_sh("kill9")
                time.sleep(5)
                kafka_sh("restart")
                restarts += 1
        elif fault == "crash":
            # Crashes at chosen points, one engine after the other (AUTHWATCH_TEST_CRASH_AT, see
            # engine/stream/kafka_service.cc): mid-checkpoint (chunks written, manifest not),
            # mid-restore (re-reading the events after the snapshot), after a decision is on the
            # broker but before its offset is stored. Each engine kills itself there.
            engine.stop()
            for point in ("mid-checkpoint", "mid-restore", "after-decision"):
                engine = Engine(t.config, log, env={"AUTHWATCH_TEST_CRASH_AT": point})
                try:
                    engine.p.wait(SECONDS)
                    kills += 1
                    crashed.append(point)
                except subprocess.TimeoutExpired:
                    engine.stop()
                engine.log.close()
            engine = Engine(t.config, log)
        elif fault == "network":
            sockets = Sockets(engine.p.pid)
            first = rng.randrange(len(BURSTS))
            wait = rng.uniform(4, 8)  # the first burst comes sooner: a 30 s stream gets three
            while not done.wait(wait):
                seconds = rng.uniform(2, 4)
                bursts.append(burst(proxy, BURSTS[(first + len(bursts)) % len(BURSTS)], rng, seconds))
                wait = max(0.5, rng.uniform(8, 12) - seconds)
        producer.join()
        last_event = time.time()
        caught_up = wait_for(lambda: t.committed() == len(lines), 30 + (10 if fault == "broker" else 0), step=0.25)
        lag_s = time.time() - last_event
        # The fault loops notice the end of the stream only between faults, so last_event can be a
        # few seconds after the last chunk was produced; this one counts from the chunk.
        lag_produced_s = time.time() - produced[0]
        if sockets:
            sockets.close()
        rc = engine.stop(timeout=60)
        committed.close()
        got = [json.loads(m.value())["decision_id"] for m in t.read(t.decisions, timeout=60)]  # until 2 s idle
        missing = expected - set(got)
        invented = set(got) - expected
        repeats = len(got) - len(set(got))
        gaps = sequence_gaps(t.read(t.events, timeout=600, expect=len(lines)))
        verify_config = os.path.join(t.tmp.name, "verify.yaml")  # the broker directly, not the proxy
        with open(t.config) as f, open(verify_config, "w") as g:
            g.write(f.read().replace(f"bootstrap.servers: {listen}\n", f"bootstrap.servers: {BOOTSTRAP}\n")
                    if proxy else f.read())
        state, state_errors = verify_state(verify_config)
        with open(log, errors="replace") as f:
            text = f.read()
        result = {"fault": fault, "seed": seed, "events": len(lines), "expected": len(expected), "written": len(got),
                  "missing": len(missing), "invented": len(invented), "repeats": repeats, "engine_kills": kills,
                  "broker_restarts": restarts, "crash_points": crashed, "checkpoints": text.count("state: checkpoint "),
                  "restores": text.count("state: restored snapshot"), "re_read": text.count("restore complete"),
                  "committed_backwards": len(committed.backwards()), "sequence_gaps": len(gaps),
                  "snapshots_checked": state.get("snapshots", 0),
                  "snapshots_differ": state.get("differ", -1) + state.get("unreadable", 0), "lag_zero_after_s": round(lag_s, 1),
                  "lag_zero_after_produced_s": round(lag_produced_s, 1),
                  "wall_s": round(time.time() - started, 1)}
        if proxy:
            with open(os.path.join(t.tmp.name, "toxiproxy.log"), errors="replace") as f:
                accepted = f.read().count('"message":"Accepted client"')
            result.update(bursts=bursts, engine_peers=sorted(sockets.peers), proxy_connections=accepted,
                          all_brokers_down_logged=text.count("All broker connections are down"))
        print("RESULT " + json.dumps(result), flush=True)
        keep = os.path.join(LOGS, f"{fault}-seed{seed}")
        shutil.rmtree(keep, ignore_errors=True)
        os.makedirs(keep)
        for name in ("engine.log", "toxiproxy.log", "authwatch.yaml"):
            if os.path.exists(os.path.join(t.tmp.name, name)):
                shutil.copy(os.path.join(t.tmp.name, name), keep)
        if sockets:
            with open(os.path.join(keep, "sockets.txt"), "w") as f:
                f.write("time state recv-q send-q local peer (the engine's TCP connections, every 0.5 s)\n")
                f.writelines(line + "\n" for line in sockets.lines)
        server_log = os.path.join(KAFKA_DIR, "node1", "logs", "server.log")
        if os.path.exists(server_log):
            shutil.copy(server_log, keep)  # the broker's side: group membership, sessions
        with open(os.path.join(keep, "committed.json"), "w") as f:
            json.dump({"result": result, "produced_at": produced[0], "last_event": last_event,
                       "committed": list(zip(committed.times, committed.values))}, f)
        if RESULTS:
            with open(RESULTS, "a") as f:
                f.write(json.dumps(result) + "\n")
        self.assertTrue(caught_up, f"lag back to zero within 30 s of the last event\n{text[-3000:]}")
        self.assertEqual(rc, 0, text[-3000:])
        self.assertEqual(sorted(missing), [], "no decision of the oracle missing")
        self.assertEqual(sorted(invented), [], "no decision the oracle does not make")
        self.assertEqual(committed.backwards(), [], "committed offsets never go backwards")
        self.assertEqual(gaps[:10], [], "every account's events in the input, whole and in order")
        self.assertEqual(state.get("exit"), 0, f"every snapshot's state equals the oracle's\n{state_errors}")
        self.assertGreater(state.get("equal", 0), 1, "snapshots were checked")
        if fault in ("kill9", "crash"):
            self.assertGreater(text.count("state: restored snapshot"), 0, "restarts restored a snapshot")
        if fault == "network":
            # The fault is real only if the engine's traffic went through the proxy, all of it.
            self.assertTrue(sockets.peers, "the engine had TCP connections (ss)")
            self.assertEqual(sorted(sockets.peers), [listen], "every engine connection goes to the proxy")
            self.assertGreaterEqual(len(bursts), 2, "bursts happened while the stream ran")
        if fault == "crash":
            self.assertEqual(crashed, ["mid-checkpoint", "mid-restore", "after-decision"], "every crash point was reached")


def make(fault, seed):
    return lambda self: self.run_fault(fault, seed)


for _fault in FAULTS:
    for _seed in SEEDS:
        setattr(FaultTest, f"test_{_fault}_seed{_seed}", make(_fault, _seed))


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
