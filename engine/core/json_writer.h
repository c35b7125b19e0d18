// JsonWriter: appends JSON text to a std::string without building a tree. Used on the hot
// path for enriched events, decisions and dead-letter records. Strings are escaped per RFC 8259;
// input strings are valid UTF-8 (the decoders reject anything else), and bytes that are not are
// replaced by U+FFFD so the output is always valid JSON. Not thread-safe; one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace authwatch {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);  // shortest text that round-trips
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value already serialised as JSON.
  JsonWriter& Raw(std::string_view json);

  template <typename T>
  JsonWriter& Field(std::string_view key, const T& value) {
    Key(key);
    if constexpr (std::is_same_v<T, bool>) {
      return Bool(value);
    } else if constexpr (std::is_integral_v<T>) {
      return Int(static_cast<int64_t>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
      return Double(value);
    } else {
      return String(value);
    }
  }

 private:
  void Separate();
  std::string* out_;
  bool need_comma_ = false;
};

// Appends s to out as a quoted, escaped JSON string.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace authwatch
