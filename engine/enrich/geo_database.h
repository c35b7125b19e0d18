// GeoDatabase: one MaxMind DB file opened with libmaxminddb in mmap mode, with the schema of
// its records detected once at open time:
//   - GeoIP2/GeoLite2 City or Country (also DB-IP's own mmdb): country.iso_code, city.names.en,
//     location.{latitude,longitude,accuracy_radius};
//   - the flat DB-IP Lite schema of @ip-location-db: country_code, city, latitude, longitude
//     (32-bit floats);
//   - GeoLite2-ASN schema: autonomous_system_number, autonomous_system_organization.
// Owns the MMDB_s handle (closed in the destructor). Lookups only read the mapping and are
// safe from several threads; Open and destruction are not.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/auth_event.h"
#include "core/ip_address.h"

struct MMDB_s;

namespace authwatch {

enum class GeoSchema : uint8_t { kGeoIp2City, kFlatCity, kAsn };
std::string_view GeoSchemaName(GeoSchema s);

class GeoDatabase {
 public:
  // Opens and memory-maps `path`; fails with a message naming the file when it is missing,
  // unreadable, not a MaxMind DB, or holds records of no known schema.
  static absl::StatusOr<std::unique_ptr<GeoDatabase>> Open(const std::string& path);
  ~GeoDatabase();
  GeoDatabase(const GeoDatabase&) = delete;
  GeoDatabase& operator=(const GeoDatabase&) = delete;

  // Adds what this database knows of `ip` to *record (only the fields of its schema).
  // Returns false when the address is not in the database (not an error).
  bool Lookup(const IpAddress& ip, GeoRecord* record) const;

  GeoSchema schema() const { return schema_; }
  const std::string& path() const { return path_; }
  const std::string& database_type() const { return database_type_; }
  // 4 when the file holds only IPv4 (an IPv6 address is never found), else 6.
  int ip_version() const { return ip_version_; }
  // File identity at open time; a change means the file was replaced.
  ino_t inode() const { return inode_; }
  int64_t mtime_ns() const { return mtime_ns_; }

 private:
  GeoDatabase() = default;
  std::unique_ptr<MMDB_s> mmdb_;
  std::string path_;
  std::string database_type_;
  GeoSchema schema_ = GeoSchema::kGeoIp2City;
  int ip_version_ = 6;
  ino_t inode_ = 0;
  int64_t mtime_ns_ = 0;
};

}  // namespace authwatch
