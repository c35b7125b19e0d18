#!/usr/bin/env python3
"""End-to-end tests of `authwatch replay`, `check` and `explain` on the Release binary with the
shipped config, rules and the real DB-IP databases installed by deploy/setup.sh.

Run from the repository root: python3 tests/e2e/replay_test.py"""
import base64
import gzip
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AW = os.path.join(ROOT, "build", "bin", "authwatch")
CONFIG = os.path.join(ROOT, "deploy", "authwatch.yaml")
SAMPLE_GZ = os.path.join(ROOT, "deploy", "samples", "events.jsonl.gz")
_sample_dir = tempfile.TemporaryDirectory()
SAMPLE = os.path.join(_sample_dir.name, "events.jsonl")
with gzip.open(SAMPLE_GZ, "rb") as src, open(SAMPLE, "wb") as dst:
    dst.write(src.read())


def run(args, stdin=b"", timeout=120):
    p = subprocess.run([AW] + args, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def ev(ts, account, ip, result, protocol="imap", **extra):
    e = {"ts": ts, "account": account, "ip": ip, "result": result, "protocol": protocol}
    e.update(extra)
    return json.dumps(e)


class ReplayEnrichedTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dead = os.path.join(self.tmp.name, "dead.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def replay(self, lines, *extra):
        data = ("\n".join(lines) + "\n").encode() if isinstance(lines, list) else lines
        return run(["replay", "--config", CONFIG, "--emit", "enriched", "--input", "-", "--output", "-",
                    "--dead-letter", self.dead, *extra], stdin=data)

    def test_real_addresses_enrich_to_their_country_and_network(self):
        rc, out, err = self.replay([
            ev("2026-11-02T08:15:30Z", "a@mail.example", "8.8.8.8", "success"),
            ev("2026-11-02T08:15:31Z", "b@mail.example", "2001:4860:4860::8888", "failure"),
            ev("2026-11-02T08:15:32Z", "c@mail.example", "::ffff:1.1.1.1", "success"),
        ])
        self.assertEqual(rc, 0, err)
        rows = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows[0]["geo"]["country"], "US")
        self.assertEqual(rows[0]["geo"]["asn"], 15169)
        self.assertEqual(rows[0]["prefix"], "8.8.8.0/24")
        self.assertIn("lat", rows[0]["geo"])
        self.assertRegex(rows[1]["geo"]["country"], "^[A-Z]{2}$")  # DB-IP places it in Montreal
        self.assertEqual(rows[1]["geo"]["asn"], 15169)
        self.assertEqual(rows[1]["prefix"], "2001:4860:4860::/64")
        self.assertEqual(rows[2]["ip"], "1.1.1.1", "IPv4-mapped addresses are normalised")
        self.assertEqual(rows[2]["geo"]["asn"], 13335)

    def test_private_address_is_enriched_empty_not_rejected(self):
        rc, out, err = self.replay([ev("2026-11-02T08:15:30Z", "a@mail.example", "10.1.2.3", "success")])
        self.assertEqual(rc, 0, err)
        row = json.loads(out)
        self.assertEqual(row["geo"], {})
        self.assertEqual(row["prefix"], "10.1.2.0/24")

    def test_every_bad_record_is_dead_lettered_with_reason_and_bytes(self):
        bad = [
            b"not json",
            b'{"ts":"2026-11-02T08:15:30Z","account":"a","ip":"999.1.1.1","result":"success"}',
            b'{"ts":"yesterday","account":"a","ip":"8.8.8.8","result":"success"}',
            b'{"ts":"2026-11-02T08:15:30Z","ip":"8.8.8.8","result":"success"}',
            b'{"ts":"2026-11-02T08:15:30Z","account":"a","ip":"8.8.8.8","result":"maybe"}',
            b'{"ts":"2026-11-02T08:15:30Z","account":"\xff\xfe","ip":"8.8.8.8","result":"success"}',
            b"\x00\x01\x02binary\xff",
        ]
        good = ev("2026-11-02T08:15:30Z", "a@mail.example", "8.8.8.8", "success").encode()
        rc, out, err = self.replay(b"\n".join([good] + bad + [good]) + b"\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 2, "good records around bad ones all come through")
        with open(self.dead) as f:
            letters = [json.loads(l) for l in f]
        self.assertEqual([l["reason"] for l in letters],
                         ["invalid_json", "bad_ip", "bad_time", "missing_field", "bad_result", "invalid_utf8",
                          "invalid_utf8"])
        self.assertEqual([l["source"] for l in letters], [f"stdin:{i}" for i in range(2, 9)])
        for l, raw in zip(letters, bad):
            self.assertEqual(base64.b64decode(l["raw_base64"]), raw)
            self.assertTrue(l["detail"])
        self.assertIn("9 events read, 2 accepted, 7 rejected", err)
        self.assertIn("rejected bad_ip: 1", err)

    def test_oversized_record_is_rejected_and_the_next_one_processed(self):
        huge = ev("2026-11-02T08:15:30Z", "a@mail.example", "8.8.8.8", "success", user_agent="x" * 100000)
        rc, out, err = self.replay([huge, ev("2026-11-02T08:15:31Z", "a@mail.example", "8.8.8.8", "success")])
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 1)
        with open(self.dead) as f:
            self.assertEqual(json.loads(f.readline())["reason"], "oversize")

    def test_missing_config_or_database_is_a_clear_startup_error(self):
        rc, out, err = run(["replay", "--config", "/nonexistent.yaml"])
        self.assertEqual(rc, 2)
        self.assertIn("/nonexistent.yaml", err)
        cfg = os.path.join(self.tmp.name, "c.yaml")
        with open(cfg, "w") as f:
            f.write("geoip:\n  databases: [missing.mmdb]\nrules:\n  paths: [%s]\n" % os.path.join(ROOT, "rules"))
        rc, out, err = run(["replay", "--config", cfg, "--input", "-"], stdin=b"")
        self.assertEqual(rc, 2)
        self.assertIn("missing.mmdb", err)

    def test_protobuf_input(self):
        # A length-delimited stream written by protobuf's own encoder (python3-protobuf is not
        # assumed): hand-encode the few fields with varints.
        def field(num, wire, payload):
            return bytes([(num << 3) | wire]) + payload

        def varint(n):
            out = b""
            while True:
                b = n & 0x7F
                n >>= 7
                out += bytes([b | (0x80 if n else 0)])
                if not n:
                    return out

        def s(num, text):
            raw = text.encode()
            return field(num, 2, varint(len(raw)) + raw)

        msg = field(1, 0, varint(1762071330123)) + s(2, "p@mail.example") + s(3, "8.8.8.8") + field(4, 0, varint(1)) + s(5, "smtp")
        stream = varint(len(msg)) + msg
        rc, out, err = run(["replay", "--config", CONFIG, "--emit", "enriched", "--format", "protobuf", "--input", "-",
                            "--output", "-", "--dead-letter", self.dead], stdin=stream)
        self.assertEqual(rc, 0, err)
        row = json.loads(out)
        self.assertEqual(row["account"], "p@mail.example")
        self.assertEqual(row["protocol"], "smtp")
        self.assertEqual(row["geo"]["country"], "US")
        # A stream cut inside its last record: that record is read, rejected and dead-lettered
        # with its position, and the summary still adds up (read = accepted + rejected + skipped).
        rc, out, err = run(["replay", "--config", CONFIG, "--emit", "enriched", "--format", "protobuf", "--input", "-",
                            "--output", "-", "--dead-letter", self.dead], stdin=stream + stream[:-3])
        self.assertEqual(rc, 0, err)
        self.assertIn("2 events read, 1 accepted, 1 rejected, 0 skipped", err)
        with open(self.dead) as f:
            dead = [json.loads(line) for line in f]
        self.assertEqual([(d["reason"], d["source"]) for d in dead], [("bad_protobuf", "stdin:2")])


class ReplayDecisionsTest(unittest.TestCase):
    def test_shipped_sample_produces_explained_decisions(self):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out, err = run(["replay", "--config", CONFIG, "--input", SAMPLE, "--output", "-",
                                "--dead-letter", os.path.join(tmp, "d.jsonl")])
        self.assertEqual(rc, 0, err)
        decisions = [json.loads(l) for l in out.splitlines()]
        self.assertTrue(decisions, "the sample contains attacks")
        for d in decisions:
            for key in ("decision_id", "ts", "subject", "action", "scope", "rule", "reasons", "evidence"):
                self.assertIn(key, d)
            self.assertTrue(d["reasons"])
        rules = {d["rule"] for d in decisions}
        self.assertGreaterEqual(len(rules), 3, rules)

    def test_replay_is_deterministic(self):
        with tempfile.TemporaryDirectory() as tmp:
            outs = []
            for i in range(2):
                rc, out, err = run(["replay", "--config", CONFIG, "--input", SAMPLE, "--output", "-",
                                    "--dead-letter", os.path.join(tmp, "d.jsonl")])
                self.assertEqual(rc, 0, err)
                outs.append(out)
        self.assertEqual(outs[0], outs[1])

    def test_monitor_mode_rule_writes_dry_run_decisions(self):
        with tempfile.TemporaryDirectory() as tmp:
            rules = os.path.join(tmp, "r.yaml")
            with open(rules, "w") as f:
                f.write("- rule: dry\n  key: ip\n  window: 10m\n  mode: monitor\n  when:\n"
                        "    - count: {result: failure}\n      at_least: 3\n  then:\n    - {action: block, ttl: 1h}\n")
            cfg = os.path.join(tmp, "c.yaml")
            with open(cfg, "w") as f:
                f.write("geoip:\n  databases: [%s]\nrules:\n  paths: [%s]\n" % (
                    os.path.join(ROOT, "var", "geoip", "asn.mmdb"), rules))
            lines = "".join(ev(f"2026-11-02T08:15:3{i}Z", "x@mail.example", "45.155.205.23", "failure") + "\n"
                            for i in range(3))
            rc, out, err = run(["replay", "--config", cfg, "--input", "-", "--output", "-",
                                "--dead-letter", os.path.join(tmp, "d.jsonl")], stdin=lines.encode())
        self.assertEqual(rc, 0, err)
        d = json.loads(out)
        self.assertEqual(d["action"], "monitor")
        self.assertTrue(d["dry_run"])
        self.assertEqual(d["would_action"], "block")


class CheckAndExplainTest(unittest.TestCase):
    def test_check_accepts_shipped_rules_and_rejects_bad_ones(self):
        rc, out, err = run(["check", "--config", CONFIG])
        self.assertEqual(rc, 0, err)
        self.assertIn("0 error(s)", out)
        rc, out, err = run(["check", "--config", CONFIG, "--rules",
                            os.path.join(ROOT, "rules", "testdata", "bad", "bad-duration.yaml")])
        self.assertEqual(rc, 1)
        self.assertIn("bad-duration.yaml:3:11: error[E105]", err)
        self.assertIn("^", err)

    def test_empty_rule_directory_is_refused_not_run_without_rules(self):
        # An emptied rule directory (a failed deploy) must stop the engine, not run it blind.
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "c.yaml")
            with open(cfg, "w") as f:
                f.write("geoip:\n  databases: [%s]\nrules:\n  paths: [%s]\n" % (
                    os.path.join(ROOT, "var", "geoip", "asn.mmdb"), tmp + "/rules"))
            os.mkdir(os.path.join(tmp, "rules"))
            rc, out, err = run(["replay", "--config", cfg, "--input", "-", "--output", "-",
                                "--dead-letter", os.path.join(tmp, "d.jsonl")], stdin=b"")
            self.assertEqual(rc, 2, err)
            self.assertIn(tmp + "/rules: error[E111] no rules", err)
            rc, out, err = run(["check", "--config", cfg])
            self.assertEqual(rc, 1, err)
            self.assertIn("error[E111]", err)

    def test_explain_names_rules_and_reasons(self):
        rc, out, err = run(["explain", "--config", CONFIG, "--input", SAMPLE])
        self.assertEqual(rc, 0, err)
        self.assertIn("because ", out)
        self.assertIn("rules that fired:", out)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
