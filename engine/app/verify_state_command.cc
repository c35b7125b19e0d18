// authwatch verify-state: checks every snapshot in the state topic's history against an
// offline, single-threaded run of the same rules on the input topics (stream/shard_oracle.h).
// The fault-injection suite runs it after each fault (issue #8: "per-partition state digest
// equals the oracle's"); an operator can run it too, to check a deployment's snapshots before
// trusting them. It reads the topics by assignment and joins no group.
#include <cstdio>
#include <map>

#include "app/command_line.h"
#include "app/commands.h"
#include "app/startup.h"
#include "core/json_writer.h"
#include "core/strings.h"
#include "stream/kafka_config.h"
#include "stream/shard_oracle.h"
#include "stream/state_store.h"
#include "stream/topic_admin.h"

namespace authwatch {
namespace {

constexpr char kUsage[] =
    "usage: authwatch verify-state --config FILE [--timeout-s N]\n"
    "Reads the config's input topics and every snapshot ever completed in its state topic (as\n"
    "long as compaction has not cleaned it up), runs the same rules offline on the input, and\n"
    "compares each snapshot's state digest with the oracle's at the snapshot's position. The\n"
    "input must still hold every record since the group started (retention): state built from\n"
    "records deleted since cannot be reproduced, and differs.\n"
    "Prints one JSON line per shard and a summary line; exits 1 if any snapshot differs or\n"
    "cannot be read.\n";

// Every input partition from its beginning to its current end, in offset order.
absl::StatusOr<std::vector<OracleInput>> ReadInputs(const AppConfig& config, int timeout_ms) {
  auto reader = MakeAssignedReader(config.kafka.properties, config.kafka.group_id + ".verify-state");
  if (!reader.ok()) return reader.status();
  std::unique_ptr<RdKafka::KafkaConsumer> consumer = *std::move(reader);
  std::vector<OracleInput> inputs;
  std::vector<RdKafka::TopicPartition*> assignment;
  std::map<std::pair<std::string, int32_t>, std::pair<size_t, int64_t>> open;  // -> input, end offset
  int32_t source = 0;
  for (const std::string& topic : config.kafka.input_topics) {
    auto count = PartitionCount(consumer.get(), topic, timeout_ms);
    if (!count.ok()) return count.status();
    for (int32_t p = 0; p < *count; ++p) {
      int64_t low = 0, high = 0;
      if (auto e = consumer->query_watermark_offsets(topic, p, &low, &high, timeout_ms); e != RdKafka::ERR_NO_ERROR) {
        return absl::UnavailableError(Cat("input ", topic, "/", p, ": ", RdKafka::err2str(e)));
      }
      inputs.push_back({topic, p, source++, {}});
      if (high > low) {
        open[{topic, p}] = {inputs.size() - 1, high};
        assignment.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
      }
    }
  }
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  while (!open.empty()) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(timeout_ms));
    if (m->err() == RdKafka::ERR__TIMED_OUT) {
      return absl::DeadlineExceededError(Cat("input topics not read to their end in ", timeout_ms, " ms"));
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      if (m->err() == RdKafka::ERR__FATAL) return absl::UnavailableError(Cat("input: ", m->errstr()));
      continue;  // end of a partition, transient errors
    }
    auto it = open.find({m->topic_name(), m->partition()});
    if (it == open.end()) continue;
    inputs[it->second.first].records.push_back(
        {m->offset(), std::string(static_cast<const char*>(m->payload()), m->len())});
    if (m->offset() + 1 >= it->second.second) open.erase(it);
  }
  consumer->close();
  return inputs;
}

// The shard an owner key names: "<group>/shard/<topic>/<partition>" in a scale-out deployment
// (the repartition topics are the network shards), anything else one instance's engine.
ShardId ParseOwner(const AppConfig& config, const std::string& owner) {
  const std::string shard_prefix = config.kafka.group_id + "/shard/";
  if (!owner.starts_with(shard_prefix)) return {ShardId::Kind::kSingle, "", -1};
  const std::string rest = owner.substr(shard_prefix.size());
  const size_t slash = rest.rfind('/');
  if (slash == std::string::npos) return {ShardId::Kind::kSingle, "", -1};  // not written by authwatch
  ShardId id{ShardId::Kind::kAccount, rest.substr(0, slash), std::atoi(rest.c_str() + slash + 1)};
  if (id.topic == config.scale_out.address_topic) id.kind = ShardId::Kind::kAddress;
  if (id.topic == config.scale_out.asn_topic) id.kind = ShardId::Kind::kAsn;
  return id;
}

}  // namespace

int RunVerifyState(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"config", "timeout-s"}, {"help"});
  if (!cl.ok() || cl->Has("help") || !cl->Has("config")) {
    if (!cl.ok()) std::fprintf(stderr, "authwatch verify-state: %s\n", std::string(cl.status().message()).c_str());
    std::fputs(kUsage, stderr);
    return cl.ok() && cl->Has("help") ? 0 : 2;
  }
  const int timeout_ms = std::atoi(cl->GetOr("timeout-s", "60").c_str()) * 1000;
  auto fail = [](const absl::Status& s) {
    std::fprintf(stderr, "authwatch verify-state: %s\n", std::string(s.message()).c_str());
    return 2;
  };
  auto config = StepLoadConfig(*cl->Get("config"));
  if (!config.ok()) return fail(config.status());
  if (!config->state.enabled()) return fail(absl::InvalidArgumentError("the config has no state: section"));
  auto databases = StepOpenGeoDatabases(*config);
  if (!databases.ok()) return fail(databases.status());
  auto rules = StepLoadRules(*config);
  if (!rules.ok()) return fail(rules.status());
  if (auto decoder = MakeDecoder(*config, config->input.format); !decoder.ok()) return fail(decoder.status());
  auto inputs = ReadInputs(*config, timeout_ms);
  if (!inputs.ok()) return fail(inputs.status());
  auto history =
      StateStore::ReadHistory(config->kafka.properties, config->state.topic, config->kafka.group_id + "/", timeout_ms);
  if (!history.ok()) return fail(history.status());

  GeoEnricher enricher(*databases, config->geoip);
  ShardOracle oracle(*config, *rules, &enricher, *std::move(inputs));
  std::map<std::string, std::vector<const v1::ShardState*>> by_owner;
  size_t unreadable = 0;
  for (const StateStore::HistoricSnapshot& h : *history) {
    if (h.state.ok()) {
      by_owner[h.owner].push_back(&*h.state);
    } else {
      ++unreadable;
      std::fprintf(stderr, "authwatch verify-state: %s: snapshot at state offset %lld unreadable: %s\n",
                   h.owner.c_str(), static_cast<long long>(h.manifest_offset),
                   std::string(h.state.status().message()).c_str());
    }
  }
  size_t counts[3] = {0, 0, 0};  // by SnapshotVerdict::Result
  for (const auto& [owner, snapshots] : by_owner) {
    const std::vector<SnapshotVerdict> verdicts = oracle.Check(ParseOwner(*config, owner), snapshots);
    size_t shard_counts[3] = {0, 0, 0};
    for (const SnapshotVerdict& v : verdicts) {
      ++shard_counts[static_cast<size_t>(v.result)];
      if (v.result == SnapshotVerdict::Result::kDiffer) {
        std::fprintf(stderr, "authwatch verify-state: %s: %s (digest %016llx, oracle %016llx)\n", owner.c_str(),
                     v.detail.c_str(), static_cast<unsigned long long>(v.digest),
                     static_cast<unsigned long long>(v.oracle));
      }
    }
    std::string line;
    JsonWriter w(&line);
    w.BeginObject();
    w.Key("owner").String(owner);
    w.Key("snapshots").Int(static_cast<int64_t>(verdicts.size()));
    w.Key("equal").Int(static_cast<int64_t>(shard_counts[0]));
    w.Key("differ").Int(static_cast<int64_t>(shard_counts[1]));
    w.Key("skipped").Int(static_cast<int64_t>(shard_counts[2]));
    w.EndObject();
    std::printf("%s\n", line.c_str());
    for (int i = 0; i < 3; ++i) counts[i] += shard_counts[i];
  }
  std::printf("{\"summary\":true,\"owners\":%zu,\"snapshots\":%zu,\"equal\":%zu,\"differ\":%zu,\"skipped\":%zu,"
              "\"unreadable\":%zu}\n",
              by_owner.size(), counts[0] + counts[1] + counts[2], counts[0], counts[1], counts[2], unreadable);
  return counts[1] == 0 && unreadable == 0 ? 0 : 1;
}

}  // namespace authwatch
