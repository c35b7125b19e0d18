#include "enforce/decision_store.h"

#include "core/strings.h"
#include "simdjson.h"

namespace authwatch {
namespace {

std::optional<KeyKind> ParseKind(std::string_view s) {
  for (int k = 0; k < kKeyKindCount; ++k) {
    if (s == KeyKindName(static_cast<KeyKind>(k))) return static_cast<KeyKind>(k);
  }
  return std::nullopt;
}

std::optional<ActionKind> ParseAction(std::string_view s) {
  for (ActionKind a : {ActionKind::kBlock, ActionKind::kChallenge, ActionKind::kMonitor, ActionKind::kUnblock}) {
    if (s == ActionName(a)) return a;
  }
  return std::nullopt;
}

}  // namespace

std::string DecisionStore::Key(KeyKind type, std::string_view value, std::string_view scope) {
  return Cat(static_cast<int>(type), "\x1f", value, "\x1f", scope);
}

ApplyResult DecisionStore::Apply(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element d;
  if (parser.parse(json.data(), json.size()).get(d)) return ApplyResult::kMalformed;
  std::string_view type, value, action, scope, id, rule, expires;
  bool dry_run = false;
  if (d["subject"]["type"].get(type) || d["subject"]["value"].get(value) || d["action"].get(action) ||
      d["scope"].get(scope)) {
    return ApplyResult::kMalformed;
  }
  // Optional fields: absent means false / empty.
  if (d["dry_run"].get(dry_run)) dry_run = false;
  if (d["decision_id"].get(id)) id = {};
  if (d["rule"].get(rule)) rule = {};
  const auto kind = ParseKind(type);
  const auto act = ParseAction(action);
  if (!kind || !act || value.empty()) return ApplyResult::kMalformed;
  const std::string key = Key(*kind, value, scope);
  if (*act == ActionKind::kUnblock) {
    absl::MutexLock lock(&mu_);
    return held_.erase(key) > 0 ? ApplyResult::kLifted : ApplyResult::kIgnored;
  }
  if (dry_run || *act == ActionKind::kMonitor) return ApplyResult::kIgnored;
  if (d["expires"].get(expires)) return ApplyResult::kMalformed;
  const auto expires_ms = ParseRfc3339(expires);
  if (!expires_ms) return ApplyResult::kMalformed;
  absl::MutexLock lock(&mu_);
  held_[key] = HeldDecision{*act, *expires_ms, std::string(id), std::string(rule)};
  return ApplyResult::kHeld;
}

std::optional<HeldDecision> DecisionStore::Find(KeyKind type, std::string_view value, std::string_view scope,
                                                EventTimeMs now_ms) const {
  absl::ReaderMutexLock lock(&mu_);
  std::optional<HeldDecision> best;
  for (std::string_view s : {scope, std::string_view("all")}) {
    auto it = held_.find(Key(type, value, s));
    if (it == held_.end() || it->second.expires_ms <= now_ms) continue;
    if (!best || ActionStrength(it->second.action) > ActionStrength(best->action)) best = it->second;
  }
  return best;
}

size_t DecisionStore::Expire(EventTimeMs now_ms) {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.expires_ms <= now_ms) {
      held_.erase(it++);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

size_t DecisionStore::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return held_.size();
}

}  // namespace authwatch
