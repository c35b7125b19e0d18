#include "enrich/geo_database.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>

#include "absl/strings/match.h"
#include "core/strings.h"

namespace authwatch {
namespace {

bool GetString(MMDB_entry_s* entry, std::string* out, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING) {
    return false;
  }
  out->assign(data.utf8_string, data.data_size);
  return true;
}

// Coordinates are doubles in GeoIP2 files and 32-bit floats in the DB-IP Lite files.
bool GetNumber(MMDB_entry_s* entry, double* out, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data) return false;
  switch (data.type) {
    case MMDB_DATA_TYPE_DOUBLE: *out = data.double_value; return true;
    case MMDB_DATA_TYPE_FLOAT:
      // Six decimals (~0.1 m) is all a 32-bit float holds; rounding keeps 37.422001 from
      // printing as 37.42200088500977.
      *out = std::round(static_cast<double>(data.float_value) * 1e6) / 1e6;
      return true;
    case MMDB_DATA_TYPE_UINT16: *out = data.uint16; return true;
    case MMDB_DATA_TYPE_UINT32: *out = data.uint32; return true;
    case MMDB_DATA_TYPE_INT32: *out = data.int32; return true;
    default: return false;
  }
}

bool HasKey(MMDB_entry_s* entry, const char* key) {
  const char* path[] = {key, nullptr};
  MMDB_entry_data_s data;
  return MMDB_aget_value(entry, &data, path) == MMDB_SUCCESS && data.has_data;
}

// Finds any data record by walking the search tree depth-first (left first), so the schema
// can be detected without knowing an address that the database contains.
bool FindAnyRecord(MMDB_s* mmdb, uint32_t node_number, int depth, MMDB_entry_s* out) {
  if (depth > 128) return false;
  MMDB_search_node_s node;
  if (MMDB_read_node(mmdb, node_number, &node) != MMDB_SUCCESS) return false;
  const struct {
    uint8_t type;
    uint64_t record;
    MMDB_entry_s entry;
  } sides[] = {{node.left_record_type, node.left_record, node.left_record_entry},
               {node.right_record_type, node.right_record, node.right_record_entry}};
  for (const auto& side : sides) {
    if (side.type == MMDB_RECORD_TYPE_DATA) {
      *out = side.entry;
      return true;
    }
    if (side.type == MMDB_RECORD_TYPE_SEARCH_NODE &&
        FindAnyRecord(mmdb, static_cast<uint32_t>(side.record), depth + 1, out)) {
      return true;
    }
  }
  return false;
}

constexpr const char* kCountryIso[] = {"country", "iso_code", nullptr};
constexpr const char* kRegisteredCountryIso[] = {"registered_country", "iso_code", nullptr};
constexpr const char* kCityName[] = {"city", "names", "en", nullptr};
constexpr const char* kLatitude[] = {"location", "latitude", nullptr};
constexpr const char* kLongitude[] = {"location", "longitude", nullptr};
constexpr const char* kAccuracy[] = {"location", "accuracy_radius", nullptr};
constexpr const char* kFlatCountry[] = {"country_code", nullptr};
constexpr const char* kFlatCity[] = {"city", nullptr};
constexpr const char* kFlatLatitude[] = {"latitude", nullptr};
constexpr const char* kFlatLongitude[] = {"longitude", nullptr};
constexpr const char* kAsnNumber[] = {"autonomous_system_number", nullptr};
constexpr const char* kAsnOrg[] = {"autonomous_system_organization", nullptr};

}  // namespace

std::string_view GeoSchemaName(GeoSchema s) {
  switch (s) {
    case GeoSchema::kGeoIp2City: return "geoip2-city";
    case GeoSchema::kFlatCity: return "flat-city";
    case GeoSchema::kAsn: return "asn";
  }
  return "";
}

absl::StatusOr<std::unique_ptr<GeoDatabase>> GeoDatabase::Open(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(Cat("GeoIP database '", path, "': ", std::strerror(errno),
                                            " (run deploy/setup.sh to install the databases)"));
  }
  std::unique_ptr<GeoDatabase> db(new GeoDatabase());
  db->mmdb_ = std::make_unique<MMDB_s>();
  const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, db->mmdb_.get());
  if (rc != MMDB_SUCCESS) {
    db->mmdb_.reset();  // MMDB_open cleans up after itself on failure
    return absl::InvalidArgumentError(
        Cat("GeoIP database '", path, "' cannot be opened: ", MMDB_strerror(rc),
                     rc == MMDB_IO_ERROR ? Cat(" (", std::strerror(errno), ")") : ""));
  }
  db->path_ = path;
  db->inode_ = st.st_ino;
  db->mtime_ns_ = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  db->ip_version_ = db->mmdb_->metadata.ip_version == 4 ? 4 : 6;
  if (db->mmdb_->metadata.database_type != nullptr) {
    db->database_type_ = db->mmdb_->metadata.database_type;
  }
  MMDB_entry_s any;
  if (!FindAnyRecord(db->mmdb_.get(), 0, 0, &any)) {
    return absl::InvalidArgumentError(
        Cat("GeoIP database '", path, "' holds no records (or a corrupt search tree)"));
  }
  if (HasKey(&any, "autonomous_system_number")) {
    db->schema_ = GeoSchema::kAsn;
  } else if (HasKey(&any, "country_code")) {
    db->schema_ = GeoSchema::kFlatCity;
  } else if (HasKey(&any, "country") || HasKey(&any, "registered_country") ||
             HasKey(&any, "location") || HasKey(&any, "city") || HasKey(&any, "continent")) {
    db->schema_ = GeoSchema::kGeoIp2City;
  } else {
    return absl::InvalidArgumentError(Cat(
        "GeoIP database '", path, "' (type '", db->database_type_,
        "') has records of an unknown schema: expected GeoIP2/GeoLite2 City or Country, "
        "DB-IP flat city, or GeoLite2-ASN"));
  }
  return db;
}

GeoDatabase::~GeoDatabase() {
  if (mmdb_) MMDB_close(mmdb_.get());
}

bool GeoDatabase::Lookup(const IpAddress& ip, GeoRecord* r) const {
  sockaddr_storage ss{};
  if (ip.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(ip.v4());
  } else {
    if (ip_version_ == 4) return false;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(sin6->sin6_addr.s6_addr, ip.bytes().data(), 16);
  }
  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s res =
      MMDB_lookup_sockaddr(mmdb_.get(), reinterpret_cast<const sockaddr*>(&ss), &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS || !res.found_entry) return false;
  MMDB_entry_s* e = &res.entry;
  switch (schema_) {
    case GeoSchema::kAsn: {
      double asn = 0;
      if (GetNumber(e, &asn, kAsnNumber)) r->asn = static_cast<uint32_t>(asn);
      GetString(e, &r->as_org, kAsnOrg);
      return true;
    }
    case GeoSchema::kFlatCity: {
      GetString(e, &r->country_iso, kFlatCountry);
      GetString(e, &r->city, kFlatCity);
      double lat, lon;
      if (GetNumber(e, &lat, kFlatLatitude) && GetNumber(e, &lon, kFlatLongitude)) {
        r->has_location = true;
        r->latitude = lat;
        r->longitude = lon;
      }
      return true;
    }
    case GeoSchema::kGeoIp2City: {
      if (!GetString(e, &r->country_iso, kCountryIso)) {
        GetString(e, &r->country_iso, kRegisteredCountryIso);
      }
      GetString(e, &r->city, kCityName);
      double lat, lon, acc;
      if (GetNumber(e, &lat, kLatitude) && GetNumber(e, &lon, kLongitude)) {
        r->has_location = true;
        r->latitude = lat;
        r->longitude = lon;
        if (GetNumber(e, &acc, kAccuracy)) r->accuracy_radius_km = static_cast<uint32_t>(acc);
      }
      // GeoIP2 ISP/Enterprise records may carry ASN fields too.
      double asn;
      if (GetNumber(e, &asn, kAsnNumber)) r->asn = static_cast<uint32_t>(asn);
      if (r->as_org.empty()) GetString(e, &r->as_org, kAsnOrg);
      return true;
    }
  }
  return false;
}

}  // namespace authwatch
