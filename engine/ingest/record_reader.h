// RecordReader: yields input records from a file or stdin without copying each one twice.
//   - JSON lines / syslog lines: one record per '\n'-terminated line ('\r\n' accepted).
//     A line longer than the record limit is still consumed whole and handed on (the decoder
//     rejects it as oversize), so one bad line never desynchronises the rest.
//   - Length-delimited protobuf: varint length, then the message (protobuf's writeDelimitedTo).
// Not thread-safe. Owns the FILE* it opens (not stdin).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace authwatch {

enum class RecordFraming : uint8_t { kLines, kLengthDelimited };

class RecordReader {
 public:
  // Bytes per read: small enough that a read's copy stays in the core's L2 (512 KiB here) until
  // its lines are decoded. A 1 MiB read flushed the whole L2, the detection state with it.
  static constexpr size_t kReadChunk = 64 << 10;

  // path "-" reads stdin.
  static absl::StatusOr<std::unique_ptr<RecordReader>> Open(const std::string& path, RecordFraming framing);
  ~RecordReader();

  // Next record; false at end of input. *record stays valid until the next call.
  // Sets *error (and returns false) on a framing error, e.g. a truncated protobuf record.
  bool Next(std::string_view* record, std::string* error);
  // 1-based number of the last record returned (line number for lines).
  int64_t record_number() const { return record_number_; }
  // Bytes consumed so far and total size (0 when unknown, e.g. a pipe): for the progress bar.
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t total_bytes() const { return total_bytes_; }
  const std::string& name() const { return name_; }

 private:
  RecordReader(std::FILE* f, bool owned, std::string name, RecordFraming framing);
  bool Fill();  // reads more bytes into buffer_; false at EOF
  bool NextLine(std::string_view* record);
  bool NextDelimited(std::string_view* record, std::string* error);

  std::FILE* file_;
  bool owned_;
  std::string name_;
  RecordFraming framing_;
  std::string buffer_;
  size_t start_ = 0;  // first unconsumed byte in buffer_
  size_t end_ = 0;    // end of the bytes read into buffer_ (its size is its capacity)
  bool eof_ = false;
  int64_t record_number_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace authwatch
