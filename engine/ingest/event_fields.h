// Field normalisation shared by every decoder (JSON, protobuf, syslog), so that the same login
// yields the same event and the same state key whatever format carried it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/ip_address.h"

namespace authwatch {

inline constexpr size_t kMaxAccountBytes = 320;  // RFC 5321 path limit (256) plus headroom
inline constexpr size_t kMaxProtocolBytes = 16;
inline constexpr size_t kMaxFreeTextBytes = 512;  // user agent, reason, ids: a prefix is kept

enum class AccountCheck : uint8_t { kOk, kEmpty, kTooLong, kControlChars };
std::string_view AccountCheckText(AccountCheck c);

// Trims white space and lower-cases ASCII letters: mail providers treat "Alice@Mail.Example"
// and "alice@mail.example" as one mailbox, and an attacker must not split state by case.
AccountCheck NormaliseAccount(std::string_view raw, std::string* out);

// An address as producers write it: plain, IPv4-mapped IPv6, or bracketed "[2001:db8::1]".
std::optional<IpAddress> ParseClientAddress(std::string_view raw);

// Lower-cases; maps common aliases (submission, smtps, esmtpa → smtp; imaps → imap; pop3s → pop3;
// https, http, webmail → web; sshd → ssh).
void NormaliseProtocol(std::string* protocol);

}  // namespace authwatch
