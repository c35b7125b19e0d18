#include "state/snapshot_chunks.h"

#include <algorithm>
#include <random>

#include "core/strings.h"
#include "gtest/gtest.h"
#include "state/state_codec.h"

namespace authwatch {
namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

void ExpectError(const absl::Status& s, absl::StatusCode code, std::string_view fragment) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(FromAbsl(s.message()).find(fragment), std::string_view::npos)
      << "message: " << s.message() << "\nexpected to contain: " << fragment;
}

TEST(SnapshotChunksTest, RoundTripsAndEveryChunkFitsTheLimit) {
  const std::string data = RandomBytes(100000, 1);
  for (const size_t limit : {size_t{1024}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE(Cat("limit ", limit));
    absl::StatusOr<ChunkedSnapshot> c = ChunkSnapshot(data, 12, 987654321, limit);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->manifest.chunk_count(), c->chunks.size());
    EXPECT_EQ(c->manifest.total_bytes(), data.size());
    EXPECT_EQ(c->manifest.partition(), 12);
    EXPECT_EQ(c->manifest.input_offset(), 987654321);
    EXPECT_EQ(c->manifest.format_version(), kStateFormatVersion);
    for (const auto& chunk : c->chunks) EXPECT_LE(chunk.ByteSizeLong(), limit);
    absl::StatusOr<std::string> back = AssembleSnapshot(c->manifest, c->chunks);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, data);
  }
}

TEST(SnapshotChunksTest, ChunksInAnyOrderWithRepeatsAndOtherSnapshotsAssemble) {
  const std::string data = RandomBytes(20000, 2);
  absl::StatusOr<ChunkedSnapshot> c = ChunkSnapshot(data, 0, 100, 2048);
  absl::StatusOr<ChunkedSnapshot> older = ChunkSnapshot(RandomBytes(20000, 3), 0, 50, 2048);
  ASSERT_TRUE(c.ok() && older.ok());
  std::vector<v1::SnapshotChunk> found = c->chunks;
  found.push_back(c->chunks[3]);  // written twice by an at-least-once producer
  found.insert(found.end(), older->chunks.begin(), older->chunks.end());
  std::shuffle(found.begin(), found.end(), std::mt19937_64(4));
  absl::StatusOr<std::string> back = AssembleSnapshot(c->manifest, found);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, data);
}

TEST(SnapshotChunksTest, SnapshotIdNamesPartitionAndOffsetAndIsStable) {
  const std::string data = RandomBytes(5000, 5);
  absl::StatusOr<ChunkedSnapshot> a = ChunkSnapshot(data, 7, 4242, 1024);
  absl::StatusOr<ChunkedSnapshot> b = ChunkSnapshot(data, 7, 4242, 1024);
  absl::StatusOr<ChunkedSnapshot> other = ChunkSnapshot(RandomBytes(5000, 6), 7, 4242, 1024);
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_EQ(a->manifest.snapshot_id().rfind("p7-o4242-", 0), 0u) << a->manifest.snapshot_id();
  EXPECT_EQ(a->manifest.snapshot_id(), b->manifest.snapshot_id());
  EXPECT_NE(a->manifest.snapshot_id(), other->manifest.snapshot_id());
  for (const auto& chunk : a->chunks) EXPECT_EQ(chunk.snapshot_id(), a->manifest.snapshot_id());
}

TEST(SnapshotChunksTest, EmptyInputIsOneEmptyChunk) {
  absl::StatusOr<ChunkedSnapshot> c = ChunkSnapshot("", 1, 0, 1024);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->chunks.size(), 1u);
  absl::StatusOr<std::string> back = AssembleSnapshot(c->manifest, c->chunks);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "");
}

TEST(SnapshotChunksTest, ChunkLimitBelowMinimumIsRefused) {
  ExpectError(ChunkSnapshot("abc", 0, 0, 512).status(), absl::StatusCode::kInvalidArgument,
              "chunk size 512 bytes is below the minimum of 1024");
}

class TornSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ChunkedSnapshot> c = ChunkSnapshot(RandomBytes(10000, 8), 2, 77, 1024);
    ASSERT_TRUE(c.ok());
    snapshot_ = *std::move(c);
    ASSERT_EQ(snapshot_.chunks.size(), 11u);
  }
  absl::Status Assemble() { return AssembleSnapshot(snapshot_.manifest, snapshot_.chunks).status(); }
  ChunkedSnapshot snapshot_;
};

TEST_F(TornSnapshotTest, MissingChunk) {
  snapshot_.chunks.erase(snapshot_.chunks.begin() + 4);
  ExpectError(Assemble(), absl::StatusCode::kDataLoss,
              "(partition 2, offset 77): chunk 4 of 11 is missing (10 present): the snapshot is torn");
}

TEST_F(TornSnapshotTest, LastChunksNeverWritten) {
  snapshot_.chunks.resize(6);  // the writer crashed after chunk 5
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "chunk 6 of 11 is missing (6 present)");
}

TEST_F(TornSnapshotTest, NoChunksAtAll) {
  snapshot_.chunks.clear();
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "chunk 0 of 11 is missing (0 present)");
}

TEST_F(TornSnapshotTest, CorruptedChunkIsNamed) {
  (*snapshot_.chunks[1].mutable_data())[10] ^= 0x40;
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "chunk 1 is damaged (CRC-32 mismatch)");
}

TEST_F(TornSnapshotTest, ChunkReplacedConsistentlyFailsTheWholeChecksum) {
  // A chunk whose own CRC was recomputed over other data (e.g. a bug in a writer).
  v1::SnapshotChunk& c = snapshot_.chunks[2];
  (*c.mutable_data())[0] ^= 1;
  absl::StatusOr<ChunkedSnapshot> redo = ChunkSnapshot(c.data(), 0, 0, 4096);
  ASSERT_TRUE(redo.ok());
  c.set_crc32(redo->manifest.crc32());
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "CRC-32 of the whole snapshot does not match the manifest");
}

TEST_F(TornSnapshotTest, TruncatedChunkFailsTheSize) {
  v1::SnapshotChunk& c = snapshot_.chunks.back();
  c.mutable_data()->resize(c.data().size() - 1);
  absl::StatusOr<ChunkedSnapshot> redo = ChunkSnapshot(c.data(), 0, 0, 4096);
  ASSERT_TRUE(redo.ok());
  c.set_crc32(redo->manifest.crc32());
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "the chunks hold 9999 bytes, the manifest says 10000");
}

TEST_F(TornSnapshotTest, ConflictingCopiesOfAChunk) {
  v1::SnapshotChunk copy = snapshot_.chunks[5];
  (*copy.mutable_data())[0] ^= 1;
  snapshot_.chunks.push_back(copy);
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "two different copies of chunk 5");
}

TEST_F(TornSnapshotTest, ChunkIndexBeyondTheManifest) {
  snapshot_.chunks[0].set_index(11);
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "chunk index 11 beyond the manifest's 11 chunks");
}

TEST_F(TornSnapshotTest, ManifestOfAnotherSnapshot) {
  snapshot_.manifest.set_snapshot_id("p2-o77-0000000000000000");
  ExpectError(Assemble(), absl::StatusCode::kDataLoss, "chunk 0 of 11 is missing (0 present)");
}

TEST_F(TornSnapshotTest, UnknownFormatVersion) {
  snapshot_.manifest.set_format_version(9);
  ExpectError(Assemble(), absl::StatusCode::kFailedPrecondition, "format version 9, this build reads 1 only");
}

}  // namespace
}  // namespace authwatch
