#include "emit/dead_letter.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "core/strings.h"
#include "core/json_writer.h"
#include "simdjson.h"

namespace authwatch {

std::string FormatDeadLetter(const DeadLetter& letter) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Field("reason", RejectReasonName(letter.rejection->reason))
      .Field("detail", letter.rejection->detail)
      .Field("source", letter.source);
  if (simdjson::validate_utf8(letter.raw.data(), letter.raw.size())) {
    w.Field("raw", letter.raw);
  }
  w.Field("raw_base64", absl::Base64Escape(absl::string_view(letter.raw.data(), letter.raw.size())));
  w.EndObject();
  return out;
}

absl::StatusOr<std::unique_ptr<FileDeadLetterSink>> FileDeadLetterSink::Open(const std::string& path, bool append) {
  // "-" is stderr (stdout carries the decisions).
  std::FILE* f = path == "-" ? fdopen(dup(2), "ab") : std::fopen(path.c_str(), append ? "ab" : "wb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        Cat("dead-letter file '", path, "' cannot be opened: ", std::strerror(errno)));
  }
  return std::unique_ptr<FileDeadLetterSink>(new FileDeadLetterSink(f, path));
}

FileDeadLetterSink::~FileDeadLetterSink() {
  Flush();
  std::fclose(file_);
}

void FileDeadLetterSink::Write(const DeadLetter& letter) {
  buffer_ += FormatDeadLetter(letter);
  buffer_.push_back('\n');
  if (buffer_.size() > 1 << 16) Flush();
}

void FileDeadLetterSink::Flush() {
  if (!buffer_.empty()) {
    std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    buffer_.clear();
  }
  std::fflush(file_);
}

}  // namespace authwatch
