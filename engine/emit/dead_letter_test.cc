#include "emit/dead_letter.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace authwatch {
namespace {

using ::testing::HasSubstr;

// Parsed dead-letter record; the parser owns the document.
struct Parsed {
  simdjson::dom::parser parser;
  simdjson::dom::object object;

  bool Has(const char* key) { return !object[key].error(); }
  std::string Get(const char* key) {
    auto v = object[key].get_string();
    EXPECT_FALSE(v.error()) << key;
    return v.error() ? "" : std::string(v.value_unsafe());
  }
};

void Parse(const std::string& json, Parsed* out) {
  auto doc = out->parser.parse(json);
  ASSERT_FALSE(doc.error()) << json << ": " << simdjson::error_message(doc.error());
  auto obj = doc.value_unsafe().get_object();
  ASSERT_FALSE(obj.error()) << json;
  out->object = obj.value_unsafe();
}

std::string Unbase64(const std::string& b64) {
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(b64, &out)) << b64;
  return out;
}

TEST(DeadLetterTest, CarriesReasonDetailSourceAndRaw) {
  const Rejection rej{RejectReason::kBadIp, "/ip = '999.1.1.1' is not an IPv4 or IPv6 address"};
  const std::string raw = R"({"ts":"2026-11-02T08:15:30Z","account":"a","ip":"999.1.1.1","result":"ok"})";
  const std::string line = FormatDeadLetter({&rej, "events.jsonl:17", raw});
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one record per line";
  Parsed p;
  ASSERT_NO_FATAL_FAILURE(Parse(line, &p));
  EXPECT_EQ(p.Get("reason"), "bad_ip");
  EXPECT_EQ(p.Get("detail"), rej.detail);
  EXPECT_EQ(p.Get("source"), "events.jsonl:17");
  EXPECT_EQ(p.Get("raw"), raw);
  EXPECT_EQ(Unbase64(p.Get("raw_base64")), raw);
}

TEST(DeadLetterTest, InvalidUtf8RawIsOnlyInBase64) {
  const Rejection rej{RejectReason::kInvalidUtf8, "the record is not valid UTF-8"};
  const std::string raw = "{\"account\":\"al\xff\xfeice\"}";
  const std::string line = FormatDeadLetter({&rej, "events.jsonl:3", raw});
  EXPECT_TRUE(simdjson::validate_utf8(line.data(), line.size()));
  Parsed p;
  ASSERT_NO_FATAL_FAILURE(Parse(line, &p));
  EXPECT_EQ(p.Get("reason"), "invalid_utf8");
  EXPECT_FALSE(p.Has("raw")) << "text that is not UTF-8 would be mangled: base64 only";
  EXPECT_EQ(Unbase64(p.Get("raw_base64")), raw);
}

TEST(DeadLetterTest, RawWithControlBytesAndQuotesSurvivesExactly) {
  const Rejection rej{RejectReason::kInvalidJson, "a record must be a JSON object"};
  constexpr char kRaw[] = "\"quoted\"\\back\x00slash\x01\t\r\n";
  const std::string raw(kRaw, sizeof(kRaw) - 1);
  const std::string line = FormatDeadLetter({&rej, "stdin:1", raw});
  EXPECT_EQ(line.find('\n'), std::string::npos) << "newlines in raw are escaped";
  Parsed p;
  ASSERT_NO_FATAL_FAILURE(Parse(line, &p));
  EXPECT_EQ(p.Get("raw"), raw);
  EXPECT_EQ(Unbase64(p.Get("raw_base64")), raw);
}

TEST(DeadLetterTest, EmptyRawHasEmptyFields) {
  const Rejection rej{RejectReason::kInvalidJson, "EMPTY"};
  Parsed p;
  ASSERT_NO_FATAL_FAILURE(Parse(FormatDeadLetter({&rej, "events.jsonl:9", ""}), &p));
  EXPECT_EQ(p.Get("raw"), "");
  EXPECT_EQ(p.Get("raw_base64"), "");
}

TEST(DeadLetterTest, BinaryProtobufRecordRoundTripsThroughBase64) {
  const Rejection rej{RejectReason::kBadProtobuf, "not a valid authwatch.v1.AuthEvent"};
  std::string raw;
  for (int i = 0; i < 256; ++i) raw.push_back(static_cast<char>(i));
  const std::string line = FormatDeadLetter({&rej, "authwatch.events/3@1234", raw});
  Parsed p;
  ASSERT_NO_FATAL_FAILURE(Parse(line, &p));
  EXPECT_EQ(p.Get("source"), "authwatch.events/3@1234");
  EXPECT_FALSE(p.Has("raw"));
  EXPECT_EQ(Unbase64(p.Get("raw_base64")), raw);
}

TEST(DeadLetterTest, ReasonNamesAreTheDocumentedContract) {
  // Metric labels and dead-letter reasons: "add, never rename".
  const std::vector<std::pair<RejectReason, const char*>> expected = {
      {RejectReason::kInvalidJson, "invalid_json"},   {RejectReason::kInvalidUtf8, "invalid_utf8"},
      {RejectReason::kOversize, "oversize"},          {RejectReason::kMissingField, "missing_field"},
      {RejectReason::kWrongType, "wrong_type"},       {RejectReason::kBadIp, "bad_ip"},
      {RejectReason::kBadTime, "bad_time"},           {RejectReason::kBadResult, "bad_result"},
      {RejectReason::kBadAccount, "bad_account"},     {RejectReason::kBadProtobuf, "bad_protobuf"},
      {RejectReason::kLateEvent, "late_event"},
  };
  ASSERT_EQ(expected.size(), kRejectReasonCount);
  std::set<std::string> seen;
  for (const auto& [reason, name] : expected) {
    EXPECT_EQ(RejectReasonName(reason), name);
    const Rejection rej{reason, "d"};
    Parsed p;
    ASSERT_NO_FATAL_FAILURE(Parse(FormatDeadLetter({&rej, "s", "r"}), &p));
    EXPECT_EQ(p.Get("reason"), name);
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), kRejectReasonCount) << "names are distinct";
}

TEST(DeadLetterTest, FileSinkWritesOneJsonObjectPerLineAndAppends) {
  const std::string path = ::testing::TempDir() + "/dead_letter_test." + std::to_string(::getpid()) + ".jsonl";
  const Rejection a{RejectReason::kBadTime, "/ts: month 13"};
  const Rejection b{RejectReason::kOversize, "70000 bytes, limit 65536"};
  {
    auto sink = FileDeadLetterSink::Open(path, /*append=*/false);
    ASSERT_TRUE(sink.ok()) << sink.status();
    EXPECT_EQ((*sink)->path(), path);
    (*sink)->Write({&a, "in.jsonl:1", "line one"});
    (*sink)->Write({&b, "in.jsonl:2", "line two"});
  }  // flushed on destruction
  {
    auto sink = FileDeadLetterSink::Open(path, /*append=*/true);
    ASSERT_TRUE(sink.ok()) << sink.status();
    (*sink)->Write({&a, "in.jsonl:3", "line three"});
    (*sink)->Flush();
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  const char* sources[] = {"in.jsonl:1", "in.jsonl:2", "in.jsonl:3"};
  for (size_t i = 0; i < lines.size(); ++i) {
    Parsed p;
    ASSERT_NO_FATAL_FAILURE(Parse(lines[i], &p));
    EXPECT_EQ(p.Get("source"), sources[i]);
  }

  {  // Without append, the file starts over.
    auto sink = FileDeadLetterSink::Open(path, /*append=*/false);
    ASSERT_TRUE(sink.ok());
    (*sink)->Write({&b, "in.jsonl:9", "x"});
  }
  std::ifstream again(path);
  std::string content((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  EXPECT_EQ(std::count(content.begin(), content.end(), '\n'), 1);
  std::filesystem::remove(path);
}

TEST(DeadLetterTest, FileSinkOpenErrorNamesThePath) {
  const std::string path = ::testing::TempDir() + "/no-such-dir-" + std::to_string(::getpid()) + "/dl.jsonl";
  auto sink = FileDeadLetterSink::Open(path, false);
  ASSERT_FALSE(sink.ok());
  EXPECT_THAT(std::string(sink.status().message()), HasSubstr(path));
}

}  // namespace
}  // namespace authwatch
