#include "detect/key_state.h"

#include <new>
#include <type_traits>

namespace authwatch {

KeyStateLayout::KeyStateLayout(const std::vector<Condition>& when) {
  for (const Condition& c : when) {
    switch (c.aggregate) {
      case Aggregate::kCount:
        slots_.push_back(counters_);
        counters_ += 1;
        break;
      case Aggregate::kRatio:
        slots_.push_back(counters_);
        counters_ += 2;
        break;
      case Aggregate::kDistinct:
        slots_.push_back(distincts_);
        distincts_ += 1;
        break;
    }
  }
}

KeyState::Ptr KeyState::Make(const KeyStateLayout& layout) {
  const auto counters = static_cast<uint8_t>(layout.counters());
  const auto distincts = static_cast<uint8_t>(layout.distincts());
  void* raw = ::operator new(sizeof(KeyState) + WindowBytes(counters, distincts));
  auto* st = new (raw) KeyState(counters, distincts);
  // Neither constructor throws: the windows are empty until counted in.
  for (size_t i = 0; i < counters; ++i) new (st->CounterData() + i) SlidingCounter();
  for (size_t i = 0; i < distincts; ++i) new (st->DistinctData() + i) SlidingDistinct();
  return Ptr(st);
}

KeyState::~KeyState() {
  static_assert(std::is_trivially_destructible_v<SlidingCounter>);
  for (SlidingDistinct& d : distincts()) d.~SlidingDistinct();
}

void KeyState::Free::operator()(KeyState* st) const {
  st->~KeyState();
  ::operator delete(st);
}

bool KeyState::WindowsExpired(int64_t bucket, EventTimeMs t, int64_t window_ms) const {
  for (const SlidingCounter& c : counters()) {
    if (!c.ExpiredAt(bucket)) return false;
  }
  for (const SlidingDistinct& d : distincts()) {
    if (!d.Expired(t, window_ms)) return false;
  }
  return true;
}

}  // namespace authwatch
