#!/usr/bin/env python3
"""Writes authwatch decision records to a Kafka topic, as `authwatch run` would, for tests/postfix/run.sh.

    decision.py create-topic TOPIC [--partitions N]
    decision.py block   TOPIC TYPE VALUE SCOPE [--ttl SECONDS]
    decision.py unblock TOPIC TYPE VALUE SCOPE

TYPE is a subject type (account, ip, prefix, asn); the record is keyed by VALUE, like the engine's.
`ts` is now and `expires` is now + TTL by the wall clock, which is what authwatch policyd expires by.
Prints the record it wrote. Bootstrap servers from AUTHWATCH_POSTFIX_BOOTSTRAP.
Needs Debian's python3-confluent-kafka (/usr/bin/python3)."""
import argparse
import datetime
import json
import os
import sys
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = os.environ.get("AUTHWATCH_POSTFIX_BOOTSTRAP", "127.0.0.1:19492")


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def record(action, subject_type, value, scope, ttl_s):
    now = datetime.datetime.now(datetime.timezone.utc)
    d = {"decision_id": uuid.uuid4().hex[:24], "ts": rfc3339(now),
         "subject": {"type": subject_type, "value": value}, "action": action, "scope": scope,
         "ttl_s": ttl_s}
    if action != "unblock":
        d["expires"] = rfc3339(now + datetime.timedelta(seconds=ttl_s))
    d.update({"rule": "postfix-test", "severity": "high", "offence": 1, "dry_run": False,
              "reasons": [f"tests/postfix/run.sh: {action} {subject_type} {value} in scope {scope}"],
              "evidence": {}})
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create-topic")
    c.add_argument("topic")
    c.add_argument("--partitions", type=int, default=2)
    for name in ("block", "unblock"):
        p = sub.add_parser(name)
        p.add_argument("topic")
        p.add_argument("type", choices=["account", "ip", "prefix", "asn", "account_ip"])
        p.add_argument("value")
        p.add_argument("scope")
        if name == "block":
            p.add_argument("--ttl", type=int, default=3600)
    a = ap.parse_args()

    if a.cmd == "create-topic":
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP, "log_level": 4})
        for f in admin.create_topics([NewTopic(a.topic, a.partitions, 1)]).values():
            f.result(30)
        return 0

    d = record(a.cmd, a.type, a.value, a.scope, a.ttl if a.cmd == "block" else 0)
    errors = []
    p = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    p.produce(a.topic, json.dumps(d, separators=(",", ":")).encode(), key=a.value.encode(),
              on_delivery=lambda err, msg: err and errors.append(err))
    if p.flush(30) or errors:
        print(f"decision.py: not delivered to {a.topic}: {errors or 'flush timed out'}", file=sys.stderr)
        return 1
    print(json.dumps(d, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
