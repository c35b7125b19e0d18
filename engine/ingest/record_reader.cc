#include "ingest/record_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/strings.h"

namespace authwatch {
namespace {
constexpr uint64_t kMaxDelimitedRecord = 64 << 20;  // a length beyond this is a framing error
}  // namespace

absl::StatusOr<std::unique_ptr<RecordReader>> RecordReader::Open(const std::string& path,
                                                                 RecordFraming framing) {
  if (path == "-") {
    return std::unique_ptr<RecordReader>(new RecordReader(stdin, false, "stdin", framing));
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(Cat("input '", path, "': ", std::strerror(errno)));
  }
  auto reader = std::unique_ptr<RecordReader>(new RecordReader(f, true, path, framing));
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) reader->total_bytes_ = st.st_size;
  return reader;
}

RecordReader::RecordReader(std::FILE* f, bool owned, std::string name, RecordFraming framing)
    : file_(f), owned_(owned), name_(std::move(name)), framing_(framing) {}

RecordReader::~RecordReader() {
  if (owned_) std::fclose(file_);
}

bool RecordReader::Fill() {
  if (eof_) return false;
  // Drop consumed bytes before growing, so the buffer holds at most one record plus a chunk.
  if (start_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  // The buffer only grows (for a record longer than a chunk): resizing it down and up again
  // would zero-fill a chunk per read.
  if (buffer_.size() < end_ + kReadChunk) buffer_.resize(end_ + kReadChunk);
  const size_t n = std::fread(buffer_.data() + end_, 1, kReadChunk, file_);
  end_ += n;
  bytes_read_ += n;
  if (n == 0) eof_ = true;
  return n > 0;
}

bool RecordReader::Next(std::string_view* record, std::string* error) {
  return framing_ == RecordFraming::kLines ? NextLine(record) : NextDelimited(record, error);
}

bool RecordReader::NextLine(std::string_view* record) {
  size_t scan_from = start_;
  for (;;) {
    const void* nl = std::memchr(buffer_.data() + scan_from, '\n', end_ - scan_from);
    if (nl != nullptr) {
      const size_t end = static_cast<const char*>(nl) - buffer_.data();
      size_t len = end - start_;
      if (len > 0 && buffer_[start_ + len - 1] == '\r') --len;
      *record = std::string_view(buffer_.data() + start_, len);
      start_ = end + 1;
      ++record_number_;
      return true;
    }
    const size_t scanned = end_ - start_;
    if (!Fill()) {
      if (start_ < end_) {  // last line without a newline
        *record = std::string_view(buffer_.data() + start_, end_ - start_);
        start_ = end_;
        ++record_number_;
        return true;
      }
      return false;
    }
    scan_from = start_ + scanned;  // Fill() moved the unconsumed bytes to the front
  }
}

bool RecordReader::NextDelimited(std::string_view* record, std::string* error) {
  for (;;) {
    // Decode the varint length from buffered bytes.
    uint64_t len = 0;
    size_t pos = start_;
    int shift = 0;
    bool complete = false;
    while (pos < end_ && shift < 64) {
      const auto b = static_cast<unsigned char>(buffer_[pos++]);
      len |= uint64_t{b & 0x7fu} << shift;
      shift += 7;
      if ((b & 0x80) == 0) {
        complete = true;
        break;
      }
    }
    if (complete && len > kMaxDelimitedRecord) {
      *error = Cat(name_, ": record ", record_number_ + 1, " declares ", len,
                            " bytes: not a length-delimited protobuf stream");
      return false;
    }
    if (complete && end_ - pos >= len) {
      *record = std::string_view(buffer_.data() + pos, len);
      start_ = pos + len;
      ++record_number_;
      return true;
    }
    if (!Fill()) {
      if (start_ < end_) {
        *error = Cat(name_, ": truncated record ", record_number_ + 1, " at end of input");
      }
      return false;
    }
  }
}

}  // namespace authwatch
