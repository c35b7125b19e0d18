// Built-in detectors that need the account's own history rather than a window of counts:
//   - impossible travel between the previous and this successful login;
//   - novelty: a successful login from a country, ASN or network the account has not used.
// Both read the profile facts that AccountProfiles::Observe put in the EventContext.
// Stateless apart from the rule set; thread-compatible.
#pragma once

#include <memory>
#include <vector>

#include "detect/account_profiles.h"
#include "detect/signal.h"

namespace authwatch {

// Great-circle distance in km (haversine, mean Earth radius 6371.0088 km).
double DistanceKm(double lat1, double lon1, double lat2, double lon2);

class ProfileDetectors {
 public:
  explicit ProfileDetectors(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)) {}
  void SetRules(std::shared_ptr<const RuleSet> rules) { rules_ = std::move(rules); }

  // `previous` is the account's previous successful login with a location, or null.
  void Process(const EventContext& ctx, const PreviousLogin* previous, std::vector<Signal>* out) const;

 private:
  void Travel(const ImpossibleTravelParams& p, const EventContext& ctx, const PreviousLogin& prev,
              std::vector<Signal>* out) const;
  void Novelty(const NewLocationParams& p, const EventContext& ctx, std::vector<Signal>* out) const;
  std::shared_ptr<const RuleSet> rules_;
};

}  // namespace authwatch
