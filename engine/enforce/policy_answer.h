// The Postfix policy delegation protocol (https://www.postfix.org/SMTPD_POLICY_README.html):
// a request is "name=value" lines ended by an empty line; the answer is "action=..." then an
// empty line. PolicyRequestParser assembles requests from a byte stream; PolicyAnswerer decides
// the action from the decisions in force. Both are cheap and allocation-light.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "enforce/decision_store.h"
#include "enrich/geo_enricher.h"

namespace authwatch {

struct PolicyRequest {
  std::string sasl_username;
  std::string client_address;
  std::string protocol_state;
  std::string request;     // "smtpd_access_policy"
  int malformed_lines = 0;  // lines without '=' (ignored)
};

// Incremental parser. Feed() bytes; complete requests are handed to `on_request`.
// Returns false when a request exceeds max_bytes (the connection should be answered and closed).
class PolicyRequestParser {
 public:
  explicit PolicyRequestParser(size_t max_bytes) : max_bytes_(max_bytes) {}
  bool Feed(std::string_view bytes, const std::function<void(const PolicyRequest&)>& on_request);

 private:
  void Line(std::string_view line);
  size_t max_bytes_;
  size_t request_bytes_ = 0;
  std::string partial_;
  PolicyRequest current_;
};

enum class PolicyVerdict : uint8_t { kReject, kDefer, kDunno };
std::string_view PolicyVerdictName(PolicyVerdict v);

struct PolicyAnswer {
  PolicyVerdict verdict = PolicyVerdict::kDunno;
  std::string text;  // the full response, "action=...\n\n"
};

struct PolicyAnswerOptions {
  std::string reject_text = "554 5.7.1 Sending refused: this account or network is blocked for suspected abuse";
  std::string challenge_action = "450 4.7.1 Additional verification required, try again later";
  std::string unavailable_action = "451 4.3.5 Policy service temporarily unavailable";
  bool fail_open = true;  // before the decisions are loaded: DUNNO (open) or unavailable_action
  int prefix_v4_bits = 24;
  int prefix_v6_bits = 64;
};

class PolicyAnswerer {
 public:
  // `asn` looks up an address's ASN (0: unknown); may be empty.
  PolicyAnswerer(const DecisionStore* store, PolicyAnswerOptions options, std::function<uint32_t(const IpAddress&)> asn)
      : store_(store), options_(std::move(options)), asn_(std::move(asn)) {}

  // `ready`: the decisions have been loaded (else fail open or closed per options).
  PolicyAnswer Answer(const PolicyRequest& request, EventTimeMs now_ms, bool ready) const;

 private:
  const DecisionStore* store_;
  PolicyAnswerOptions options_;
  std::function<uint32_t(const IpAddress&)> asn_;
};

}  // namespace authwatch
