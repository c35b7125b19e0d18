#include "enforce/policy_answer.h"

#include "core/strings.h"
#include "ingest/event_fields.h"

namespace authwatch {

std::string_view PolicyVerdictName(PolicyVerdict v) {
  switch (v) {
    case PolicyVerdict::kReject: return "reject";
    case PolicyVerdict::kDefer: return "defer";
    case PolicyVerdict::kDunno: return "dunno";
  }
  return "";
}

bool PolicyRequestParser::Feed(std::string_view bytes, const std::function<void(const PolicyRequest&)>& on_request) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view chunk = bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl);
    request_bytes_ += chunk.size() + (nl == std::string_view::npos ? 0 : 1);
    if (request_bytes_ > max_bytes_) return false;
    if (nl == std::string_view::npos) {
      partial_.append(chunk);
      return true;
    }
    std::string_view line = chunk;
    if (!partial_.empty()) {
      partial_.append(chunk);
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      on_request(current_);
      current_ = PolicyRequest{};
      request_bytes_ = 0;
    } else {
      Line(line);
    }
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
  return true;
}

void PolicyRequestParser::Line(std::string_view line) {
  const size_t eq = line.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    ++current_.malformed_lines;
    return;
  }
  const std::string_view name = line.substr(0, eq);
  const std::string_view value = line.substr(eq + 1);
  if (name == "sasl_username") current_.sasl_username = value;
  else if (name == "client_address") current_.client_address = value;
  else if (name == "protocol_state") current_.protocol_state = value;
  else if (name == "request") current_.request = value;
}

PolicyAnswer PolicyAnswerer::Answer(const PolicyRequest& r, EventTimeMs now_ms, bool ready) const {
  PolicyAnswer a;
  if (!ready && !options_.fail_open) {
    a.verdict = PolicyVerdict::kDefer;
    a.text = Cat("action=", options_.unavailable_action, "\n\n");
    return a;
  }
  std::string account;
  const bool has_account = !r.sasl_username.empty() && NormaliseAccount(r.sasl_username, &account) == AccountCheck::kOk;
  const auto ip = r.client_address.empty() ? std::nullopt : ParseClientAddress(r.client_address);
  // Subjects from most to least specific; the strongest decision in force wins.
  std::optional<HeldDecision> best;
  auto consider = [&](KeyKind type, const std::string& value) {
    auto d = store_->Find(type, value, "smtp", now_ms);
    if (d && (!best || ActionStrength(d->action) > ActionStrength(best->action))) best = std::move(d);
  };
  if (has_account) consider(KeyKind::kAccount, account);
  if (ip) {
    const std::string ip_text = ip->ToString();
    consider(KeyKind::kIp, ip_text);
    if (has_account) consider(KeyKind::kAccountIp, Cat(account, "|", ip_text));
    consider(KeyKind::kPrefix, IpPrefix::Of(*ip, options_.prefix_v4_bits, options_.prefix_v6_bits).ToString());
    if (asn_) {
      if (const uint32_t asn = asn_(*ip); asn != 0) consider(KeyKind::kAsn, Cat("AS", asn));
    }
  }
  if (!best) {
    a.text = "action=DUNNO\n\n";
    return a;
  }
  // The reference lets the provider's support find the decision; nothing else is disclosed.
  const std::string ref = Cat(" (ref ", best->decision_id.substr(0, 12), ")");
  if (best->action == ActionKind::kBlock) {
    a.verdict = PolicyVerdict::kReject;
    a.text = Cat("action=", options_.reject_text, ref, "\n\n");
  } else {
    a.verdict = PolicyVerdict::kDefer;
    a.text = Cat("action=", options_.challenge_action, ref, "\n\n");
  }
  return a;
}

}  // namespace authwatch
