#include "core/json_writer.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "simdjson.h"

namespace authwatch {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

// Parses `json` (a JSON string literal) with simdjson and returns the decoded string.
std::string ParseString(const std::string& json) {
  simdjson::dom::parser parser;
  auto doc = parser.parse(json);
  EXPECT_FALSE(doc.error()) << json << ": " << simdjson::error_message(doc.error());
  if (doc.error()) return "<parse error>";
  auto s = doc.value_unsafe().get_string();
  EXPECT_FALSE(s.error()) << json;
  return s.error() ? "<not a string>" : std::string(s.value_unsafe());
}

constexpr const char kReplacement[] = "\xef\xbf\xbd";  // U+FFFD

TEST(JsonWriterTest, EscapesQuotesAndBackslash) {
  EXPECT_EQ(Quoted(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(Quoted(R"(C:\dir\file)"), R"("C:\\dir\\file")");
  EXPECT_EQ(Quoted(R"(\")"), R"("\\\"")");
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("plain / text"), R"("plain / text")");
}

TEST(JsonWriterTest, EscapesEveryControlCharacter) {
  EXPECT_EQ(Quoted("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(Quoted("\b\f"), R"("\u0008\u000c")");
  EXPECT_EQ(Quoted(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(Quoted("\x01\x1f"), R"("\u0001\u001f")");
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    const std::string out = Quoted(in);
    for (char o : out) EXPECT_GE(static_cast<unsigned char>(o), 0x20) << "raw control char " << c;
    EXPECT_EQ(ParseString(out), in) << "control char " << c;
  }
}

TEST(JsonWriterTest, KeepsValidMultiByteUtf8) {
  for (const char* s : {"Île-de-France", "日本語", "\xF0\x9F\x98\x80 emoji", "\xC2\x80",
                        "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_EQ(Quoted(s), std::string("\"") + s + "\"") << s;
  }
}

TEST(JsonWriterTest, ReplacesInvalidUtf8ByReplacementCharacter) {
  const std::string r = kReplacement;
  struct Case {
    std::string in;
    std::string decoded;
  };
  const Case cases[] = {
      {"\xff", r},
      {"a\xfe" "b", "a" + r + "b"},
      {"\x80", r},                              // lone continuation byte
      {"\xc3", r},                              // truncated at the end
      {"\xc3(", r + "("},                        // lead byte without continuation
      {"\xe2\x82", r + r},                      // truncated 3-byte sequence
      {"\xc0\xaf", r + r},                      // overlong '/'
      {"\xe0\x80\xaf", r + r + r},              // overlong '/'
      {"\xed\xa0\x80", r + r + r},              // UTF-16 surrogate D800
      {"\xf4\x90\x80\x80", r + r + r + r},      // above U+10FFFF
      {"ok \xc3\xa9 \xff ok", "ok \xc3\xa9 " + r + " ok"},
  };
  for (const auto& c : cases) {
    const std::string out = Quoted(c.in);
    EXPECT_TRUE(simdjson::validate_utf8(out.data(), out.size())) << out;
    EXPECT_EQ(ParseString(out), c.decoded);
  }
}

TEST(JsonWriterTest, RandomBytesAlwaysGiveValidJson) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string in(rng() % 64, '\0');
    for (char& c : in) c = static_cast<char>(rng());
    const std::string out = Quoted(in);
    simdjson::dom::parser parser;
    auto doc = parser.parse(out);
    ASSERT_FALSE(doc.error()) << "input " << i << ": " << simdjson::error_message(doc.error());
    if (simdjson::validate_utf8(in.data(), in.size())) {
      EXPECT_EQ(std::string(doc.value_unsafe().get_string().value_unsafe()), in);
    }
  }
}

TEST(JsonWriterTest, WritesObjectsAndArraysWithCommas) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Field("s", std::string("x"))
      .Field("n", int64_t{-42})
      .Field("u", uint32_t{4000000000u})
      .Field("b", true)
      .Field("d", 1.5);
  w.Key("a").BeginArray().Int(1).String("two").BeginObject().Field("c", false).EndObject().Null().EndArray();
  w.Key("e").BeginObject().EndObject();
  w.Key("r").Raw(R"({"pre":"made"})");
  w.Field("last", std::string_view("end"));
  w.EndObject();
  EXPECT_EQ(out,
            R"({"s":"x","n":-42,"u":4000000000,"b":true,"d":1.5,"a":[1,"two",{"c":false},null],)"
            R"("e":{},"r":{"pre":"made"},"last":"end"})");
  simdjson::dom::parser parser;
  EXPECT_FALSE(parser.parse(out).error());
}

TEST(JsonWriterTest, AppendsToExistingText) {
  std::string out = "prefix ";
  JsonWriter w(&out);
  w.BeginObject().Field("k", "v").EndObject();
  EXPECT_EQ(out, R"(prefix {"k":"v"})");
}

TEST(JsonWriterTest, EscapesKeys) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Field("a\"b\n", 1).EndObject();
  EXPECT_EQ(out, R"({"a\"b\n":1})");
}

TEST(JsonWriterTest, IntegersAtTheLimits) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray().Int(std::numeric_limits<int64_t>::min()).Int(std::numeric_limits<int64_t>::max()).Int(0).EndArray();
  EXPECT_EQ(out, "[-9223372036854775808,9223372036854775807,0]");
}

TEST(JsonWriterTest, DoublesRoundTrip) {
  const double values[] = {0.0,       1.0,     -1.0,   0.1,     1.0 / 3.0, 51.5142, -0.0931,
                           13.405,    125.3228, 1e-300, 5e-324,  1e300,
                           std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                           123456789012345.678};
  for (double v : values) {
    std::string out;
    JsonWriter(&out).Double(v);
    EXPECT_EQ(std::strtod(out.c_str(), nullptr), v) << out;
    simdjson::dom::parser parser;
    auto doc = parser.parse(out);
    ASSERT_FALSE(doc.error()) << out;
    EXPECT_EQ(doc.value_unsafe().get_double().value(), v) << out;
  }
  std::string out;
  JsonWriter(&out).Double(51.5142);
  EXPECT_EQ(out, "51.5142") << "shortest form, not 17 digits";
}

TEST(JsonWriterTest, NonFiniteDoublesBecomeNull) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Field("nan", std::numeric_limits<double>::quiet_NaN())
      .Field("inf", std::numeric_limits<double>::infinity())
      .Field("ninf", -std::numeric_limits<double>::infinity())
      .Field("ok", 2.5)
      .EndObject();
  EXPECT_EQ(out, R"({"nan":null,"inf":null,"ninf":null,"ok":2.5})");
}

}  // namespace
}  // namespace authwatch
