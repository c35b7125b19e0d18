// SharedSample: one event's evidence (time, address, result, account, protocol), shared by every
// window state that keeps it as a sample. An event updates about ten states (one per rule that
// counts it); each used to copy the account and protocol strings into its own ring, now they
// hold a reference to one copy, freed with the last state that holds it.
//
// The count is not atomic: a sample belongs to one shard's RuleWindows and never leaves it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/auth_event.h"
#include "core/ip_address.h"

namespace authwatch {

struct EvidenceSample {
  EventTimeMs ts_ms = 0;
  IpAddress ip;
  AuthResult result = AuthResult::kFailure;
  std::string account;
  std::string protocol;
};

class SharedSample {
 public:
  SharedSample() = default;
  // A new sample, for its maker to fill through mutable_sample() before sharing it.
  static SharedSample Make() {
    SharedSample s;
    s.node_ = new Node;
    return s;
  }
  SharedSample(const SharedSample& o) : node_(o.node_) {
    if (node_ != nullptr) ++node_->refs;
  }
  SharedSample(SharedSample&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
  SharedSample& operator=(const SharedSample& o) {
    if (o.node_ != nullptr) ++o.node_->refs;  // first: o may be this
    Release();
    node_ = o.node_;
    return *this;
  }
  SharedSample& operator=(SharedSample&& o) noexcept {
    if (this != &o) {
      Release();
      node_ = std::exchange(o.node_, nullptr);
    }
    return *this;
  }
  ~SharedSample() { Release(); }

  explicit operator bool() const { return node_ != nullptr; }
  const EvidenceSample& operator*() const { return node_->sample; }
  const EvidenceSample* operator->() const { return &node_->sample; }
  EvidenceSample* mutable_sample() { return &node_->sample; }
  void reset() { Release(); }

 private:
  struct Node {
    EvidenceSample sample;
    uint32_t refs = 1;
  };
  void Release() {
    if (node_ != nullptr && --node_->refs == 0) delete node_;
    node_ = nullptr;
  }
  Node* node_ = nullptr;
};

}  // namespace authwatch
