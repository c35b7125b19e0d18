// Hashes that are the same in every process and on every run: decision ids and state keys
// must survive restarts and agree between instances, which rules out absl::Hash (seeded per
// process). FNV-1a folded through a 64-bit finaliser (splitmix64) for good avalanche.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace authwatch {

constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

inline uint64_t StableHash64(const void* data, size_t size, uint64_t seed = 0) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0xcbf29ce484222325ULL ^ Mix64(seed);
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return Mix64(h);
}

inline uint64_t StableHash64(std::string_view s, uint64_t seed = 0) {
  return StableHash64(s.data(), s.size(), seed);
}

// Combines two hashes order-dependently.
constexpr uint64_t HashCombine(uint64_t a, uint64_t b) {
  return Mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

}  // namespace authwatch
