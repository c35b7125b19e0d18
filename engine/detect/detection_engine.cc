#include "detect/detection_engine.h"

namespace authwatch {

DetectionEngine::DetectionEngine(std::shared_ptr<const RuleSet> rules)
    : rules_(rules), profiles_(rules->profile), windows_(rules), profile_detectors_(rules) {}

void DetectionEngine::SetRules(std::shared_ptr<const RuleSet> rules) {
  profiles_.set_params(rules->profile);
  windows_.SetRules(rules);
  profile_detectors_.SetRules(rules);
  rules_ = std::move(rules);
}

void DetectionEngine::Process(const EnrichedEvent& event, EventContext* ctx, std::vector<Signal>* out) {
  ComputeKeys(event, ctx);
  PreviousLogin previous;
  const bool has_previous = profiles_.Observe(ctx, &previous);
  windows_.Process(*ctx, out);
  profile_detectors_.Process(*ctx, has_previous ? &previous : nullptr, out);
  profiles_.Learn(*ctx);
}

void DetectionEngine::ProcessWithFacts(const EnrichedEvent& event, const ProfileFacts& facts, EventContext* ctx,
                                       std::vector<Signal>* out) {
  ComputeKeys(event, ctx);
  ctx->profile = facts;
  windows_.Process(*ctx, out);
}

}  // namespace authwatch
