#include "ingest/record_reader.h"

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/test_dir.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "ingest/protobuf_decoder.h"

namespace authwatch {
namespace {

using ::testing::HasSubstr;

class RecordReaderTest : public ::testing::Test {
 protected:
  std::unique_ptr<RecordReader> Open(const std::string& path, RecordFraming framing) {
    auto r = RecordReader::Open(path, framing);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  }

  // Reads every record; *error receives the framing error, if any.
  std::vector<std::string> ReadAll(RecordReader& r, std::string* error) {
    std::vector<std::string> out;
    std::string_view rec;
    while (r.Next(&rec, error)) {
      out.emplace_back(rec);
      EXPECT_EQ(r.record_number(), static_cast<int64_t>(out.size()));
    }
    return out;
  }

  testing::TestDir dir_;
};

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

TEST_F(RecordReaderTest, SplitsLinesOnLfAndCrLf) {
  auto r = Open(dir_.Write("a.jsonl", "first\nsecond\r\nthird\n"), RecordFraming::kLines);
  std::string error;
  EXPECT_THAT(ReadAll(*r, &error), ::testing::ElementsAre("first", "second", "third"));
  EXPECT_EQ(error, "");
  EXPECT_EQ(r->record_number(), 3);
  std::string_view rec;
  EXPECT_FALSE(r->Next(&rec, &error)) << "stays at end";
}

TEST_F(RecordReaderTest, ReturnsTheLastLineWithoutNewline) {
  auto r = Open(dir_.Write("a.jsonl", "one\r\ntwo"), RecordFraming::kLines);
  std::string error;
  EXPECT_THAT(ReadAll(*r, &error), ::testing::ElementsAre("one", "two"));
  EXPECT_EQ(error, "");
}

TEST_F(RecordReaderTest, BlankLinesAreRecordsSoNumbersMatchLineNumbers) {
  auto r = Open(dir_.Write("a.jsonl", "a\n\nb\r\n\r\nc\n"), RecordFraming::kLines);
  std::string error;
  EXPECT_THAT(ReadAll(*r, &error), ::testing::ElementsAre("a", "", "b", "", "c"));
}

TEST_F(RecordReaderTest, EmptyFileHasNoRecords) {
  auto r = Open(dir_.Write("empty", ""), RecordFraming::kLines);
  std::string_view rec;
  std::string error;
  EXPECT_FALSE(r->Next(&rec, &error));
  EXPECT_EQ(error, "");
  EXPECT_EQ(r->record_number(), 0);
  auto d = Open(dir_.Write("empty.pb", ""), RecordFraming::kLengthDelimited);
  EXPECT_FALSE(d->Next(&rec, &error));
  EXPECT_EQ(error, "") << "an empty stream is not truncated";
}

TEST_F(RecordReaderTest, LineLongerThanOneMebibyteIsReturnedWhole) {
  const std::string huge(3 * (1 << 20) + 12345, 'x');
  auto r = Open(dir_.Write("a.jsonl", "short\n" + huge + "\nafter\n"), RecordFraming::kLines);
  std::string_view rec;
  std::string error;
  ASSERT_TRUE(r->Next(&rec, &error));
  EXPECT_EQ(rec, "short");
  ASSERT_TRUE(r->Next(&rec, &error));
  EXPECT_EQ(rec.size(), huge.size());
  EXPECT_EQ(rec, huge);
  ASSERT_TRUE(r->Next(&rec, &error));
  EXPECT_EQ(rec, "after");
  EXPECT_EQ(r->record_number(), 3);
  EXPECT_FALSE(r->Next(&rec, &error));
}

TEST_F(RecordReaderTest, LinesAcrossReadChunkBoundariesAreIntact) {
  // Lines of many lengths so that newlines and CRLF pairs fall on and around each chunk boundary.
  std::vector<std::string> lines;
  std::string file;
  size_t len = 1;
  while (file.size() < 3 * (1 << 20)) {
    std::string line(len, static_cast<char>('a' + lines.size() % 26));
    file += line + (lines.size() % 2 ? "\r\n" : "\n");
    lines.push_back(std::move(line));
    len = len * 7 % 65521 + 1;
  }
  auto r = Open(dir_.Write("a.jsonl", file), RecordFraming::kLines);
  std::string error;
  const auto got = ReadAll(*r, &error);
  ASSERT_EQ(got.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(got[i], lines[i]) << "line " << i + 1;
  EXPECT_EQ(r->bytes_read(), file.size());
  EXPECT_EQ(r->total_bytes(), file.size());
}

TEST_F(RecordReaderTest, LineEndingExactlyAtAChunkBoundary) {
  const size_t chunk = RecordReader::kReadChunk;
  std::string first(chunk - 1, 'a');  // its '\n' is the last byte of the first chunk
  std::string second(chunk - 2, 'b');  // its "\r\n" ends the second chunk
  auto r = Open(dir_.Write("a.jsonl", first + "\n" + second + "\r\nz"), RecordFraming::kLines);
  std::string error;
  const auto got = ReadAll(*r, &error);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], first);
  EXPECT_EQ(got[1], second);
  EXPECT_EQ(got[2], "z");
}

TEST_F(RecordReaderTest, ReportsSizeAndName) {
  const std::string path = dir_.Write("sized.jsonl", "0123456789\n");
  auto r = Open(path, RecordFraming::kLines);
  EXPECT_EQ(r->name(), path);
  EXPECT_EQ(r->total_bytes(), 11u);
  EXPECT_EQ(r->bytes_read(), 0u);
  std::string_view rec;
  std::string error;
  ASSERT_TRUE(r->Next(&rec, &error));
  EXPECT_EQ(r->bytes_read(), 11u);
}

TEST_F(RecordReaderTest, MissingFileIsAnErrorNamingThePath) {
  const std::string path = (dir_.path() / "no-such-file.jsonl").string();
  auto r = RecordReader::Open(path, RecordFraming::kLines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(path));
}

TEST_F(RecordReaderTest, ReadsLengthDelimitedProtobufRecords) {
  std::vector<v1::AuthEvent> messages;
  std::ostringstream out;
  for (int i = 0; i < 3; ++i) {
    AuthEvent e;
    e.ts_ms = 1793607330123 + i;
    e.account = "user" + std::to_string(i) + "@mail.example";
    e.ip = IpAddress::FromV4(0xC6336400u + i);
    e.result = i % 2 ? AuthResult::kSuccess : AuthResult::kFailure;
    e.protocol = "imap";
    messages.push_back(ToProto(e));
    ASSERT_TRUE(google::protobuf::util::SerializeDelimitedToOstream(messages.back(), &out));
  }
  auto r = Open(dir_.Write("events.pb", out.str()), RecordFraming::kLengthDelimited);
  ProtobufEventDecoder decoder(65536);
  std::string error;
  const auto records = ReadAll(*r, &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    AuthEvent e;
    Rejection rej;
    ASSERT_EQ(decoder.Decode(records[i], &e, &rej), DecodeOutcome::kEvent) << rej.detail;
    EXPECT_EQ(e.ts_ms, 1793607330123 + i);
    EXPECT_EQ(e.account, "user" + std::to_string(i) + "@mail.example");
    EXPECT_EQ(e.ip, IpAddress::FromV4(0xC6336400u + i));
  }
}

TEST_F(RecordReaderTest, DelimitedRecordsOfAnySizeAcrossChunks) {
  // Manual varint framing: an empty record, a 2-byte-varint record, a record over 1 MiB.
  const std::vector<std::string> payloads = {"", "x", std::string(300, 'y'), std::string((1 << 20) + 77, 'z'),
                                             std::string(5, '\0')};
  std::string file;
  for (const auto& p : payloads) file += Varint(p.size()) + p;
  auto r = Open(dir_.Write("raw.pb", file), RecordFraming::kLengthDelimited);
  std::string error;
  const auto got = ReadAll(*r, &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(got.size(), payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) EXPECT_EQ(got[i], payloads[i]) << "record " << i + 1;
}

TEST_F(RecordReaderTest, TruncatedFinalDelimitedRecordIsAnError) {
  const std::string file = Varint(3) + "abc" + Varint(10) + "short";
  const std::string path = dir_.Write("trunc.pb", file);
  auto r = Open(path, RecordFraming::kLengthDelimited);
  std::string_view rec;
  std::string error;
  ASSERT_TRUE(r->Next(&rec, &error));
  EXPECT_EQ(rec, "abc");
  EXPECT_FALSE(r->Next(&rec, &error));
  EXPECT_THAT(error, HasSubstr("truncated"));
  EXPECT_THAT(error, HasSubstr(path));
  EXPECT_THAT(error, HasSubstr("record 2"));
}

TEST_F(RecordReaderTest, TruncatedLengthVarintIsAnError) {
  auto r = Open(dir_.Write("trunc.pb", Varint(1) + "a" + std::string("\x80\x80", 2)), RecordFraming::kLengthDelimited);
  std::string_view rec;
  std::string error;
  ASSERT_TRUE(r->Next(&rec, &error));
  EXPECT_FALSE(r->Next(&rec, &error));
  EXPECT_THAT(error, HasSubstr("truncated"));
}

TEST_F(RecordReaderTest, ImplausibleDelimitedLengthIsAFramingError) {
  // E.g. a text file read as protobuf: a declared length of 1 GiB is refused, not allocated.
  auto r = Open(dir_.Write("big.pb", Varint(1ull << 30) + "abc"), RecordFraming::kLengthDelimited);
  std::string_view rec;
  std::string error;
  EXPECT_FALSE(r->Next(&rec, &error));
  EXPECT_THAT(error, HasSubstr("not a length-delimited protobuf stream"));
}

}  // namespace
}  // namespace authwatch
