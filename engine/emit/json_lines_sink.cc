#include "emit/json_lines_sink.h"

#include <cerrno>
#include <cstring>

#include "core/strings.h"
#include "emit/decision_json.h"
#include "emit/enriched_json.h"

namespace authwatch {

absl::StatusOr<std::unique_ptr<JsonLinesSink>> JsonLinesSink::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(stdout, false));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(Cat("output '", path, "': ", std::strerror(errno)));
  }
  return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(f, true));
}

JsonLinesSink::~JsonLinesSink() {
  Flush();
  if (owned_) std::fclose(file_);
}

void JsonLinesSink::Decision(const authwatch::Decision& d) {
  AppendDecisionJson(d, &buffer_);
  buffer_.push_back('\n');
  ++lines_;
  // Decisions are rare and someone may be waiting on them (a pipe to a gateway): write now.
  Flush();
}

void JsonLinesSink::Enriched(const EnrichedEvent& e) {
  AppendEnrichedJson(e, &buffer_);
  buffer_.push_back('\n');
  ++lines_;
  MaybeFlush();
}

void JsonLinesSink::MaybeFlush() {
  if (buffer_.size() >= (1 << 16)) {
    std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    buffer_.clear();
  }
}

void JsonLinesSink::Flush() {
  if (!buffer_.empty()) {
    std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    buffer_.clear();
  }
  std::fflush(file_);
}

}  // namespace authwatch
