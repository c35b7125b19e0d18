#include "ingest/event_fields.h"

#include <functional>

#include "absl/strings/ascii.h"

namespace authwatch {

std::string_view AccountCheckText(AccountCheck c) {
  switch (c) {
    case AccountCheck::kOk: return "ok";
    case AccountCheck::kEmpty: return "account is empty";
    case AccountCheck::kTooLong: return "account longer than 320 bytes";
    case AccountCheck::kControlChars: return "account contains control characters";
  }
  return "";
}

AccountCheck NormaliseAccount(std::string_view raw, std::string* out) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size()));
  if (trimmed.empty()) return AccountCheck::kEmpty;
  if (trimmed.size() > kMaxAccountBytes) return AccountCheck::kTooLong;
  // Every event passes here: one pass that copies and lowercases, without an early exit,
  // written so that it vectorises.
  const size_t n = trimmed.size();
  const char* in = trimmed.data();
  // `raw` may be a view into *out (normalising a string in place). Then *out already has the
  // room, and is shrunk only after the copy: resizing first would write its terminating NUL
  // into the input. The copy runs forwards from in >= out->data(), reading each byte before
  // it is overwritten.
  const std::less<const char*> before;
  const bool inside = !out->empty() && !before(in, out->data()) && before(in, out->data() + out->size());
  if (!inside) out->resize(n);
  unsigned char control = 0;
  char* p = out->data();
  for (size_t i = 0; i < n; ++i) {
    const auto u = static_cast<unsigned char>(in[i]);
    control |= static_cast<unsigned char>((u < 0x20) | (u == 0x7f));
    p[i] = static_cast<char>(u + (static_cast<unsigned char>(u - 'A') < 26 ? 'a' - 'A' : 0));
  }
  if (inside) out->resize(n);
  return control != 0 ? AccountCheck::kControlChars : AccountCheck::kOk;
}

std::optional<IpAddress> ParseClientAddress(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '[' && raw.back() == ']') {
    raw = raw.substr(1, raw.size() - 2);
  }
  return IpAddress::Parse(raw);
}

void NormaliseProtocol(std::string* p) {
  for (char& c : *p) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (p->size() > kMaxProtocolBytes) p->resize(kMaxProtocolBytes);
  struct Alias {
    std::string_view from, to;
  };
  static constexpr Alias kAliases[] = {
      {"submission", "smtp"}, {"submissions", "smtp"}, {"smtps", "smtp"}, {"esmtpa", "smtp"},
      {"esmtpsa", "smtp"},    {"imaps", "imap"},       {"pop3s", "pop3"}, {"pop", "pop3"},
      {"https", "web"},       {"http", "web"},         {"webmail", "web"}, {"sshd", "ssh"},
  };
  // Every event passes here: compare the length and first letter before the bytes.
  for (const Alias& a : kAliases) {
    if (p->size() == a.from.size() && (*p)[0] == a.from[0] && *p == a.from) {
      p->assign(a.to);
      return;
    }
  }
}

}  // namespace authwatch
