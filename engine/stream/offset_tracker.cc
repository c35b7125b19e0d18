#include "stream/offset_tracker.h"

#include <algorithm>

namespace authwatch {

void OffsetTracker::Begin(int64_t partition, int64_t offset) {
  Partition& p = partitions_[partition];
  p.in_progress = offset;
  p.next = std::max(p.next, offset + 1);
}

void OffsetTracker::Finish(int64_t partition, int64_t offset) {
  auto it = partitions_.find(partition);
  if (it != partitions_.end() && it->second.in_progress == offset) it->second.in_progress = -1;
}

void OffsetTracker::AddPending(int64_t partition, int64_t offset) {
  ++partitions_[partition].pending[offset];
}

void OffsetTracker::Release(int64_t partition, int64_t offset) {
  auto pit = partitions_.find(partition);
  if (pit == partitions_.end()) return;  // revoked meanwhile: nothing to commit there
  auto it = pit->second.pending.find(offset);
  if (it == pit->second.pending.end()) return;
  if (--it->second == 0) pit->second.pending.erase(it);
}

std::optional<int64_t> OffsetTracker::Committable(int64_t partition) const {
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.next < 0) return std::nullopt;
  const Partition& p = it->second;
  int64_t c = p.pending.empty() ? p.next : p.pending.begin()->first;
  if (p.in_progress >= 0) c = std::min(c, p.in_progress);
  return c;
}

std::vector<std::pair<int64_t, int64_t>> OffsetTracker::TakeCommittable() {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (auto& [partition, p] : partitions_) {
    const auto c = Committable(partition);
    if (c && *c != p.last_reported) {
      p.last_reported = *c;
      out.emplace_back(partition, *c);
    }
  }
  return out;
}

size_t OffsetTracker::Incomplete(int64_t partition) const {
  size_t n = 0;
  for (const auto& [id, p] : partitions_) {
    if (partition == -1 || id == partition) n += p.pending.size() + (p.in_progress >= 0 ? 1 : 0);
  }
  return n;
}

}  // namespace authwatch
