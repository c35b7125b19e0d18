#include "detect/rule_loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "core/strings.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "app/config.h"
#include "core/stable_hash.h"
#include "yaml-cpp/yaml.h"

namespace authwatch {
namespace {

namespace fs = std::filesystem;

std::string JoinNames(std::initializer_list<std::string_view> names) {
  std::string out;
  for (const auto& n : names) Append(&out, out.empty() ? "" : ", ", n);
  return out;
}

// Compiles one source into `out`, reporting into `diags`. Holds the source lines for carets.
class Compiler {
 public:
  Compiler(const RuleSource& src, RuleSet* out, Diagnostics* diags,
           std::map<std::string, std::string>* seen_names)
      : src_(src), out_(out), diags_(diags), seen_names_(seen_names) {
    lines_ = absl::StrSplit(src.text, '\n');
  }

  void Run();
  // Second pass, after every file: filters that name lists.
  void ResolveLists();

 private:
  // ---- diagnostics ----
  void Report(Severity sev, DiagCode code, const YAML::Mark& m, std::string message) {
    Diagnostic d;
    d.severity = sev;
    d.code = code;
    d.file = src_.name;
    d.line = m.line + 1;
    d.column = m.column + 1;
    d.entry = entry_;
    d.message = std::move(message);
    if (m.line >= 0 && static_cast<size_t>(m.line) < lines_.size()) {
      d.source_line = lines_[static_cast<size_t>(m.line)];
      if (!d.source_line.empty() && d.source_line.back() == '\r') d.source_line.pop_back();
    }
    diags_->items.push_back(std::move(d));
  }
  void Error(DiagCode code, const YAML::Node& n, std::string message) {
    Report(Severity::kError, code, n.Mark(), std::move(message));
  }
  void Warn(DiagCode code, const YAML::Node& n, std::string message) {
    Report(Severity::kWarning, code, n.Mark(), std::move(message));
  }

  // ---- typed readers; each reports and returns false on error ----
  bool Scalar(const YAML::Node& n, std::string_view what, std::string* out) {
    if (!n.IsScalar()) {
      Error(DiagCode::kInvalidValue, n, Cat("invalid value: ", what, " must be a scalar"));
      return false;
    }
    *out = n.Scalar();
    return true;
  }
  bool Duration(const YAML::Node& n, std::string_view what, int64_t* out) {
    std::string s;
    if (!Scalar(n, what, &s)) return false;
    auto d = ParseDurationMs(s);
    if (!d.ok() || *d <= 0) {
      Error(DiagCode::kInvalidDuration, n,
            Cat("invalid duration: ", what, " '", s,
                         "' (a positive number followed by ms, s, m, h or d)"));
      return false;
    }
    *out = *d;
    return true;
  }
  bool Number(const YAML::Node& n, std::string_view what, double lo, double hi, double* out) {
    std::string s;
    if (!Scalar(n, what, &s)) return false;
    double v;
    if (!absl::SimpleAtod(s, &v) || v < lo || v > hi) {
      Error(DiagCode::kInvalidValue, n,
            Cat("invalid value: ", what, " '", s, "' must be a number from ", lo, " to ", hi));
      return false;
    }
    *out = v;
    return true;
  }
  bool Bool(const YAML::Node& n, std::string_view what, bool* out) {
    std::string s;
    if (!Scalar(n, what, &s)) return false;
    if (s == "true" || s == "yes" || s == "on") {
      *out = true;
    } else if (s == "false" || s == "no" || s == "off") {
      *out = false;
    } else {
      Error(DiagCode::kInvalidValue, n, Cat("invalid value: ", what, " '", s, "' must be true or false"));
      return false;
    }
    return true;
  }
  template <typename E>
  bool Enum(const YAML::Node& n, std::string_view what,
            std::initializer_list<std::pair<std::string_view, E>> choices, E* out) {
    std::string s;
    if (!Scalar(n, what, &s)) return false;
    for (const auto& [name, value] : choices) {
      if (s == name) {
        *out = value;
        return true;
      }
    }
    std::vector<std::string> names;
    for (const auto& c : choices) names.emplace_back(c.first);
    Error(DiagCode::kInvalidValue, n,
          Cat("invalid value: ", what, " '", s, "' must be one of ", absl::StrJoin(names, ", ")));
    return false;
  }
  bool Key(const YAML::Node& n, KeyKind* out) {
    return Enum<KeyKind>(n, "key",
                         {{"account", KeyKind::kAccount}, {"ip", KeyKind::kIp},
                          {"prefix", KeyKind::kPrefix}, {"asn", KeyKind::kAsn},
                          {"account_ip", KeyKind::kAccountIp}},
                         out);
  }

  // Iterates a mapping's keys, warning on unknown ones.
  template <typename Fn>
  void Fields(const YAML::Node& map, std::initializer_list<std::string_view> known, Fn fn) {
    for (const auto& kv : map) {
      const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        Warn(DiagCode::kUnknownKey, kv.first,
             Cat("unknown key '", k, "' (known: ", JoinNames(known), ")"));
        continue;
      }
      fn(k, kv.second);
    }
  }
  bool Require(const YAML::Node& map, std::string_view key) {
    if (map[std::string(key)]) return true;
    Error(DiagCode::kMissingKey, map, Cat("missing key: '", key, "' is required"));
    return false;
  }

  void CompileEntry(const YAML::Node& entry);
  void CompileList(const YAML::Node& entry);
  void CompileRule(const YAML::Node& entry);
  void CompileDetector(const YAML::Node& entry);
  void CompileProfile(const YAML::Node& entry);
  void CompilePolicy(const YAML::Node& entry);
  bool CompileFilter(const YAML::Node& n, Filter* out);
  bool CompileCondition(const YAML::Node& n, Condition* out);
  bool CompileConsequences(const YAML::Node& n, KeyKind default_subject, std::vector<Consequence>* out);
  bool CompileMode(const YAML::Node& n, bool* monitor_only);
  bool CompileSeverity(const YAML::Node& n, std::string* out);
  bool ClaimName(const std::string& kind, const YAML::Node& name_node, std::string* name);

  struct PendingList {
    std::string name;
    YAML::Mark mark;
    std::string entry;
    FilterField field;
  };

  const RuleSource& src_;
  RuleSet* out_;
  Diagnostics* diags_;
  std::map<std::string, std::string>* seen_names_;
  std::vector<std::string> lines_;
  std::string entry_;
  std::vector<PendingList> pending_lists_;
  std::vector<std::pair<std::string, YAML::Mark>> pending_allow_;
  friend RuleLoadResult authwatch::CompileRules(const std::vector<RuleSource>&);

 public:
  std::vector<std::string> used_lists;
};

void Compiler::Run() {
  YAML::Node root;
  try {
    root = YAML::Load(src_.text);
  } catch (const YAML::Exception& e) {
    Report(Severity::kError, DiagCode::kYamlSyntax, e.mark, Cat("YAML syntax: ", e.msg));
    return;
  }
  if (root.IsNull()) return;  // an empty file is valid
  if (!root.IsSequence()) {
    Error(DiagCode::kNotASequence, root, "not a sequence: a rule file is a list of entries (- rule: ...)");
    return;
  }
  for (const auto& entry : root) {
    entry_.clear();
    try {
      CompileEntry(entry);
    } catch (const YAML::Exception& e) {
      Report(Severity::kError, DiagCode::kInvalidValue, e.mark, Cat("invalid value: ", e.msg));
    }
  }
  entry_.clear();
}

void Compiler::CompileEntry(const YAML::Node& entry) {
  if (!entry.IsMap()) {
    Error(DiagCode::kUnknownEntry, entry, "unknown entry: expected a mapping with rule, list, detector, profile or policy");
    return;
  }
  if (entry["rule"]) return CompileRule(entry);
  if (entry["list"]) return CompileList(entry);
  if (entry["detector"]) return CompileDetector(entry);
  if (entry["profile"]) return CompileProfile(entry);
  if (entry["policy"]) return CompilePolicy(entry);
  Error(DiagCode::kUnknownEntry, entry, "unknown entry: expected one of the keys rule, list, detector, profile, policy");
}

bool Compiler::ClaimName(const std::string& kind, const YAML::Node& name_node, std::string* name) {
  if (!Scalar(name_node, Cat(kind, " name"), name)) return false;
  entry_ = Cat(kind, " '", *name, "'");
  if (name->empty()) {
    Error(DiagCode::kInvalidValue, name_node, Cat("invalid value: a ", kind, " needs a name"));
    return false;
  }
  const std::string id = Cat(kind == "detector" ? "rule" : kind, ":", *name);
  auto [it, inserted] = seen_names_->emplace(
      id, Cat(src_.name, ":", name_node.Mark().line + 1));
  if (!inserted) {
    Error(DiagCode::kDuplicateName, name_node,
          Cat("duplicate name: '", *name, "' is already defined at ", it->second));
    return false;
  }
  return true;
}

void Compiler::CompileList(const YAML::Node& entry) {
  NamedList list;
  if (!ClaimName("list", entry["list"], &list.name)) return;
  list.file = src_.name;
  list.line = entry["list"].Mark().line + 1;
  list.column = entry["list"].Mark().column + 1;
  bool ok = Require(entry, "type") & Require(entry, "items");
  Fields(entry, {"list", "type", "items", "description"}, [](const std::string&, const YAML::Node&) {});
  if (!ok) return;
  if (!Enum<ListType>(entry["type"], "type",
                      {{"cidr", ListType::kCidr}, {"asn", ListType::kAsn},
                       {"account", ListType::kAccount}, {"country", ListType::kCountry}},
                      &list.type)) {
    return;
  }
  const YAML::Node items = entry["items"];
  if (!items.IsSequence()) {
    Error(DiagCode::kInvalidValue, items, "invalid value: items must be a list");
    return;
  }
  for (const auto& item : items) {
    std::string s;
    if (!Scalar(item, "list item", &s)) continue;
    switch (list.type) {
      case ListType::kCidr: {
        auto p = IpPrefix::Parse(s);
        if (!p) {
          Error(DiagCode::kInvalidValue, item, Cat("invalid value: '", s, "' is not an address or CIDR prefix"));
        } else {
          list.cidrs.push_back(*p);
        }
        break;
      }
      case ListType::kAsn: {
        std::string digits = s;
        if (absl::StartsWithIgnoreCase(digits, "AS")) digits = digits.substr(2);
        uint32_t asn;
        if (!absl::SimpleAtoi(digits, &asn) || asn == 0) {
          Error(DiagCode::kInvalidValue, item, Cat("invalid value: '", s, "' is not an AS number"));
        } else {
          list.asns.insert(asn);
        }
        break;
      }
      case ListType::kAccount:
        list.strings.insert(absl::AsciiStrToLower(s));
        break;
      case ListType::kCountry:
        list.strings.insert(absl::AsciiStrToUpper(s));
        break;
    }
  }
  out_->lists.push_back(std::move(list));
}

bool Compiler::CompileFilter(const YAML::Node& n, Filter* out) {
  if (n.IsNull()) return true;
  if (!n.IsMap()) {
    Error(DiagCode::kInvalidValue, n, "invalid value: a filter must be a mapping of field: value");
    return false;
  }
  bool ok = true;
  for (const auto& kv : n) {
    const std::string field = kv.first.IsScalar() ? kv.first.Scalar() : "";
    FilterClause c;
    static const std::pair<std::string_view, FilterField> kFields[] = {
        {"result", FilterField::kResult},          {"protocol", FilterField::kProtocol},
        {"country", FilterField::kCountry},        {"asn", FilterField::kAsn},
        {"reason", FilterField::kReason},          {"account", FilterField::kAccount},
        {"ip", FilterField::kIp},                  {"network_known", FilterField::kNetworkKnown},
        {"asn_known", FilterField::kAsnKnown},     {"country_known", FilterField::kCountryKnown},
        {"account_new", FilterField::kAccountNew}, {"established", FilterField::kEstablished},
        {"device_known", FilterField::kDeviceKnown}};
    bool found = false;
    for (const auto& [name, f] : kFields) {
      if (field == name) {
        c.field = f;
        found = true;
      }
    }
    if (!found) {
      Error(DiagCode::kInvalidValue, kv.first,
            Cat("invalid value: unknown filter field '", field,
                         "' (result, protocol, country, asn, reason, account, ip, network_known, "
                         "asn_known, country_known, account_new, established, device_known)"));
      ok = false;
      continue;
    }
    const bool is_bool = c.field >= FilterField::kNetworkKnown;
    YAML::Node match = kv.second;
    if (match.IsMap()) {
      if (match.size() != 1) {
        Error(DiagCode::kInvalidValue, match, "invalid value: use exactly one of not, in_list, not_in_list");
        ok = false;
        continue;
      }
      const std::string op = match.begin()->first.Scalar();
      const YAML::Node arg = match.begin()->second;
      if (op == "in_list" || op == "not_in_list") {
        std::string name;
        if (!Scalar(arg, op, &name)) { ok = false; continue; }
        c.negate = op == "not_in_list";
        c.list = -2;  // resolved after every file is read
        c.list_name = name;
        out->clauses.push_back(c);
        pending_lists_.push_back({name, arg.Mark(), entry_, c.field});
        continue;
      }
      if (op != "not") {
        Error(DiagCode::kInvalidValue, match.begin()->first,
              Cat("invalid value: unknown operator '", op, "' (not, in_list, not_in_list)"));
        ok = false;
        continue;
      }
      c.negate = true;
      match = arg;
    }
    std::vector<YAML::Node> values;
    if (match.IsSequence()) {
      for (const auto& v : match) values.push_back(v);
    } else {
      values.push_back(match);
    }
    if (is_bool && values.size() != 1) {
      Error(DiagCode::kInvalidValue, match, Cat("invalid value: '", field, "' takes true or false"));
      ok = false;
      continue;
    }
    for (const auto& v : values) {
      std::string s;
      if (!Scalar(v, field, &s)) { ok = false; continue; }
      if (is_bool) {
        ok &= Bool(v, field, &c.boolean);
      } else if (c.field == FilterField::kAsn) {
        uint32_t asn;
        std::string digits = absl::StartsWithIgnoreCase(s, "AS") ? s.substr(2) : s;
        if (!absl::SimpleAtoi(digits, &asn)) {
          Error(DiagCode::kInvalidValue, v, Cat("invalid value: '", s, "' is not an AS number"));
          ok = false;
        }
        c.numbers.push_back(asn);
      } else if (c.field == FilterField::kResult) {
        if (s != "success" && s != "failure") {
          Error(DiagCode::kInvalidValue, v, Cat("invalid value: result '", s, "' must be success or failure"));
          ok = false;
        }
        c.result_mask |= s == "success" ? 1 : 2;
        c.strings.push_back(s);  // for descriptions
      } else if (c.field == FilterField::kCountry) {
        c.strings.push_back(absl::AsciiStrToUpper(s));
      } else if (c.field == FilterField::kProtocol || c.field == FilterField::kAccount) {
        c.strings.push_back(absl::AsciiStrToLower(s));
      } else {
        c.strings.push_back(s);
      }
    }
    out->clauses.push_back(std::move(c));
  }
  return ok;
}

bool Compiler::CompileCondition(const YAML::Node& n, Condition* c) {
  if (!n.IsMap()) {
    Error(DiagCode::kInvalidValue, n, "invalid value: a condition is a mapping (count:, distinct: or ratio:)");
    return false;
  }
  bool ok = true;
  int kinds = 0;
  Fields(n, {"count", "distinct", "where", "ratio", "of", "min_events", "at_least", "at_most"},
         [&](const std::string& k, const YAML::Node& v) {
           if (k == "count") {
             c->aggregate = Aggregate::kCount;
             ++kinds;
             ok &= CompileFilter(v, &c->filter);
           } else if (k == "distinct") {
             c->aggregate = Aggregate::kDistinct;
             ++kinds;
             ok &= Enum<DistinctField>(v, "distinct",
                                       {{"account", DistinctField::kAccount}, {"ip", DistinctField::kIp},
                                        {"prefix", DistinctField::kPrefix}, {"asn", DistinctField::kAsn},
                                        {"country", DistinctField::kCountry},
                                        {"user_agent", DistinctField::kUserAgent}},
                                       &c->field);
           } else if (k == "where") {
             ok &= CompileFilter(v, &c->filter);
           } else if (k == "ratio") {
             c->aggregate = Aggregate::kRatio;
             ++kinds;
             ok &= CompileFilter(v, &c->filter);
           } else if (k == "of") {
             ok &= CompileFilter(v, &c->of);
           } else if (k == "min_events") {
             double d;
             if (Number(v, "min_events", 1, 1e6, &d)) c->min_events = static_cast<uint32_t>(d);
             else ok = false;
           } else if (k == "at_least") {
             c->has_at_least = Number(v, "at_least", 0, 1e9, &c->at_least);
             ok &= c->has_at_least;
           } else if (k == "at_most") {
             c->has_at_most = Number(v, "at_most", 0, 1e9, &c->at_most);
             ok &= c->has_at_most;
           }
         });
  if (kinds != 1) {
    Error(DiagCode::kInvalidValue, n, "invalid value: a condition needs exactly one of count, distinct, ratio");
    return false;
  }
  if (ok && !c->has_at_least && !c->has_at_most) {
    Error(DiagCode::kNoThreshold, n, "no threshold: a condition needs at_least or at_most");
    return false;
  }
  if (ok && c->aggregate == Aggregate::kRatio &&
      ((c->has_at_least && c->at_least > 1) || (c->has_at_most && c->at_most > 1))) {
    Error(DiagCode::kInvalidValue, n, "invalid value: a ratio threshold lies between 0 and 1");
    return false;
  }
  return ok;
}

bool Compiler::CompileConsequences(const YAML::Node& n, KeyKind default_subject,
                                   std::vector<Consequence>* out) {
  if (!n.IsSequence() || n.size() == 0) {
    Error(DiagCode::kInvalidValue, n, "invalid value: then must be a non-empty list of {action, scope, ttl}");
    return false;
  }
  bool ok = true;
  for (const auto& item : n) {
    if (!item.IsMap()) {
      Error(DiagCode::kInvalidValue, item, "invalid value: a consequence is a mapping {action, subject, scope, ttl}");
      ok = false;
      continue;
    }
    Consequence c;
    c.subject = default_subject;
    if (!Require(item, "action")) ok = false;
    Fields(item, {"action", "subject", "scope", "ttl"}, [&](const std::string& k, const YAML::Node& v) {
      if (k == "action") {
        ok &= Enum<ActionKind>(v, "action",
                               {{"block", ActionKind::kBlock}, {"challenge", ActionKind::kChallenge},
                                {"monitor", ActionKind::kMonitor}},
                               &c.action);
      } else if (k == "subject") {
        ok &= Key(v, &c.subject);
      } else if (k == "scope") {
        std::string s;
        if (Scalar(v, "scope", &s) && !s.empty() &&
            std::all_of(s.begin(), s.end(), [](char ch) { return absl::ascii_isalnum(ch) || ch == '_' || ch == '-'; })) {
          c.scope = absl::AsciiStrToLower(s);
        } else {
          Error(DiagCode::kInvalidValue, v, "invalid value: scope must be a word such as all, smtp, imap");
          ok = false;
        }
      } else if (k == "ttl") {
        ok &= Duration(v, "ttl", &c.ttl_ms);
      }
    });
    out->push_back(c);
  }
  return ok;
}

bool Compiler::CompileMode(const YAML::Node& n, bool* monitor_only) {
  enum class Mode { kEnforce, kMonitor } mode;
  if (!Enum<Mode>(n, "mode", {{"enforce", Mode::kEnforce}, {"monitor", Mode::kMonitor}}, &mode)) return false;
  *monitor_only = mode == Mode::kMonitor;
  return true;
}

bool Compiler::CompileSeverity(const YAML::Node& n, std::string* out) {
  std::string s;
  if (!Scalar(n, "severity", &s)) return false;
  if (s != "low" && s != "medium" && s != "high" && s != "critical") {
    Error(DiagCode::kInvalidValue, n, Cat("invalid value: severity '", s, "' must be one of low, medium, high, critical"));
    return false;
  }
  *out = s;
  return true;
}

void Compiler::CompileRule(const YAML::Node& entry) {
  CompiledRule r;
  if (!ClaimName("rule", entry["rule"], &r.name)) return;
  r.origin = {src_.name, entry["rule"].Mark().line + 1};
  bool ok = Require(entry, "key") & Require(entry, "window") & Require(entry, "when") &
            Require(entry, "then");
  bool enabled = true;
  Fields(entry, {"rule", "description", "key", "window", "on", "when", "then", "severity", "mode", "enabled"},
         [&](const std::string& k, const YAML::Node& v) {
           if (k == "description") ok &= Scalar(v, "description", &r.description);
           else if (k == "key") ok &= Key(v, &r.key);
           else if (k == "window") ok &= Duration(v, "window", &r.window_ms);
           else if (k == "on") ok &= CompileFilter(v, &r.on);
           else if (k == "severity") ok &= CompileSeverity(v, &r.severity);
           else if (k == "mode") ok &= CompileMode(v, &r.monitor_only);
           else if (k == "enabled") ok &= Bool(v, "enabled", &enabled);
         });
  if (const YAML::Node when = entry["when"]) {
    if (!when.IsSequence() || when.size() == 0) {
      Error(DiagCode::kInvalidValue, when, "invalid value: when must be a non-empty list of conditions");
      ok = false;
    } else if (when.size() > kMaxConditions) {
      Error(DiagCode::kInvalidValue, when,
            Cat("invalid value: when has ", when.size(), " conditions, at most ", kMaxConditions));
      ok = false;
    } else {
      for (const auto& cond : when) {
        Condition c;
        ok &= CompileCondition(cond, &c);
        r.when.push_back(std::move(c));
      }
    }
  }
  if (const YAML::Node then = entry["then"]) ok &= CompileConsequences(then, r.key, &r.then);
  if (!ok || !enabled) return;
  if (!entry["on"] && !r.when.empty()) r.on = r.when.front().filter;
  out_->rules.push_back(std::move(r));
}

void Compiler::CompileDetector(const YAML::Node& entry) {
  std::string name;
  if (!ClaimName("detector", entry["detector"], &name)) return;
  const RuleOrigin origin{src_.name, entry["detector"].Mark().line + 1};
  if (!Require(entry, "type") || !Require(entry, "then")) return;
  enum class Type { kTravel, kCountry, kAsn, kNetwork } type;
  if (!Enum<Type>(entry["type"], "type",
                  {{"impossible_travel", Type::kTravel}, {"new_country", Type::kCountry},
                   {"new_asn", Type::kAsn}, {"new_network", Type::kNetwork}},
                  &type)) {
    return;
  }
  bool ok = true;
  bool enabled = true;
  if (type == Type::kTravel) {
    ImpossibleTravelParams p;
    p.name = name;
    p.origin = origin;
    Fields(entry, {"detector", "type", "description", "filter", "then", "severity", "mode", "enabled",
                   "max_speed_kmh", "min_distance_km", "default_accuracy_km", "ignore_same_asn",
                   "ignore_same_country", "ignore_asns", "max_gap"},
           [&](const std::string& k, const YAML::Node& v) {
             double d;
             if (k == "filter") ok &= CompileFilter(v, &p.filter);
             else if (k == "then") ok &= CompileConsequences(v, KeyKind::kAccount, &p.then);
             else if (k == "severity") ok &= CompileSeverity(v, &p.severity);
             else if (k == "mode") ok &= CompileMode(v, &p.monitor_only);
             else if (k == "enabled") ok &= Bool(v, "enabled", &enabled);
             else if (k == "max_speed_kmh") { ok &= Number(v, k, 1, 1e6, &p.max_speed_kmh); }
             else if (k == "min_distance_km") { ok &= Number(v, k, 0, 20100, &p.min_distance_km); }
             else if (k == "default_accuracy_km") {
               if (Number(v, k, 0, 5000, &d)) p.default_accuracy_km = static_cast<uint32_t>(d); else ok = false;
             }
             else if (k == "ignore_same_asn") ok &= Bool(v, k, &p.ignore_same_asn);
             else if (k == "ignore_same_country") ok &= Bool(v, k, &p.ignore_same_country);
             else if (k == "ignore_asns") {
               if (Scalar(v, k, &p.ignore_asns_list)) {
                 pending_lists_.push_back({p.ignore_asns_list, v.Mark(), entry_, FilterField::kAsn});
               } else {
                 ok = false;
               }
             }
             else if (k == "max_gap") ok &= Duration(v, k, &p.max_gap_ms);
           });
    if (ok && enabled) out_->travel.push_back(std::move(p));
    return;
  }
  NewLocationParams p;
  p.name = name;
  p.origin = origin;
  p.novelty = type == Type::kCountry ? NoveltyKind::kCountry
              : type == Type::kAsn   ? NoveltyKind::kAsn
                                     : NoveltyKind::kNetwork;
  Fields(entry, {"detector", "type", "description", "filter", "then", "severity", "mode", "enabled", "min_successes"},
         [&](const std::string& k, const YAML::Node& v) {
           double d;
           if (k == "filter") ok &= CompileFilter(v, &p.filter);
           else if (k == "min_successes") {
             if (Number(v, k, 1, 65535, &d)) p.min_successes = static_cast<uint32_t>(d); else ok = false;
           }
           else if (k == "then") ok &= CompileConsequences(v, KeyKind::kAccount, &p.then);
           else if (k == "severity") ok &= CompileSeverity(v, &p.severity);
           else if (k == "mode") ok &= CompileMode(v, &p.monitor_only);
           else if (k == "enabled") ok &= Bool(v, "enabled", &enabled);
         });
  if (ok && enabled) out_->novelty.push_back(std::move(p));
}

void Compiler::CompileProfile(const YAML::Node& entry) {
  entry_ = "profile";
  const YAML::Node p = entry["profile"];
  if (!p.IsMap()) {
    Error(DiagCode::kInvalidValue, p, "invalid value: profile must be a mapping");
    return;
  }
  Fields(p, {"established_after", "horizon", "warmup", "new_account"}, [&](const std::string& k, const YAML::Node& v) {
    double d;
    if (k == "established_after") {
      if (Number(v, k, 0, 65535, &d)) out_->profile.established_after = static_cast<uint32_t>(d);
    } else if (k == "horizon") {
      Duration(v, k, &out_->profile.horizon_ms);
    } else if (k == "warmup") {
      Duration(v, k, &out_->profile.warmup_ms);
    } else if (k == "new_account") {
      Duration(v, k, &out_->profile.new_account_ms);
    }
  });
}

void Compiler::CompilePolicy(const YAML::Node& entry) {
  entry_ = "policy";
  const YAML::Node p = entry["policy"];
  if (!p.IsMap()) {
    Error(DiagCode::kInvalidValue, p, "invalid value: policy must be a mapping");
    return;
  }
  Fields(p, {"escalation_factor", "max_ttl", "offence_memory", "allow"}, [&](const std::string& k, const YAML::Node& v) {
    if (k == "escalation_factor") {
      Number(v, k, 1, 100, &out_->policy.escalation_factor);
    } else if (k == "max_ttl") {
      Duration(v, k, &out_->policy.max_ttl_ms);
    } else if (k == "offence_memory") {
      Duration(v, k, &out_->policy.offence_memory_ms);
    } else if (k == "allow") {
      if (!v.IsSequence()) {
        Error(DiagCode::kInvalidValue, v, "invalid value: allow must be a list of list names");
        return;
      }
      for (const auto& item : v) {
        std::string name;
        if (Scalar(item, "allow", &name)) pending_allow_.emplace_back(name, item.Mark());
      }
    }
  });
}

// Which list types fit which filter fields.
bool ListFits(ListType t, FilterField f) {
  switch (t) {
    case ListType::kCidr: return f == FilterField::kIp;
    case ListType::kAsn: return f == FilterField::kAsn;
    case ListType::kAccount: return f == FilterField::kAccount;
    case ListType::kCountry: return f == FilterField::kCountry;
  }
  return false;
}

std::string_view ListTypeName(ListType t) {
  switch (t) {
    case ListType::kCidr: return "cidr";
    case ListType::kAsn: return "asn";
    case ListType::kAccount: return "account";
    case ListType::kCountry: return "country";
  }
  return "";
}

void ResolveFilterLists(const RuleSet& set, Filter* f) {
  for (auto& c : f->clauses) {
    if (c.list == -2) c.list = std::max(0, set.FindList(c.list_name));
  }
}

}  // namespace

RuleLoadResult CompileRules(const std::vector<RuleSource>& sources) {
  RuleLoadResult result;
  auto set = std::make_shared<RuleSet>();
  std::map<std::string, std::string> seen;
  std::vector<std::unique_ptr<Compiler>> compilers;
  uint64_t version = 0;
  for (const auto& src : sources) {
    compilers.push_back(std::make_unique<Compiler>(src, set.get(), &result.diagnostics, &seen));
    compilers.back()->Run();
    set->files.push_back(src.name);
    version = HashCombine(version, StableHash64(src.text));
  }
  // Resolve list references now that every file's lists are known (a list may be defined in a
  // file read after the rule that uses it).
  std::vector<bool> used(set->lists.size(), false);
  for (auto& c : compilers) {
    for (auto& ref : c->pending_lists_) {
      int index = set->FindList(ref.name);
      Diagnostic d;
      if (index < 0) {
        d.code = DiagCode::kUnknownList;
        d.message = Cat("unknown list: '", ref.name, "' is not defined in any rule file");
      } else if (!ListFits(set->lists[static_cast<size_t>(index)].type, ref.field)) {
        used[static_cast<size_t>(index)] = true;  // used, wrongly: one diagnostic is enough
        d.code = DiagCode::kListTypeMismatch;
        d.message = Cat("list type mismatch: '", ref.name, "' is a ",
                                 ListTypeName(set->lists[static_cast<size_t>(index)].type),
                                 " list and cannot match this field");
        index = -1;
      } else {
        used[static_cast<size_t>(index)] = true;
      }
      if (index < 0) {
        d.file = c->src_.name;
        d.line = ref.mark.line + 1;
        d.column = ref.mark.column + 1;
        d.entry = ref.entry;
        if (static_cast<size_t>(ref.mark.line) < c->lines_.size()) d.source_line = c->lines_[static_cast<size_t>(ref.mark.line)];
        result.diagnostics.items.push_back(d);
      }
    }
    for (auto& [name, mark] : c->pending_allow_) {
      const int index = set->FindList(name);
      if (index < 0) {
        Diagnostic d;
        d.code = DiagCode::kUnknownList;
        d.message = Cat("unknown list: '", name, "' is not defined in any rule file");
        d.file = c->src_.name;
        d.line = mark.line + 1;
        d.column = mark.column + 1;
        d.entry = "policy";
        if (static_cast<size_t>(mark.line) < c->lines_.size()) d.source_line = c->lines_[static_cast<size_t>(mark.line)];
        result.diagnostics.items.push_back(d);
      } else {
        used[static_cast<size_t>(index)] = true;
        set->policy.allow_lists.push_back(index);
      }
    }
  }
  for (auto& r : set->rules) {
    ResolveFilterLists(*set, &r.on);
    for (auto& w : r.when) {
      ResolveFilterLists(*set, &w.filter);
      ResolveFilterLists(*set, &w.of);
    }
  }
  for (auto& t : set->travel) {
    ResolveFilterLists(*set, &t.filter);
    if (!t.ignore_asns_list.empty()) t.ignore_asns = set->FindList(t.ignore_asns_list);
  }
  for (auto& n : set->novelty) ResolveFilterLists(*set, &n.filter);
  set->CompileFilters();
  for (size_t i = 0; i < set->lists.size(); ++i) {
    if (!used[i]) {
      Diagnostic d;
      d.severity = Severity::kWarning;
      d.code = DiagCode::kUnusedList;
      d.message = Cat("unused list: '", set->lists[i].name, "' is not used by any rule");
      d.entry = Cat("list '", set->lists[i].name, "'");
      d.file = set->lists[i].file;
      d.line = set->lists[i].line;
      d.column = set->lists[i].column;
      result.diagnostics.items.push_back(d);
    }
  }
  set->version = Cat(absl::Hex(version, absl::kZeroPad16)).substr(0, 12);
  if (result.diagnostics.errors() == 0) result.rules = std::move(set);
  return result;
}

namespace {

// An error about a whole file or path, not a place in it.
Diagnostic FileError(DiagCode code, std::string file, std::string message) {
  Diagnostic d;
  d.code = code;
  d.file = std::move(file);
  d.message = std::move(message);
  return d;
}

}  // namespace

RuleLoadResult LoadRules(const std::vector<std::string>& paths) {
  std::vector<RuleSource> sources;
  RuleLoadResult failed;
  for (const auto& path : paths) {
    std::vector<std::string> files;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& e : fs::directory_iterator(path, ec)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        failed.diagnostics.items.push_back(FileError(
            DiagCode::kCannotRead, f, "cannot read: the rule file or directory does not exist or is not readable"));
        continue;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      // Zero bytes is how a truncated file or one caught mid-copy (or on a full disk) looks:
      // taken as "no entries" it would drop its rules, and their state, without a word.
      if (ss.view().empty()) {
        failed.diagnostics.items.push_back(FileError(
            DiagCode::kEmptyFile, f, "empty file: truncated or still being written? (a placeholder needs a comment line)"));
        continue;
      }
      sources.push_back({f, ss.str()});
    }
  }
  if (failed.diagnostics.errors() > 0) return failed;
  RuleLoadResult result = CompileRules(sources);
  // An empty or emptied rule directory must not pass for a rule set: at start the engine
  // would decide nothing, and a reload would drop every window's state (the service keeps
  // its previous rules when a load fails).
  const RuleSet* rs = result.rules.get();
  if (rs != nullptr && rs->rules.empty() && rs->travel.empty() && rs->novelty.empty()) {
    result.diagnostics.items.push_back(
        FileError(DiagCode::kNoRules, absl::StrJoin(paths, ", "),
                  Cat("no rules: ", sources.size(), " file(s) read, and none holds a rule or a detector")));
    result.rules = nullptr;
  }
  return result;
}

}  // namespace authwatch
