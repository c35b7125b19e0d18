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
  FieldMapping mapping_;
  size_t max_record_bytes_;
  simdjson::dom::parser parser_;
};

}  // namespace authwatch
