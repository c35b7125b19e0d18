// ProtobufEventDecoder: one serialized authwatch.v1.AuthEvent (a Kafka message value, or a
// record of a length-delimited file) to an AuthEvent, with the same field rules as JSON.
// Not thread-safe (reuses one message object).
#pragma once

#include <cstddef>

#include "authwatch/v1/auth_event.pb.h"
#include "ingest/event_decoder.h"

namespace authwatch {

class ProtobufEventDecoder final : public EventDecoder {
 public:
  explicit ProtobufEventDecoder(size_t max_record_bytes) : max_record_bytes_(max_record_bytes) {}
  DecodeOutcome Decode(std::string_view record, AuthEvent* event, Rejection* rejection) override;

 private:
  size_t max_record_bytes_;
  v1::AuthEvent message_;
};

// Converts the other way, for producers in tests, benches and the protobuf sink.
v1::AuthEvent ToProto(const AuthEvent& event);

}  // namespace authwatch
