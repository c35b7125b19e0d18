#include "app/config.h"

#include <filesystem>

#include "absl/strings/numbers.h"
#include "core/strings.h"
#include "yaml-cpp/yaml.h"

namespace authwatch {
namespace {

namespace fs = std::filesystem;

class ConfigReader {
 public:
  explicit ConfigReader(std::string path) : path_(std::move(path)) {
    dir_ = fs::path(path_).parent_path();
  }

  absl::Status Error(const YAML::Node& node, std::string_view what) const {
    const YAML::Mark m = node.Mark();
    return absl::InvalidArgumentError(
        Cat(path_, ":", m.line + 1, ":", m.column + 1, ": ", what));
  }

  std::string Resolve(const std::string& p) const {
    if (p.empty() || p == "-" || fs::path(p).is_absolute()) return p;
    return (dir_ / p).lexically_normal().string();
  }

  // Calls fn(key, value) for each entry of a mapping; unknown keys are an error, since a typo in
  // a security tool's config must not silently fall back to a default.
  template <typename Fn>
  absl::Status ForEach(const YAML::Node& map, std::string_view section, Fn fn) const {
    if (!map.IsMap()) return Error(map, Cat("'", section, "' must be a mapping"));
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      absl::Status s = fn(key, kv.second);
      if (s.code() == absl::StatusCode::kNotFound) {
        return Error(kv.first, Cat("unknown key '", key, "' in '", section, "'"));
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Duration(const YAML::Node& v) const {
    auto d = ParseDurationMs(v.as<std::string>());
    if (!d.ok()) return Error(v, FromAbsl(d.status().message()));
    return d;
  }

  absl::StatusOr<int64_t> Integer(const YAML::Node& v, int64_t lo, int64_t hi) const {
    int64_t n;
    if (!absl::SimpleAtoi(v.as<std::string>(), &n) || n < lo || n > hi) {
      return Error(v, Cat("expected an integer from ", lo, " to ", hi));
    }
    return n;
  }

  absl::StatusOr<std::vector<std::string>> Paths(const YAML::Node& v) const {
    std::vector<std::string> out;
    if (v.IsScalar()) {
      out.push_back(Resolve(v.as<std::string>()));
    } else if (v.IsSequence()) {
      for (const auto& item : v) out.push_back(Resolve(item.as<std::string>()));
    } else {
      return Error(v, "expected a path or a list of paths");
    }
    return out;
  }

 private:
  std::string path_;
  fs::path dir_;
};

#define AW_ASSIGN(lhs, expr)            \
  do {                                  \
    auto aw_tmp = (expr);               \
    if (!aw_tmp.ok()) return aw_tmp.status(); \
    lhs = *std::move(aw_tmp);           \
  } while (0)

absl::Status LoadInto(const ConfigReader& r, const YAML::Node& root, AppConfig* c) {
  return r.ForEach(root, "top level", [&](const std::string& key, const YAML::Node& v) -> absl::Status {
    if (key == "input") {
      return r.ForEach(v, "input", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "format") {
          const std::string f = x.as<std::string>();
          if (f == "json") c->input.format = InputFormat::kJson;
          else if (f == "protobuf") c->input.format = InputFormat::kProtobuf;
          else if (f == "syslog") c->input.format = InputFormat::kSyslog;
          else return r.Error(x, "input.format must be json, protobuf or syslog");
        } else if (k == "mapping") {
          const std::string m = x.as<std::string>();
          if (m != "canonical") {
            c->input.mapping_path = r.Resolve(m);
            auto mapping = LoadFieldMapping(c->input.mapping_path);
            if (!mapping.ok()) return r.Error(x, FromAbsl(mapping.status().message()));
            c->input.mapping = *std::move(mapping);
          }
        } else if (k == "max_record_bytes") {
          AW_ASSIGN(c->input.max_record_bytes, r.Integer(x, 256, 16 << 20));
        } else if (k == "syslog_year") {
          AW_ASSIGN(c->input.syslog_year, r.Integer(x, 1970, 2100));
        } else if (k == "syslog_timezone") {
          c->input.syslog_timezone = x.as<std::string>();
        } else if (k == "late_event_allowance") {
          AW_ASSIGN(c->input.late_allowance_ms, r.Duration(x));
        } else {
          return absl::NotFoundError(k);
        }
        return absl::OkStatus();
      });
    }
    if (key == "geoip") {
      return r.ForEach(v, "geoip", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "databases") {
          AW_ASSIGN(c->geoip.databases, r.Paths(x));
        } else if (k == "cache_entries") {
          AW_ASSIGN(c->geoip.cache_entries, r.Integer(x, 0, 1 << 26));
        } else if (k == "prefix_v4_bits") {
          AW_ASSIGN(c->geoip.prefix_v4_bits, r.Integer(x, 8, 32));
        } else if (k == "prefix_v6_bits") {
          AW_ASSIGN(c->geoip.prefix_v6_bits, r.Integer(x, 16, 128));
        } else if (k == "reload_check_interval") {
          AW_ASSIGN(c->geoip_reload_check_ms, r.Duration(x));
        } else {
          return absl::NotFoundError(k);
        }
        return absl::OkStatus();
      });
    }
    if (key == "rules") {
      return r.ForEach(v, "rules", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "paths") {
          AW_ASSIGN(c->rule_paths, r.Paths(x));
          return absl::OkStatus();
        }
        return absl::NotFoundError(k);
      });
    }
    if (key == "output") {
      return r.ForEach(v, "output", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "dead_letter") {
          c->output.dead_letter_path = r.Resolve(x.as<std::string>());
          return absl::OkStatus();
        }
        return absl::NotFoundError(k);
      });
    }
    if (key == "kafka") {
      return r.ForEach(v, "kafka", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "input_topics") {
          c->kafka.input_topics.clear();
          if (x.IsScalar()) {
            c->kafka.input_topics.push_back(x.as<std::string>());
          } else {
            for (const auto& t : x) c->kafka.input_topics.push_back(t.as<std::string>());
          }
        } else if (k == "decisions_topic") {
          c->kafka.decisions_topic = x.as<std::string>();
        } else if (k == "dead_letter_topic") {
          c->kafka.dead_letter_topic = x.as<std::string>();
        } else if (k == "group_id") {
          c->kafka.group_id = x.as<std::string>();
        } else if (k == "instance_id") {
          c->kafka.instance_id = x.IsNull() ? std::string() : x.as<std::string>();
        } else if (k == "properties") {
          if (!x.IsMap()) return r.Error(x, "kafka.properties must map librdkafka property: value");
          for (const auto& p : x) c->kafka.properties[p.first.as<std::string>()] = p.second.as<std::string>();
        } else {
          return absl::NotFoundError(k);
        }
        return absl::OkStatus();
      });
    }
    if (key == "policyd") {
      return r.ForEach(v, "policyd", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "listen") {
          c->policyd.listen = x.as<std::string>();
        } else if (k == "socket") {
          c->policyd.socket_path = r.Resolve(x.as<std::string>());
        } else if (k == "metrics_listen") {
          c->policyd.metrics_listen = x.as<std::string>();
        } else if (k == "on_unavailable") {
          const std::string m = x.as<std::string>();
          if (m != "dunno" && m != "defer") return r.Error(x, "policyd.on_unavailable must be dunno (fail open) or defer (fail closed)");
          c->policyd.fail_open = m == "dunno";
        } else if (k == "challenge_action") {
          c->policyd.challenge_action = x.as<std::string>();
        } else if (k == "reject_text") {
          c->policyd.reject_text = x.as<std::string>();
        } else {
          return absl::NotFoundError(k);
        }
        return absl::OkStatus();
      });
    }
    if (key == "limits") {
      return r.ForEach(v, "limits", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "window_memory") {
          auto bytes = ParseSizeBytes(x.as<std::string>());
          if (!bytes.ok()) return r.Error(x, Cat("limits.window_memory: ", FromAbsl(bytes.status().message())));
          c->limits.window_memory_bytes = *bytes;
          return absl::OkStatus();
        }
        return absl::NotFoundError(k);
      });
    }
    if (key == "state") {
      return r.ForEach(v, "state", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "topic") {
          c->state.topic = x.as<std::string>();
        } else if (k == "checkpoint_interval") {
          AW_ASSIGN(c->state.checkpoint_interval_ms, r.Duration(x));
          if (c->state.checkpoint_interval_ms < 1000) return r.Error(x, "state.checkpoint_interval must be at least 1s");
        } else if (k == "max_chunk_bytes") {
          AW_ASSIGN(c->state.max_chunk_bytes, r.Integer(x, 1024, 1 << 30));
        } else if (k == "replication_factor") {
          AW_ASSIGN(c->state.replication_factor, r.Integer(x, -1, 32767));
        } else if (k == "rebuild_window") {
          if (x.IsScalar() && (x.as<std::string>() == "0" || x.as<std::string>() == "off")) {
            c->state.rebuild_window_ms = 0;
          } else {
            AW_ASSIGN(c->state.rebuild_window_ms, r.Duration(x));
          }
        } else {
          return absl::NotFoundError(k);
        }
        return absl::OkStatus();
      });
    }
    if (key == "scale_out") {
      absl::Status parsed = r.ForEach(v, "scale_out", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "address_topic") {
          c->scale_out.address_topic = x.as<std::string>();
        } else if (k == "asn_topic") {
          c->scale_out.asn_topic = x.as<std::string>();
        } else if (k == "partitions") {
          AW_ASSIGN(c->scale_out.partitions, r.Integer(x, 1, 10000));
        } else if (k == "replication_factor") {
          AW_ASSIGN(c->scale_out.replication_factor, r.Integer(x, -1, 32767));
        } else if (k == "watermark_interval") {
          AW_ASSIGN(c->scale_out.watermark_interval_ms, r.Duration(x));
        } else if (k == "idle_after") {
          AW_ASSIGN(c->scale_out.idle_after_ms, r.Duration(x));
        } else {
          return absl::NotFoundError(k);
        }
        return absl::OkStatus();
      });
      if (!parsed.ok()) return parsed;
      if (!c->scale_out.enabled()) return r.Error(v, "scale_out needs partitions (of each repartition topic)");
      return absl::OkStatus();
    }
    if (key == "metrics") {
      return r.ForEach(v, "metrics", [&](const std::string& k, const YAML::Node& x) -> absl::Status {
        if (k == "listen") {
          c->metrics.listen = x.as<std::string>();
          return absl::OkStatus();
        }
        return absl::NotFoundError(k);
      });
    }
    return absl::NotFoundError(key);
  });
}

}  // namespace

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  const std::string number(text.substr(0, i));
  const std::string_view unit = text.substr(i);
  double value;
  if (number.empty() || !absl::SimpleAtod(number, &value) || value < 0) {
    return absl::InvalidArgumentError(Cat("'", text, "' is not a duration (e.g. 90s, 10m, 2h, 7d)"));
  }
  double scale;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60e3;
  else if (unit == "h") scale = 3600e3;
  else if (unit == "d") scale = 86400e3;
  else return absl::InvalidArgumentError(Cat("'", text, "': unknown unit '", unit, "' (ms, s, m, h, d)"));
  // Converting a double beyond int64_t's range is undefined behaviour (in practice INT64_MIN).
  if (value * scale >= 9223372036854775808.0) {
    return absl::InvalidArgumentError(Cat("'", text, "' is too long a duration"));
  }
  return static_cast<int64_t>(value * scale);
}

absl::StatusOr<uint64_t> ParseSizeBytes(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  double value;
  if (i == 0 || !absl::SimpleAtod(std::string(text.substr(0, i)), &value) || value < 0) {
    return absl::InvalidArgumentError(Cat("'", text, "' is not a size (e.g. 512MiB, 4GiB, 2GB)"));
  }
  const std::string_view unit = text.substr(i);
  double scale;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "KiB") scale = 1024.0;
  else if (unit == "MiB") scale = 1024.0 * 1024;
  else if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (unit == "KB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else return absl::InvalidArgumentError(Cat("'", text, "': unknown unit '", unit, "' (B, KiB, MiB, GiB, KB, MB, GB)"));
  if (value * scale >= 1.8e19) return absl::InvalidArgumentError(Cat("'", text, "' is too large"));
  return static_cast<uint64_t>(value * scale);
}

absl::StatusOr<AppConfig> LoadAppConfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::NotFoundError(Cat("config '", path, "' cannot be read"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        Cat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  AppConfig c;
  c.path = path;
  ConfigReader reader(path);
  try {
    if (!root.IsNull()) {
      absl::Status s = LoadInto(reader, root, &c);
      if (!s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        Cat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (c.geoip.databases.empty()) {
    return absl::InvalidArgumentError(Cat(path, ": geoip.databases lists no database"));
  }
  if (c.scale_out.enabled()) {
    if (c.scale_out.address_topic.empty()) c.scale_out.address_topic = c.kafka.group_id + ".by-address";
    if (c.scale_out.asn_topic.empty()) c.scale_out.asn_topic = c.kafka.group_id + ".by-asn";
  }
  return c;
}

}  // namespace authwatch
