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
  std::string_view type, value, action, scope, id, rule, expires, origin;
  bool dry_run = false;
  if (d["subject"]["type"].get(type) || d["subject"]["value"].get(value) || d["action"].get(action) ||
      d["scope"].get(scope)) {
    return ApplyResult::kMalformed;
  }
  // Optional fields: absent means false / empty.
  if (d["dry_run"].get(dry_run)) dry_run = false;
  if (d["decision_id"].get(id)) id = {};
  if (d["rule"].get(rule)) rule = {};
  if (d["origin"].get(origin)) origin = {};
  const auto kind = ParseKind(type);
  const auto act = ParseAction(action);
  if (!kind || !act || value.empty()) return ApplyResult::kMalformed;
  const std::string key = Key(*kind, value, scope);
  if (*act == ActionKind::kUnblock) {
    absl::MutexLock lock(&mu_);
    auto it = held_.find(key);
    if (it == held_.end()) return ApplyResult::kIgnored;
    Origins& o = it->second;
    const size_t before = o.size();
    std::erase_if(o, [&](const auto& e) { return e.first == origin; });
    const bool lifted = o.size() < before;
    if (o.empty()) held_.erase(it);
    return lifted ? ApplyResult::kLifted : ApplyResult::kIgnored;
  }
  if (dry_run || *act == ActionKind::kMonitor) return ApplyResult::kIgnored;
  if (d["expires"].get(expires)) return ApplyResult::kMalformed;
  const auto expires_ms = ParseRfc3339(expires);
  if (!expires_ms) return ApplyResult::kMalformed;
  absl::MutexLock lock(&mu_);
  Origins& o = held_[key];
  HeldDecision held{*act, *expires_ms, std::string(id), std::string(rule)};
  for (auto& e : o) {
    if (e.first == origin) {
      e.second = std::move(held);  // the engine's newer decision of that origin replaces the older
      return ApplyResult::kHeld;
    }
  }
  o.emplace_back(std::string(origin), std::move(held));
  return ApplyResult::kHeld;
}

std::optional<HeldDecision> DecisionStore::Find(KeyKind type, std::string_view value, std::string_view scope,
                                                EventTimeMs now_ms) const {
  absl::ReaderMutexLock lock(&mu_);
  std::optional<HeldDecision> best;
  for (std::string_view s : {scope, std::string_view("all")}) {
    auto it = held_.find(Key(type, value, s));
    if (it == held_.end()) continue;
    for (const auto& [origin, held] : it->second) {
      if (held.expires_ms <= now_ms) continue;
      if (!best || ActionStrength(held.action) > ActionStrength(best->action)) best = held;
    }
  }
  return best;
}

size_t DecisionStore::Expire(EventTimeMs now_ms) {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (auto it = held_.begin(); it != held_.end();) {
    Origins& o = it->second;
    const size_t before = o.size();
    std::erase_if(o, [&](const auto& e) { return e.second.expires_ms <= now_ms; });
    n += before - o.size();
    if (o.empty()) {
      held_.erase(it++);
    } else {
      ++it;
    }
  }
  return n;
}

size_t DecisionStore::size() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, o] : held_) n += o.size();
  return n;
}

}  // namespace authwatch
