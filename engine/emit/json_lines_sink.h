// JsonLinesSink: decisions or enriched events as JSON lines to a file or stdout, buffered.
// Not thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "app/pipeline.h"

namespace authwatch {

class JsonLinesSink final : public OutputSink {
 public:
  // path "-" is stdout.
  static absl::StatusOr<std::unique_ptr<JsonLinesSink>> Open(const std::string& path);
  ~JsonLinesSink() override;
  void Decision(const authwatch::Decision& d) override;
  void Enriched(const EnrichedEvent& e) override;
  void Flush() override;
  uint64_t lines() const { return lines_; }

 private:
  JsonLinesSink(std::FILE* f, bool owned) : file_(f), owned_(owned) {}
  void MaybeFlush();
  std::FILE* file_;
  bool owned_;
  std::string buffer_;
  uint64_t lines_ = 0;
};

}  // namespace authwatch
