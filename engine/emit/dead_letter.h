// Dead-letter records: every rejected input, with its reason, where it came from and the
// original bytes, so that nothing is silently dropped and an operator can replay the fixed
// records. One JSON object per line:
//   {"reason":"bad_ip","detail":"/ip = '999.1.1.1' is not an IPv4 or IPv6 address",
//    "source":"events.jsonl:17","raw":"...","raw_base64":"..."}
// "raw" is present when the bytes are valid UTF-8 text; "raw_base64" always.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ingest/reject_reason.h"

namespace authwatch {

struct DeadLetter {
  const Rejection* rejection;
  std::string_view source;  // "file:line", "topic/partition@offset"
  std::string_view raw;
};

std::string FormatDeadLetter(const DeadLetter& letter);

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual void Write(const DeadLetter& letter) = 0;
  virtual void Flush() {}
};

// Writes to a file (created if needed): from the start (one replay's rejections), or appended.
// Not thread-safe.
class FileDeadLetterSink final : public DeadLetterSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileDeadLetterSink>> Open(const std::string& path, bool append);
  ~FileDeadLetterSink() override;
  void Write(const DeadLetter& letter) override;
  void Flush() override;
  const std::string& path() const { return path_; }

 private:
  FileDeadLetterSink(std::FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
  std::string buffer_;
};

}  // namespace authwatch
