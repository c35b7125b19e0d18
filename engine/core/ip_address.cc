#include "core/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "core/stable_hash.h"

namespace authwatch {
namespace {
constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// A dotted quad as inet_pton(AF_INET) reads it: four decimal octets of at most 255, no leading
// zeros, nothing else. Written out because every event's address goes through it and
// inet_pton needs a copy into a NUL-terminated buffer first.
std::optional<uint32_t> ParseDottedQuad(std::string_view s) {
  uint32_t out = 0;
  size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    const size_t start = i;
    uint32_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      v = v * 10 + static_cast<uint32_t>(s[i++] - '0');
    }
    const size_t digits = i - start;
    if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0')) return std::nullopt;
    out = (out << 8) | v;
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    const auto v4 = ParseDottedQuad(text);
    if (!v4) return std::nullopt;
    return FromV4(*v4);
  }
  // inet_pton needs a NUL-terminated string; addresses are short.
  char buf[INET6_ADDRSTRLEN + 1];
  // An embedded NUL would end the C string early: "1.2.3.4\0junk" must not parse as 1.2.3.4.
  if (text.empty() || text.size() >= sizeof(buf) || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
  std::memcpy(ip.bytes_.data(), a6.s6_addr, 16);
  return ip;
}

IpAddress IpAddress::FromV4(uint32_t host_order) {
  IpAddress ip;
  std::memcpy(ip.bytes_.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size());
  ip.bytes_[12] = static_cast<uint8_t>(host_order >> 24);
  ip.bytes_[13] = static_cast<uint8_t>(host_order >> 16);
  ip.bytes_[14] = static_cast<uint8_t>(host_order >> 8);
  ip.bytes_[15] = static_cast<uint8_t>(host_order);
  return ip;
}

IpAddress IpAddress::FromV6(const std::array<uint8_t, 16>& bytes) {
  IpAddress ip;
  ip.bytes_ = bytes;
  return ip;
}

bool IpAddress::is_v4() const {
  return std::memcmp(bytes_.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0;
}

uint32_t IpAddress::v4() const {
  return (uint32_t{bytes_[12]} << 24) | (uint32_t{bytes_[13]} << 16) |
         (uint32_t{bytes_[14]} << 8) | uint32_t{bytes_[15]};
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    in_addr a;
    a.s_addr = htonl(v4());
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
  } else {
    in6_addr a6;
    std::memcpy(a6.s6_addr, bytes_.data(), 16);
    inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
  }
  return buf;
}

IpAddress IpAddress::Masked(int bits) const {
  IpAddress out = *this;
  const int offset = is_v4() ? 96 : 0;  // IPv4 bits start after the 96-bit mapped prefix
  const int keep = offset + std::max(0, std::min(bits, family_bits()));
  for (int i = 0; i < 16; ++i) {
    const int byte_start = i * 8;
    if (byte_start >= keep) {
      out.bytes_[i] = 0;
    } else if (byte_start + 8 > keep) {
      out.bytes_[i] &= static_cast<uint8_t>(0xff << (8 - (keep - byte_start)));
    }
  }
  return out;
}

uint64_t IpAddress::StableHash() const { return StableHash64(bytes_.data(), bytes_.size()); }

IpPrefix IpPrefix::Of(const IpAddress& ip, int v4_bits, int v6_bits) {
  const int bits = ip.is_v4() ? v4_bits : v6_bits;
  return IpPrefix{ip.Masked(bits), bits};
}

std::string IpPrefix::ToString() const { return network.ToString() + "/" + std::to_string(bits); }

bool IpPrefix::Contains(const IpAddress& ip) const {
  return ip.is_v4() == network.is_v4() && ip.Masked(bits) == network;
}

std::optional<IpPrefix> IpPrefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  int bits = ip->family_bits();
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    if (len.empty() || !absl::SimpleAtoi(absl::string_view(len.data(), len.size()), &bits) ||
        bits < 0 || bits > ip->family_bits()) {
      return std::nullopt;
    }
  }
  return IpPrefix{ip->Masked(bits), bits};
}

}  // namespace authwatch
