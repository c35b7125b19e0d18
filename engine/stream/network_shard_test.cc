#include "stream/network_shard.h"

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "detect/rule_loader.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

using testing::Ev;
using testing::Rules;

constexpr char kSprayRule[] = R"(
- rule: spray
  key: ip
  window: 10m
  when:
    - distinct: account
      where: {result: failure}
      at_least: 5
  then:
    - {action: block, scope: all, ttl: 1h}
)";

struct Sent {
  int source;
  int64_t source_offset;
  v1::RoutedEvent event;
};

v1::RoutedEvent Routed(int source, int64_t source_offset, const Ev& ev) {
  v1::RoutedEvent r;
  ToRoutedEvent(ev.Build(), source, source_offset, {ProfileFacts{}}, &r);
  return r;
}

v1::SourceWatermark Mark(int source, int64_t ms, bool idle = false) {
  v1::SourceWatermark w;
  w.set_source(source);
  w.set_max_event_ms(ms);
  w.set_idle(idle);
  return w;
}

// Three sources' events, each source in time order, with many ties in time across sources.
std::vector<Sent> Streams(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Sent> all;
  for (int source = 0; source < 3; ++source) {
    Ev ev;
    for (int64_t off = 0; off < 400; ++off) {
      ev.ts += static_cast<EventTimeMs>(rng() % 3) * 1000;  // ties within and across sources
      ev.ip = "203.0.113." + std::to_string(rng() % 3);
      ev.account = "user" + std::to_string(rng() % 40) + "@mail.example";
      ev.success = rng() % 4 == 0;
      all.push_back({source, off, Routed(source, off, ev)});
    }
  }
  return all;
}

std::vector<std::string> Ids(const std::vector<Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) {
    if (d.action != ActionKind::kUnblock) out.push_back(d.decision_id);
  }
  return out;
}

// What one engine decides on the events in (time, source, offset) order.
std::vector<std::string> Reference(const std::shared_ptr<const RuleSet>& rules, std::vector<Sent> all) {
  std::stable_sort(all.begin(), all.end(), [](const Sent& a, const Sent& b) {
    return std::make_tuple(a.event.ts_ms(), a.source, a.source_offset) <
           std::make_tuple(b.event.ts_ms(), b.source, b.source_offset);
  });
  GeoEnricher geo(nullptr, GeoOptions{});
  NetworkShard one(ShardRole::kAddress, rules, 1, &geo);
  std::vector<Decision> out;
  int64_t offset = 0;
  for (Sent s : all) {
    s.event.set_source(0);
    s.event.set_source_offset(offset);
    one.Add(s.event, offset++);
    one.Release([&](int64_t, std::vector<Decision>& d) { out.insert(out.end(), d.begin(), d.end()); });
  }
  return Ids(out);
}

TEST(NetworkShardTest, MergesSourcesInOneOrderWhateverTheArrivalOrder) {
  auto rules = Rules(kSprayRule);
  ASSERT_NE(rules, nullptr);
  const std::vector<Sent> all = Streams(3);
  const std::vector<std::string> want = Reference(rules, all);
  ASSERT_GE(want.size(), 3u) << "the stream must make the rule fire";
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    std::mt19937_64 rng(seed);
    // Arrival: the sources interleave at random, each in its own order; now and then a source
    // reports a watermark, and one source sends a stretch of its events again (a restart).
    std::map<int, size_t> next;
    std::vector<std::vector<Sent>> by_source(3);
    for (const Sent& s : all) by_source[static_cast<size_t>(s.source)].push_back(s);
    GeoEnricher geo(nullptr, GeoOptions{});
    NetworkShard shard(ShardRole::kAddress, rules, 3, &geo);
    std::vector<Decision> out;
    int64_t partition_offset = 0;
    int64_t repeats = 0;
    auto release = [&] {
      shard.Release([&](int64_t, std::vector<Decision>& d) { out.insert(out.end(), d.begin(), d.end()); });
    };
    while (true) {
      std::vector<int> open;
      for (int s = 0; s < 3; ++s) {
        if (next[s] < by_source[static_cast<size_t>(s)].size()) open.push_back(s);
      }
      if (open.empty()) break;
      const int s = open[rng() % open.size()];
      size_t& i = next[s];
      const auto& events = by_source[static_cast<size_t>(s)];
      if (i > 20 && rng() % 50 == 0) {
        const size_t from = i - 1 - rng() % 20;  // re-sent after a restart
        for (size_t k = from; k < i; ++k) repeats += shard.Add(events[k].event, partition_offset++) ? 0 : 1;
      }
      ASSERT_TRUE(shard.Add(events[i].event, partition_offset++));
      if (rng() % 10 == 0) shard.Watermark(Mark(s, events[i].event.ts_ms()));
      ++i;
      release();
    }
    EXPECT_GT(shard.waiting(), 0u) << "without a word from the others, a source's newest events wait";
    for (int s = 0; s < 3; ++s) shard.Watermark(Mark(s, INT64_MAX / 2, /*idle=*/true));
    release();
    EXPECT_EQ(shard.waiting(), 0u);
    EXPECT_GT(repeats, 0);
    EXPECT_EQ(Ids(out), want) << "seed " << seed;
  }
}

TEST(NetworkShardTest, ASourceNeverHeardFromHoldsEverythingBack) {
  auto rules = Rules(kSprayRule);
  GeoEnricher geo(nullptr, GeoOptions{});
  NetworkShard shard(ShardRole::kAddress, rules, 2, &geo);
  Ev ev;
  int processed = 0;
  ASSERT_TRUE(shard.Add(Routed(0, 0, ev), 0));
  shard.Release([&](int64_t, std::vector<Decision>&) { ++processed; });
  EXPECT_EQ(processed, 0);
  EXPECT_EQ(shard.OldestWaiting(), 0);
  shard.Watermark(Mark(1, ev.ts));  // source 1 is at the same time: source 0 goes first on a tie
  shard.Release([&](int64_t, std::vector<Decision>&) { ++processed; });
  EXPECT_EQ(processed, 1);
  EXPECT_EQ(shard.OldestWaiting(), -1);
  EXPECT_FALSE(shard.Add(Routed(0, 0, ev), 1)) << "a repeat";
  EXPECT_FALSE(shard.Add(Routed(5, 0, ev), 2)) << "an unknown source";
}

TEST(NetworkShardTest, RestoredShardRecognisesRepeatsAndDecidesTheSame) {
  auto rules = Rules(kSprayRule);
  const std::vector<Sent> all = Streams(9);
  const std::vector<std::string> want = Reference(rules, all);
  GeoEnricher geo(nullptr, GeoOptions{});
  auto feed = [&](NetworkShard& shard, size_t from, size_t to, std::vector<Decision>* out) {
    // Round robin over the sources, each in order.
    for (size_t i = from; i < to; ++i) {
      for (int s = 0; s < 3; ++s) shard.Add(all[static_cast<size_t>(s) * 400 + i].event, static_cast<int64_t>(i * 3 + s));
      shard.Release([&](int64_t, std::vector<Decision>& d) { out->insert(out->end(), d.begin(), d.end()); });
    }
  };
  std::vector<Decision> out;
  NetworkShard first(ShardRole::kAddress, rules, 3, &geo);
  feed(first, 0, 200, &out);
  const v1::ShardState snapshot = first.Snapshot(first.OldestWaiting());
  NetworkShard second(ShardRole::kAddress, rules, 3, &geo);
  ASSERT_TRUE(second.Restore(snapshot).ok());
  feed(second, 150, 400, &out);  // re-read from before the snapshot: repeats are dropped
  for (int s = 0; s < 3; ++s) second.Watermark(Mark(s, INT64_MAX / 2, true));
  second.Release([&](int64_t, std::vector<Decision>& d) { out.insert(out.end(), d.begin(), d.end()); });
  EXPECT_EQ(Ids(out), want);

  v1::ShardState bad = snapshot;
  bad.mutable_sources(0)->set_source(7);
  NetworkShard third(ShardRole::kAddress, rules, 3, &geo);
  const absl::Status s = third.Restore(bad);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("source 7 of 3 input partitions"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace authwatch
