// GeoEnricher: looks up an event's address in every configured database (city IPv4, city IPv6,
// ASN, in any order and number), computes its network prefix, and caches decoded records.
//
// Databases are held in an immutable GeoDatabaseSet shared by all enrichers; a reload builds a
// new set and each enricher adopts it (dropping its cache). The cache is per enricher and not
// thread-safe: one enricher per thread (shard).
//
// Cache: two generations of hash maps (a cheap approximation of LRU). Lookups hit the young
// generation, then the old one (promoting the record); when the young generation is full it
// becomes the old one and the previous old one is dropped. Bounded at `cache_entries` records;
// decoded records, not offsets, are cached, since decoding four fields costs as much as the
// tree walk itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/auth_event.h"
#include "enrich/geo_database.h"

namespace authwatch {

struct GeoOptions {
  std::vector<std::string> databases;  // paths; each schema detected from the file
  size_t cache_entries = 262144;       // ~80 MB at worst; a busy provider sees ~10^5 IPs/hour
  int prefix_v4_bits = 24;             // a /24 is the usual unit of allocation and abuse
  int prefix_v6_bits = 64;             // a /64 is one subscriber's LAN (privacy addresses rotate in it)
};

// The open databases: immutable once built; share by shared_ptr.
class GeoDatabaseSet {
 public:
  static absl::StatusOr<std::shared_ptr<const GeoDatabaseSet>> Open(const std::vector<std::string>& paths);
  // Fills *record from the first city database and the first ASN database that have `ip`.
  void Lookup(const IpAddress& ip, GeoRecord* record) const;
  // True when any file on disk differs (inode or mtime) from the one opened.
  bool ChangedOnDisk() const;
  const std::vector<std::unique_ptr<GeoDatabase>>& databases() const { return databases_; }
  std::vector<std::string> paths() const;

 private:
  std::vector<std::unique_ptr<GeoDatabase>> databases_;
};

struct GeoCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  double HitRatio() const { return hits + misses == 0 ? 0 : double(hits) / double(hits + misses); }
};

class GeoEnricher {
 public:
  GeoEnricher(std::shared_ptr<const GeoDatabaseSet> databases, const GeoOptions& options);

  // Sets geo and prefix of *out from out->event.ip.
  void Enrich(EnrichedEvent* out);
  std::shared_ptr<const GeoRecord> Lookup(const IpAddress& ip);

  // Adopts a newly opened set (after a reload) and empties the cache.
  void SetDatabases(std::shared_ptr<const GeoDatabaseSet> databases);
  const std::shared_ptr<const GeoDatabaseSet>& databases() const { return databases_; }

  const GeoCacheStats& cache_stats() const { return stats_; }
  size_t cache_size() const { return young_.size() + old_.size(); }

 private:
  using Cache = absl::flat_hash_map<IpAddress, std::shared_ptr<const GeoRecord>>;
  std::shared_ptr<const GeoDatabaseSet> databases_;
  GeoOptions options_;
  size_t generation_capacity_;
  Cache young_;
  Cache old_;
  IpAddress last_ip_;  // the last address looked up, and its record (null: none yet)
  std::shared_ptr<const GeoRecord> last_record_;
  GeoCacheStats stats_;
};

}  // namespace authwatch
