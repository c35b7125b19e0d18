// SharedSample: one event's evidence (time, address, result, account, protocol), shared by every
// window state that keeps it as a sample. An event updates about ten states (one per rule that
// counts it); each used to copy the account and protocol strings into its own ring, now they
// hold a reference to one copy, freed with the last state that holds it.
//
// The count is not atomic: a sample belongs to one shard's RuleWindows and never leaves it.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/auth_event.h"
#include "core/ip_address.h"

namespace authwatch {

// The account and protocol are views of the sample's own copy, made with it in one allocation:
// valid only while a SharedSample holds the sample (read it through one, never copy it out).
struct EvidenceSample {
  EventTimeMs ts_ms = 0;
  IpAddress ip;
  AuthResult result = AuthResult::kFailure;
  std::string_view account;
  std::string_view protocol;
};

class SharedSample {
 public:
  // What MemoryBytes counts for a sample as if it were not shared: the node and typical
  // account and protocol texts (the budget of set_memory_budget was set with this figure).
  static constexpr size_t kEstimatedBytes = 96;
  SharedSample() = default;
  // A new sample holding copies of `account` and `protocol`: one allocation for the sample and
  // both strings (an event makes one, and at millions of events per second a second and third
  // allocation for the strings was a tenth of the rule windows' time).
  static SharedSample Make(EventTimeMs ts_ms, const IpAddress& ip, AuthResult result, std::string_view account,
                           std::string_view protocol) {
    void* raw = ::operator new(sizeof(Node) + account.size() + protocol.size());
    Node* node = new (raw) Node;
    char* text = static_cast<char*>(raw) + sizeof(Node);
    // An empty view may have no data at all, and memcpy from null is undefined even for 0 bytes.
    if (!account.empty()) std::memcpy(text, account.data(), account.size());
    if (!protocol.empty()) std::memcpy(text + account.size(), protocol.data(), protocol.size());
    EvidenceSample& s = node->sample;
    s.ts_ms = ts_ms;
    s.ip = ip;
    s.result = result;
    s.account = std::string_view(text, account.size());
    s.protocol = std::string_view(text + account.size(), protocol.size());
    SharedSample out;
    out.node_ = node;
    return out;
  }
  SharedSample(const SharedSample& o) : node_(o.node_) {
    if (node_ != nullptr) ++node_->refs;
  }
  SharedSample(SharedSample&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
  SharedSample& operator=(const SharedSample& o) {
    Node* node = o.node_;  // before Release: o may be this
    if (node != nullptr) ++node->refs;
    Release();
    node_ = node;
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
  void reset() { Release(); }

 private:
  struct Node {  // followed in its allocation by the account's and the protocol's bytes
    EvidenceSample sample;
    uint32_t refs = 1;
  };
  static_assert(std::is_trivially_destructible_v<Node>);
  void Release() {
    if (node_ != nullptr && --node_->refs == 0) ::operator delete(node_);
    node_ = nullptr;
  }
  Node* node_ = nullptr;
};

}  // namespace authwatch
