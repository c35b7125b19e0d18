#include "state/snapshot_chunks.h"

#include <zlib.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "core/stable_hash.h"
#include "core/strings.h"
#include "state/state_codec.h"

namespace authwatch {
namespace {

uint32_t Crc32(std::string_view data) {
  return static_cast<uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

absl::Status Torn(const v1::SnapshotManifest& m, std::string_view what) {
  return absl::DataLossError(Cat("state snapshot ", m.snapshot_id(), " (partition ", m.partition(), ", offset ",
                                 m.input_offset(), "): ", what));
}

}  // namespace

absl::StatusOr<ChunkedSnapshot> ChunkSnapshot(std::string_view serialized, int32_t partition,
                                              int64_t input_offset, size_t max_chunk_bytes) {
  if (max_chunk_bytes < kMinChunkBytes) {
    return absl::InvalidArgumentError(Cat("state snapshot: chunk size ", max_chunk_bytes, " bytes is below the minimum of ",
                                          kMinChunkBytes, "; set it to the broker's message size limit"));
  }
  const size_t payload = max_chunk_bytes - kChunkOverheadBytes;
  const size_t count = std::max<size_t>(1, (serialized.size() + payload - 1) / payload);
  if (count > UINT32_MAX) return absl::InvalidArgumentError("state snapshot: more than 2^32 chunks");
  ChunkedSnapshot out;
  v1::SnapshotManifest& m = out.manifest;
  m.set_partition(partition);
  m.set_input_offset(input_offset);
  m.set_chunk_count(static_cast<uint32_t>(count));
  m.set_total_bytes(serialized.size());
  m.set_crc32(Crc32(serialized));
  m.set_format_version(kStateFormatVersion);
  const uint64_t tag = HashCombine(HashCombine(m.crc32(), serialized.size()),
                                   HashCombine(static_cast<uint64_t>(partition), static_cast<uint64_t>(input_offset)));
  m.set_snapshot_id(Cat("p", partition, "-o", input_offset, "-", absl::Hex(tag, absl::kZeroPad16)));
  out.chunks.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const std::string_view data = serialized.substr(std::min(serialized.size(), i * payload), payload);
    v1::SnapshotChunk& c = out.chunks[i];
    c.set_snapshot_id(m.snapshot_id());
    c.set_index(static_cast<uint32_t>(i));
    c.set_crc32(Crc32(data));
    c.set_data(data.data(), data.size());
  }
  return out;
}

absl::StatusOr<std::string> AssembleSnapshot(const v1::SnapshotManifest& m,
                                             absl::Span<const v1::SnapshotChunk> chunks) {
  if (m.format_version() != kStateFormatVersion) {
    return absl::FailedPreconditionError(Cat("state snapshot ", m.snapshot_id(), ": format version ", m.format_version(),
                                             ", this build reads ", kStateFormatVersion,
                                             " only; rebuild the state from the input"));
  }
  if (m.chunk_count() == 0) return Torn(m, "the manifest names no chunks");
  absl::flat_hash_map<uint32_t, const v1::SnapshotChunk*> found;
  for (const v1::SnapshotChunk& c : chunks) {
    if (c.snapshot_id() != m.snapshot_id()) continue;  // another snapshot's
    if (c.index() >= m.chunk_count()) {
      return Torn(m, Cat("chunk index ", c.index(), " beyond the manifest's ", m.chunk_count(), " chunks"));
    }
    auto [it, inserted] = found.emplace(c.index(), &c);
    if (!inserted && (it->second->data() != c.data() || it->second->crc32() != c.crc32())) {
      return Torn(m, Cat("two different copies of chunk ", c.index()));
    }
  }
  if (found.size() < m.chunk_count()) {
    uint32_t missing = 0;
    while (found.contains(missing)) ++missing;
    return Torn(m, Cat("chunk ", missing, " of ", m.chunk_count(), " is missing (", found.size(),
                       " present): the snapshot is torn; use an older one"));
  }
  uint64_t total = 0;
  for (uint32_t i = 0; i < m.chunk_count(); ++i) {
    const v1::SnapshotChunk& c = *found[i];
    if (Crc32(c.data()) != c.crc32()) return Torn(m, Cat("chunk ", i, " is damaged (CRC-32 mismatch)"));
    total += c.data().size();
  }
  if (total != m.total_bytes()) {
    return Torn(m, Cat("the chunks hold ", total, " bytes, the manifest says ", m.total_bytes()));
  }
  std::string out;
  out.reserve(total);
  for (uint32_t i = 0; i < m.chunk_count(); ++i) out.append(found[i]->data());
  if (Crc32(out) != m.crc32()) return Torn(m, "CRC-32 of the whole snapshot does not match the manifest");
  return out;
}

}  // namespace authwatch
