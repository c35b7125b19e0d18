// JsonEventDecoder: one JSON object (a line of a JSON-lines file, or a Kafka message value) to
// an AuthEvent through a FieldMapping. simdjson's DOM parser validates the whole record,
// including UTF-8, before any field is read. Not thread-safe (owns the parser's buffers).
#pragma once

#include <cstddef>

#include "ingest/event_decoder.h"
#include "ingest/field_mapping.h"
#include "simdjson.h"

namespace authwatch {

class JsonEventDecoder final : public EventDecoder {
 public:
  // Records larger than max_record_bytes are rejected as oversize before parsing.
  JsonEventDecoder(FieldMapping mapping, size_t max_record_bytes);

  DecodeOutcome Decode(std::string_view record, AuthEvent* event, Rejection* rejection) override;

  const FieldMapping& mapping() const { return mapping_; }

 private:
  enum Slot { kTs, kAccount, kIp, kResult, kProtocol, kUserAgent, kDeviceId, kReason, kEventId, kSlots };
  // The field at a slot's pointer, if present and neither null nor an empty string.
  bool Get(int slot, const simdjson::dom::element& root, simdjson::dom::element* out) const;

  FieldMapping mapping_;
  size_t max_record_bytes_;
  simdjson::dom::parser parser_;
  const std::string* pointers_[kSlots];
  // Pointers that name a top-level key ("/ts") are found in one pass over the record's object
  // instead of one at_pointer() walk each: most producers keep login fields at the top.
  std::string top_level_key_[kSlots];
  bool top_level_[kSlots] = {};
  simdjson::dom::element found_[kSlots];
  uint32_t found_mask_ = 0;
};

}  // namespace authwatch
