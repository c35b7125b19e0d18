#include "detect/key_presence.h"

#include <algorithm>
#include <bit>

namespace authwatch {

void KeyPresence::Reset(size_t expected_keys) {
  // Room for as many new keys as there are live ones (at least 4096) before the next rebuild,
  // at 16 bits per key: three bits of a word then give about 1% false positives.
  const size_t capacity = expected_keys + std::max<size_t>(4096, expected_keys);
  const size_t words = std::bit_ceil(std::max<size_t>(64, capacity / 4));
  words_.assign(words, 0);
  mask_ = words - 1;
  inserted_ = 0;
  rebuild_after_ = capacity;
}

uint64_t KeyPresence::Mix(uint64_t key) {
  // Keys are already hashes, but of a few kinds sharing a structure (a prefix id in the top
  // half): one multiply spreads them over every bit used below.
  key ^= key >> 31;
  key *= 0x9e3779b97f4a7c15ULL;
  return key ^ (key >> 29);
}

void KeyPresence::Insert(uint64_t key) {
  if (words_.empty()) Reset(0);
  const uint64_t h = Mix(key);
  words_[(h >> 32) & mask_] |= (uint64_t{1} << (h & 63)) | (uint64_t{1} << ((h >> 6) & 63)) |
                               (uint64_t{1} << ((h >> 12) & 63));
  ++inserted_;
}

bool KeyPresence::MayContain(uint64_t key) const {
  if (words_.empty()) return false;
  const uint64_t h = Mix(key);
  const uint64_t bits = (uint64_t{1} << (h & 63)) | (uint64_t{1} << ((h >> 6) & 63)) |
                        (uint64_t{1} << ((h >> 12) & 63));
  return (words_[(h >> 32) & mask_] & bits) == bits;
}

}  // namespace authwatch
