#include "enrich/geo_enricher.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace authwatch {

absl::StatusOr<std::shared_ptr<const GeoDatabaseSet>> GeoDatabaseSet::Open(
    const std::vector<std::string>& paths) {
  auto set = std::make_shared<GeoDatabaseSet>();
  for (const auto& path : paths) {
    auto db = GeoDatabase::Open(path);
    if (!db.ok()) return db.status();
    set->databases_.push_back(*std::move(db));
  }
  return std::shared_ptr<const GeoDatabaseSet>(std::move(set));
}

void GeoDatabaseSet::Lookup(const IpAddress& ip, GeoRecord* record) const {
  bool have_city = false;
  bool have_asn = false;
  for (const auto& db : databases_) {
    const bool is_asn = db->schema() == GeoSchema::kAsn;
    if (is_asn ? have_asn : have_city) continue;
    if (db->Lookup(ip, record)) (is_asn ? have_asn : have_city) = true;
    if (have_city && have_asn) break;
  }
}

bool GeoDatabaseSet::ChangedOnDisk() const {
  for (const auto& db : databases_) {
    struct stat st;
    if (stat(db->path().c_str(), &st) != 0) continue;  // being replaced: look again later
    const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (st.st_ino != db->inode() || mtime != db->mtime_ns()) return true;
  }
  return false;
}

std::vector<std::string> GeoDatabaseSet::paths() const {
  std::vector<std::string> out;
  for (const auto& db : databases_) out.push_back(db->path());
  return out;
}

GeoEnricher::GeoEnricher(std::shared_ptr<const GeoDatabaseSet> databases, const GeoOptions& options)
    : databases_(std::move(databases)),
      options_(options),
      generation_capacity_(std::max<size_t>(1, options.cache_entries / 2)) {}

std::shared_ptr<const GeoRecord> GeoEnricher::Lookup(const IpAddress& ip) {
  // A session's lines, a guesser's run: consecutive events often share their address.
  if (last_record_ != nullptr && ip == last_ip_) {
    ++stats_.hits;
    return last_record_;
  }
  if (auto it = young_.find(ip); it != young_.end()) {
    ++stats_.hits;
    last_ip_ = ip;
    last_record_ = it->second;
    return it->second;
  }
  std::shared_ptr<const GeoRecord> record;
  if (auto it = old_.find(ip); it != old_.end()) {
    ++stats_.hits;
    record = std::move(it->second);
    old_.erase(it);
  } else {
    ++stats_.misses;
    GeoRecord fresh;
    if (databases_) databases_->Lookup(ip, &fresh);
    record = std::make_shared<const GeoRecord>(std::move(fresh));
  }
  if (young_.size() >= generation_capacity_) {
    old_ = std::move(young_);
    young_ = Cache();
    young_.reserve(generation_capacity_);
  }
  young_.emplace(ip, record);
  last_ip_ = ip;
  last_record_ = record;
  return record;
}

void GeoEnricher::Enrich(EnrichedEvent* out) {
  out->geo = Lookup(out->event.ip);
  out->prefix = IpPrefix::Of(out->event.ip, options_.prefix_v4_bits, options_.prefix_v6_bits);
}

void GeoEnricher::SetDatabases(std::shared_ptr<const GeoDatabaseSet> databases) {
  databases_ = std::move(databases);
  young_.clear();
  old_.clear();
  last_record_.reset();  // a reloaded database answers anew, even for the last address
}

}  // namespace authwatch
