// IpAddress: an IPv4 or IPv6 address in 16 bytes, and IpPrefix, a masked network.
// Value types, trivially copyable, thread-compatible. IPv4 is stored in the IPv4-mapped form
// (::ffff:a.b.c.d) so that one representation serves hashing and masking; an IPv4-mapped IPv6
// text address parses to the same value as the plain IPv4 text, which is the normalisation
// producers need (dual-stack servers log ::ffff:198.51.100.7).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace authwatch {

class IpAddress {
 public:
  IpAddress() = default;

  // Parses textual IPv4 or IPv6 (RFC 4291 forms, no zone id, no brackets). nullopt when invalid.
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress FromV4(uint32_t host_order);
  static IpAddress FromV6(const std::array<uint8_t, 16>& bytes);

  bool is_v4() const;
  // Bits in the native family: 32 or 128.
  int family_bits() const { return is_v4() ? 32 : 128; }
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  uint32_t v4() const;  // host order; only meaningful when is_v4()

  // Canonical text: dotted quad for IPv4, RFC 5952 for IPv6.
  std::string ToString() const;
  // Keeps the first `bits` bits of the native family, zeroing the rest.
  IpAddress Masked(int bits) const;
  // 64-bit hash, stable across processes (used for state keys and snapshots).
  uint64_t StableHash() const;

  // Two 8-byte compares rather than memcmp: the GeoIP cache and the rule windows compare
  // addresses on every event.
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    uint64_t x[2], y[2];
    std::memcpy(x, a.bytes_.data(), 16);
    std::memcpy(y, b.bytes_.data(), 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& ip) {
    return H::combine_contiguous(std::move(h), ip.bytes_.data(), ip.bytes_.size());
  }

 private:
  std::array<uint8_t, 16> bytes_{};
};

// A network: address with host bits zeroed, and its length in bits of the native family.
struct IpPrefix {
  IpAddress network;
  int bits = 0;

  static IpPrefix Of(const IpAddress& ip, int v4_bits, int v6_bits);
  // "198.51.100.0/24", "2001:db8::/64"
  std::string ToString() const;
  bool Contains(const IpAddress& ip) const;
  // Parses CIDR text; a bare address is a host prefix (/32 or /128).
  static std::optional<IpPrefix> Parse(std::string_view text);
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

}  // namespace authwatch
