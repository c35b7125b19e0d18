#include "detect/key_table.h"

#include <cassert>
#include <new>

namespace authwatch {
namespace {

size_t RecordBytes(size_t slots) { return KeyRecord::Bytes(slots); }

}  // namespace

static_assert(alignof(KeyRecord) >= alignof(KeyState*) && alignof(KeyState*) >= alignof(uint32_t));

KeyTable::~KeyTable() { Clear(); }

KeyTable& KeyTable::operator=(KeyTable&& o) noexcept {
  if (this != &o) {
    Clear();
    slots_ = o.slots_;
    records_ = std::move(o.records_);
    o.records_.clear();
  }
  return *this;
}

void KeyTable::Clear() {
  for (auto& [key, r] : records_) {
    for (size_t i = 0; i < slots_; ++i) {
      if (KeyState* st = r->slot(i)) KeyState::Free()(st);
    }
    r->~KeyRecord();
    ::operator delete(r);
  }
  records_.clear();
}

KeyRecord* KeyTable::Add(uint64_t key) {
  void* raw = ::operator new(RecordBytes(slots_));
  auto* r = new (raw) KeyRecord(key, slots_);
  for (size_t i = 0; i < slots_; ++i) {
    r->slot(i) = nullptr;
    r->generation(i) = 0;
  }
  const bool added = records_.emplace(key, r).second;
  assert(added);
  (void)added;
  return r;
}

void KeyTable::Release(KeyRecord* r) {
  if (--r->refs_ != 0) return;
  for (size_t i = 0; i < slots_; ++i) assert(r->slot(i) == nullptr);
  records_.erase(r->key());
  r->~KeyRecord();
  ::operator delete(r);
}

size_t KeyTable::MemoryBytes() const {
  return records_.capacity() * (sizeof(uint64_t) + sizeof(KeyRecord*) + 1) + records_.size() * RecordBytes(slots_);
}

}  // namespace authwatch
