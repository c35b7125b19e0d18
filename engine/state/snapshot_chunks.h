// Snapshot chunks: a serialized ShardState cut into pieces that each fit one Kafka message, and a
// manifest that lets a reader tell a complete snapshot from a torn one (a crash mid-write, a chunk
// compacted away, a damaged record).
//
// Write order: every chunk, then the manifest. Read: AssembleSnapshot checks that every chunk
// 0..chunk_count-1 of the manifest's snapshot_id is there, each chunk's CRC-32, the total size
// and the CRC-32 of the whole (zlib's crc32), and names the first thing that is wrong. Chunks of
// other snapshots (older ones still in a compacted topic) are ignored; a chunk that appears twice
// is accepted only if both copies are equal (an at-least-once producer may write one twice).
//
// Free functions on values; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "authwatch/v1/state.pb.h"

namespace authwatch {

// What a chunk record carries besides its data (id, index, CRC and framing), at most; the data
// of a chunk is max_chunk_bytes less this.
inline constexpr size_t kChunkOverheadBytes = 96;
// Smallest max_chunk_bytes accepted (Kafka's message.max.bytes is ~1 MB by default).
inline constexpr size_t kMinChunkBytes = 1024;

struct ChunkedSnapshot {
  v1::SnapshotManifest manifest;
  std::vector<v1::SnapshotChunk> chunks;  // in index order
};

// Cuts `serialized` (a serialized ShardState) into chunks whose serialized size is at most
// `max_chunk_bytes` each (at least one chunk, even for empty input). The snapshot id is derived
// from the partition, the offset, the size and the CRC, so the same state at the same offset gets
// the same id. InvalidArgument when max_chunk_bytes < kMinChunkBytes.
absl::StatusOr<ChunkedSnapshot> ChunkSnapshot(std::string_view serialized, int32_t partition,
                                              int64_t input_offset, size_t max_chunk_bytes);

// The serialized ShardState back from the manifest and the chunks found (any order). DataLoss
// naming the problem when the snapshot is torn (a chunk missing) or damaged (a CRC or size
// mismatch); FailedPrecondition for a format version this build does not read.
absl::StatusOr<std::string> AssembleSnapshot(const v1::SnapshotManifest& manifest,
                                             absl::Span<const v1::SnapshotChunk> chunks);

}  // namespace authwatch
