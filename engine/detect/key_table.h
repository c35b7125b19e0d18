// KeyTable: the window state of every rule of one key kind, one record per key.
//
// Seven of the shipped rules are keyed by address, and their ratios count every login of the
// address: with a table per rule, a login of a known address looked the same key up seven
// times, and those lookups were the largest part of the rule windows' time. A record holds the
// key's state in each rule of the kind (a pointer per rule, null where it has none), so an
// event makes one lookup per key kind.
//
// Records are reference-counted by their owner's generation lists (RuleWindows): a record is
// removed, and freed, when its last list entry is released; the owner frees each state before
// it releases the state's last entry, so a record's slots are all empty by then.
//
// Owned by one shard's RuleWindows; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "detect/key_state.h"

namespace authwatch {

class KeyRecord {
 public:
  uint64_t key() const { return key_; }
  // The key's state in the kind's rule `i` (RuleWindows' slot of the rule), or null.
  KeyState*& slot(size_t i) { return States()[i]; }
  KeyState* slot(size_t i) const { return States()[i]; }
  // The rule's generation that state was last touched in. Here rather than in the state: an
  // event checks it for every rule while it looks states up, and the states themselves are
  // only fetched (prefetched, all at once) after every lookup.
  uint32_t& generation(size_t i) { return Generations()[i]; }
  uint32_t generation(size_t i) const { return Generations()[i]; }
  size_t slots() const { return slots_; }
  // Bytes of a record with `slots` slots: the header, the generations, the state pointers.
  static size_t Bytes(size_t slots) { return StatesOffset(slots) + slots * sizeof(KeyState*); }

 private:
  friend class KeyTable;
  KeyRecord(uint64_t key, uint32_t slots) : key_(key), slots_(slots) {}
  static size_t StatesOffset(size_t slots) {
    const size_t end = sizeof(KeyRecord) + slots * sizeof(uint32_t);
    return (end + alignof(KeyState*) - 1) / alignof(KeyState*) * alignof(KeyState*);
  }
  uint32_t* Generations() const { return reinterpret_cast<uint32_t*>(const_cast<KeyRecord*>(this) + 1); }
  KeyState** States() const {
    return reinterpret_cast<KeyState**>(reinterpret_cast<char*>(const_cast<KeyRecord*>(this)) + StatesOffset(slots_));
  }

  const uint64_t key_;
  const uint32_t slots_;
  uint32_t refs_ = 0;  // entries in the owner's generation lists
};

class KeyTable {
 public:
  explicit KeyTable(size_t slots = 0) : slots_(static_cast<uint32_t>(slots)) {}
  ~KeyTable();  // frees every record and the states left in them
  KeyTable(KeyTable&& o) noexcept : slots_(o.slots_), records_(std::move(o.records_)) { o.records_.clear(); }
  KeyTable& operator=(KeyTable&& o) noexcept;
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  size_t Hash(uint64_t key) const { return records_.hash_function()(key); }
  // `hash`: Hash(key), computed once per event and key kind.
  KeyRecord* Find(uint64_t key, size_t hash) const {
    auto it = records_.find(key, hash);
    return it == records_.end() ? nullptr : it->second;
  }
  // A new record with every slot empty; the key must not have one.
  KeyRecord* Add(uint64_t key);
  // One more / one less list entry refers to `r`; at none it is removed and freed (its slots
  // must be empty).
  static void Retain(KeyRecord* r) { ++r->refs_; }
  void Release(KeyRecord* r);

  size_t size() const { return records_.size(); }
  size_t slots() const { return slots_; }
  // The table and the records, not the states.
  size_t MemoryBytes() const;
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [key, r] : records_) f(static_cast<const KeyRecord&>(*r));
  }

 private:
  void Clear();
  uint32_t slots_;
  absl::flat_hash_map<uint64_t, KeyRecord*> records_;
};

}  // namespace authwatch
