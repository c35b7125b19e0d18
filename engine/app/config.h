// AppConfig: everything `authwatch` reads from its YAML config file (deploy/authwatch.yaml is
// the default). Relative paths in the file are relative to the file's own directory, so the
// config works from any working directory. Immutable after loading.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "enrich/geo_enricher.h"
#include "ingest/field_mapping.h"

namespace authwatch {

enum class InputFormat : uint8_t { kJson, kProtobuf, kSyslog };

struct InputOptions {
  InputFormat format = InputFormat::kJson;
  FieldMapping mapping;             // canonical unless `mapping:` names a file
  std::string mapping_path;         // "" for canonical
  size_t max_record_bytes = 65536;  // a login event is ~250 bytes; 64 KiB leaves room for rich producers
  int64_t late_allowance_ms = 300000;  // 5 min: partitions and producers skew by seconds, rarely minutes
  int syslog_year = 0;                  // year of year-less syslog timestamps; 0: this year
  std::string syslog_timezone = "UTC";  // zone of zone-less syslog timestamps
};

struct OutputOptions {
  std::string dead_letter_path;  // replay's dead-letter file
};

struct KafkaOptions {
  std::vector<std::string> input_topics;
  std::string decisions_topic = "authwatch.decisions";
  std::string dead_letter_topic = "authwatch.dead-letter";
  std::string group_id = "authwatch";
  // Static group membership (group.instance.id): a restarted instance takes its partitions back
  // at once instead of waiting a session timeout for a rebalance. Default: the host name; ""
  // turns it off. Two instances on one host need distinct ids.
  std::optional<std::string> instance_id;
  std::map<std::string, std::string> properties;  // passed to librdkafka as they are
};

// Durable detection state for `authwatch run` (README "Durable state"): the pipeline's window
// and profile state is checkpointed to a compacted topic and restored at start-up. Off when
// `topic` is empty (no `state:` section).
struct StateOptions {
  std::string topic;                      // e.g. authwatch.state; created (compacted) if missing
  int64_t checkpoint_interval_ms = 60000; // events since the last checkpoint are re-read after a crash
  int64_t max_chunk_bytes = 900000;       // under the broker's default message.max.bytes (1 MiB)
  int replication_factor = -1;            // when authwatch creates the topic; -1: the broker's default
  // A partition with no snapshot (first start, a partition new to this instance, a lost
  // snapshot) is rebuilt from the input of this long ago, by record time, up to the committed
  // offset, output suppressed. -1: the longest rule window; 0: no rebuild.
  int64_t rebuild_window_ms = -1;
  bool enabled() const { return !topic.empty(); }
};

// Scale-out (README "Scale-out"; issue #8): several `authwatch run` instances in one consumer
// group act as one. Each input partition is an account shard; address- and ASN-keyed rules run
// in network shards, one per partition of two repartition topics that the account shards feed
// (detect/shard_role.h, stream/network_shard.h). Off when `partitions` is 0 (no section): one
// instance runs every rule on what it consumes.
struct ScaleOutOptions {
  std::string address_topic;  // default "<group>.by-address"; keyed by /24 or /64
  std::string asn_topic;      // default "<group>.by-asn"; keyed by ASN
  int partitions = 0;         // of each repartition topic (created if missing)
  int replication_factor = -1;
  // How often an account shard tells every network shard how far its input has come.
  int64_t watermark_interval_ms = 200;
  // An input partition read to its end with nothing new for this long (wall time) no longer
  // holds the network shards back. The trade-off: a network decision waits at most this long
  // for a quiet partition, and events that come to a partition after such a pause may be
  // merged slightly out of time order with the others'. A stopped or restoring instance never
  // declares its partitions idle, so a crash does not reorder anything.
  int64_t idle_after_ms = 10000;
  bool enabled() const { return partitions > 0; }
};

// Bounds on what the engine keeps (limits: section).
struct LimitsOptions {
  // Rule window state; over it, failed logins stop creating per-account and per-address state
  // and are counted per network only (RuleWindows::set_memory_budget). 0: no bound.
  uint64_t window_memory_bytes = 0;
};

struct MetricsOptions {
  std::string listen = "127.0.0.1:9464";
};

struct PolicydOptions {
  std::string listen = "127.0.0.1:10040";
  std::string socket_path;
  std::string metrics_listen = "127.0.0.1:9465";
  bool fail_open = true;  // on_unavailable: dunno (open) or defer (closed)
  std::string challenge_action = "450 4.7.1 Additional verification required, try again later";
  std::string reject_text = "554 5.7.1 Sending refused: this account or network is blocked for suspected abuse";
};

struct AppConfig {
  std::string path;  // the config file itself
  InputOptions input;
  GeoOptions geoip;
  int64_t geoip_reload_check_ms = 10000;
  std::vector<std::string> rule_paths;  // files or directories of *.yaml
  OutputOptions output;
  KafkaOptions kafka;
  StateOptions state;
  ScaleOutOptions scale_out;
  LimitsOptions limits;
  MetricsOptions metrics;
  PolicydOptions policyd;
};

// Loads and validates a config file. Errors name file:line:column and the key.
absl::StatusOr<AppConfig> LoadAppConfig(const std::string& path);

// Parses durations such as "90s", "10m", "2h", "7d", "500ms" (a bare number means seconds).
absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);
// "512MiB", "4GiB", "2GB", "1000000" (bytes): a size in bytes.
absl::StatusOr<uint64_t> ParseSizeBytes(std::string_view text);

}  // namespace authwatch
