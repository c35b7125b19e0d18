#!/usr/bin/env perl
# Usage: asn-csv-to-mmdb.pl OUT.mmdb ASN.csv [ASN.csv ...]
#
# Builds a GeoLite2-ASN-schema MaxMind DB from @ip-location-db/asn CSV files
# (rows: first_ip,last_ip,asn,organization; no header; organization may be
# CSV-quoted). IPv4 and IPv6 rows go into one IPv6 tree; IPv4 addresses land in
# ::/96, and ::ffff:0:0/96, 2001::/32 (Teredo) and 2002::/16 (6to4) are
# aliased onto it, as in MaxMind's own databases, so IPv4-mapped addresses from
# dual-stack sockets resolve too.
#
# Row policy (all reported as counts on stderr, none fatal on their own):
#  - rows overlapping the previous row: inserted; the later row wins on the
#    overlap (writer's merge_strategy "none").
#  - IPv6 rows intersecting an aliased network: clipped to the non-aliased
#    parts; the writer throws on inserts into aliases, and a range insert that
#    throws midway leaves part of the range inserted, so we never let it throw.
#  - malformed rows (CSV error, wrong field count, bad IP/ASN, invalid UTF-8,
#    writer rejection): skipped. The run fails if more than 1% of rows are
#    skipped, since that means the input format changed, not a few bad rows.
use strict;
use warnings;
use Encode qw(decode FB_CROAK);
use MaxMind::DB::Writer::Tree;
use Socket qw(inet_pton inet_ntop AF_INET AF_INET6);
use Text::CSV;

my $MAX_SKIP_FRACTION = 0.01;

die "usage: $0 OUT.mmdb ASN.csv [ASN.csv ...]\n" if @ARGV < 2;
my ( $out, @inputs ) = @ARGV;

# Check every input before the (slow) build so a bad path fails immediately.
for my $f (@inputs) {
    die "$0: input $f does not exist\n"      unless -e $f;
    die "$0: input $f is not a plain file\n" unless -f _;
    die "$0: input $f is not readable\n"     unless -r _;
    die "$0: input $f is empty\n"            unless -s _;
}
{
    # Fail before the ~10 s build, not after it.
    ( my $dir = $out ) =~ s{/[^/]*\z}{};
    $dir = '.' if $dir eq $out;
    $dir = '/' if $dir eq '';
    die "$0: output directory $dir does not exist or is not writable\n"
        unless -d $dir && -w _;
}

my %type = (
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version    => 6,
    record_size   => 28,    # 24 would fit today; 28 leaves room to grow
    database_type => 'GeoLite2-ASN',
    languages     => ['en'],
    description   => {
        en => 'authwatch ASN database built from @ip-location-db/asn '
            . '(RouteViews, RIRs, DB-IP ASN Lite CC BY 4.0)'
    },
    alias_ipv6_to_ipv4 => 1,
    # The CSV is the source of truth; don't silently drop rows the writer
    # considers reserved (the engine classifies private ranges itself).
    remove_reserved_networks => 0,
    map_key_type_callback    => sub { $type{ $_[0] } // die "no type for key $_[0]\n" },
);

# Networks the writer aliases to ::/96 (see alias_ipv6_to_ipv4), as packed
# [first, last] pairs.
my @aliased = map { [ _v6( $_->[0] ), _v6( $_->[1] ) ] } (
    [ '::ffff:0:0', '::ffff:ffff:ffff' ],
    [ '2001::',     '2001:0:ffff:ffff:ffff:ffff:ffff:ffff' ],
    [ '2002::',     '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff' ],
);

# Text::CSV here is the pure-Perl backend (no Text::CSV_XS installed), which
# alone takes ~9 s for the IPv4 file; most rows have no quotes, so those are
# split directly and only quoted rows go through the CSV parser. Rows are read
# line by line, so a quoted field containing a newline (none in this data)
# would be counted as a CSV parse error, not silently merged.
# allow_loose_quotes: names like Over"lap (bare quote in an unquoted field) are
# kept as written rather than dropped.
my $csv = Text::CSV->new( { binary => 1, allow_loose_quotes => 1, auto_diag => 0 } );

my %count = map { $_ => 0 } qw(rows inserted overlap clipped aliased);
my %skip;         # reason => count
my @examples;     # first few skipped rows, for the report
my %data_cache;   # one hashref per (asn, org): fewer allocations

my $where;    # file:line of the current row
my $reject = sub {
    my ( $reason, $detail ) = @_;
    $skip{$reason}++;
    push @examples, "$where: $reason: $detail" if @examples < 10;
    return;
};

for my $file (@inputs) {
    open my $fh, '<:raw', $file or die "$0: cannot open $file: $!\n";
    my $prev_last;    # packed last address of the previous row, per file
    while ( my $line = <$fh> ) {
        $line =~ s/\r?\n\z//;
        next if $line eq '';
        $count{rows}++;
        $where = "$file:$.";

        if ( $line =~ /[^\x00-\x7f]/ ) {
            my $decoded = eval { decode( 'UTF-8', $line, FB_CROAK ) };
            defined $decoded
                or $reject->( 'invalid UTF-8', $line ), next;
            $line = $decoded;
        }

        my @f;
        if ( index( $line, '"' ) < 0 ) {
            @f = split /,/, $line, -1;
        }
        elsif ( $csv->parse($line) ) {
            @f = $csv->fields;
        }
        else {
            $reject->( 'CSV parse error', ( $csv->error_diag )[2] . ": $line" );
            next;
        }
        @f == 4 or $reject->( 'not 4 fields', $line ), next;

        my ( $first, $last, $asn, $org ) = @f;
        my ( $pf, $pl ) = ( _pack($first), _pack($last) );
        defined $pf && defined $pl
            or $reject->( 'bad IP address', $line ), next;
        length $pf == length $pl
            or $reject->( 'mixed IPv4/IPv6 range', $line ), next;
        $pf le $pl
            or $reject->( 'first IP after last IP', $line ), next;
        $asn =~ /\A[0-9]{1,10}\z/ && $asn <= 4294967295
            or $reject->( 'bad ASN', $line ), next;

        # Input is sorted by start address, so this also catches unsorted rows.
        $count{overlap}++ if defined $prev_last
            && length $prev_last == length $pf
            && $pf le $prev_last;
        $prev_last = $pl;

        my @pieces = length $pf == 16 ? _clip_aliases( $pf, $pl ) : ( [ $pf, $pl ] );
        if ( !@pieces ) { $count{aliased}++; next }
        $count{clipped}++ if @pieces > 1 || $pieces[0][0] ne $pf || $pieces[0][1] ne $pl;

        my $data = $data_cache{"$asn\0$org"} //= {
            autonomous_system_number       => 0 + $asn,
            autonomous_system_organization => $org,
        };
        my $ok = eval {
            $tree->insert_range( _unpack( $_->[0] ), _unpack( $_->[1] ), $data ) for @pieces;
            1;
        };
        if ($ok) { $count{inserted}++ }
        else {
            ( my $err = $@ ) =~ s/ at \S+ line \d+\.?\n?\z//;
            $reject->( 'writer rejected', "$line ($err)" );
        }
    }
    close $fh or die "$0: error reading $file: $!\n";
}

my $skipped = 0;
$skipped += $_ for values %skip;
printf STDERR "[asn-csv-to-mmdb] %d rows: %d inserted, %d skipped; %d overlapped the previous row "
    . "(later row wins), %d clipped and %d dropped for lying in aliased IPv6 networks "
    . "(::ffff:0:0/96, 2001::/32, 2002::/16 resolve via IPv4)\n",
    @count{qw(rows inserted)}, $skipped, @count{qw(overlap clipped aliased)};
printf STDERR "[asn-csv-to-mmdb]   skipped: %s: %d\n", $_, $skip{$_} for sort keys %skip;
print STDERR "[asn-csv-to-mmdb]   e.g. $_\n" for @examples;

die "$0: no rows inserted from @inputs\n" unless $count{inserted};
die sprintf( "%s: %d of %d rows skipped (> %g%%); refusing to write %s\n",
    $0, $skipped, $count{rows}, 100 * $MAX_SKIP_FRACTION, $out )
    if $skipped > $MAX_SKIP_FRACTION * $count{rows};

open my $ofh, '>:raw', $out or die "$0: cannot write $out: $!\n";
$tree->write_tree($ofh);
close $ofh or die "$0: error writing $out: $!\n";
exit 0;

# Packed address (4 bytes IPv4, 16 bytes IPv6) or undef; packed strings of the
# same length compare correctly with lt/le/gt.
sub _pack {
    my $ip = shift;
    return $ip =~ /:/ ? inet_pton( AF_INET6, $ip ) : inet_pton( AF_INET, $ip );
}

sub _unpack { length $_[0] == 4 ? inet_ntop( AF_INET, $_[0] ) : inet_ntop( AF_INET6, $_[0] ) }

sub _v6 { inet_pton( AF_INET6, $_[0] ) // die "bad constant $_[0]" }

# +/- 1 on a packed 128-bit address (callers guarantee no wrap-around).
sub _add1 {
    my ( $p, $d ) = @_;
    my @w = unpack 'N4', $p;
    for ( my $i = 3; $i >= 0; $i-- ) {
        if ( $d > 0 ) { if ( $w[$i] == 0xffffffff ) { $w[$i] = 0; next } $w[$i]++; last }
        else          { if ( $w[$i] == 0 ) { $w[$i] = 0xffffffff; next } $w[$i]--; last }
    }
    return pack 'N4', @w;
}

# The parts of [first, last] outside every aliased network.
sub _clip_aliases {
    my @pieces = ( [@_] );
    for my $alias (@aliased) {
        my ( $as, $ae ) = @$alias;
        @pieces = map {
            my ( $s, $e ) = @$_;
            ( $e lt $as || $s gt $ae ) ? [ $s, $e ]
                : (
                ( $s lt $as ? [ $s, _add1( $as, -1 ) ] : () ),
                ( $e gt $ae ? [ _add1( $ae, 1 ), $e ] : () ),
                );
        } @pieces;
    }
    return @pieces;
}
