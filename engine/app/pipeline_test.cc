#include "app/pipeline.h"

#include "core/strings.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"
#include "ingest/json_decoder.h"

namespace authwatch {
namespace {

class CollectingSink final : public OutputSink, public DeadLetterSink {
 public:
  void Decision(const authwatch::Decision& d) override { decisions.push_back(d); }
  void Enriched(const EnrichedEvent&) override {}
  void Write(const DeadLetter& l) override { reasons.push_back(l.rejection->reason); }
  std::vector<authwatch::Decision> decisions;
  std::vector<RejectReason> reasons;
};

std::string Event(const std::string& ts, const std::string& ip = "45.155.205.23", const std::string& result = "failure") {
  return Cat(R"({"ts":")", ts, R"(","account":"v@mail.example","ip":")", ip, R"(","result":")", result, R"("})");
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : enricher_(nullptr, GeoOptions{}),
        pipeline_(std::make_unique<JsonEventDecoder>(FieldMapping::Canonical(), 4096), &enricher_,
                  testing::Rules(R"(
- rule: three-failures
  key: ip
  window: 10m
  when: [{count: {result: failure}, at_least: 3}]
  then: [{action: block, ttl: 1h}]
)"),
                  /*late_allowance_ms=*/5 * 60 * 1000, EmitMode::kDecisions, &sink_, &sink_) {}
  void Feed(const std::string& record, int32_t partition, int64_t offset) {
    SourcePosition pos;
    pos.name = "topic";
    pos.partition = partition;
    pos.offset = offset;
    pipeline_.Process(record, pos);
  }
  GeoEnricher enricher_;
  CollectingSink sink_;
  Pipeline pipeline_;
};

TEST_F(PipelineTest, LateAllowanceAppliesWithinAPartition) {
  Feed(Event("2026-11-02T12:00:00Z"), 0, 1);
  Feed(Event("2026-11-02T10:00:00Z"), 1, 1);  // other partition, behind by 2 h: not late
  Feed(Event("2026-11-02T11:56:00Z"), 0, 2);  // 4 min behind its partition: within allowance
  Feed(Event("2026-11-02T11:50:00Z"), 0, 3);  // 10 min behind its partition: late
  EXPECT_EQ(sink_.reasons, std::vector<RejectReason>{RejectReason::kLateEvent});
  EXPECT_EQ(pipeline_.counters().accepted, 3u);
}

TEST_F(PipelineTest, DecodesDetectsAndDecidesEndToEnd) {
  Feed(Event("2026-11-02T12:00:00Z"), -1, 1);
  Feed(Event("2026-11-02T12:00:01Z"), -1, 2);
  EXPECT_TRUE(sink_.decisions.empty());
  Feed(Event("2026-11-02T12:00:02Z"), -1, 3);
  ASSERT_EQ(sink_.decisions.size(), 1u);
  EXPECT_EQ(sink_.decisions[0].subject.value, "45.155.205.23");
}

TEST_F(PipelineTest, BlankLinesAreIgnoredBadOnesCounted) {
  Feed("", -1, 1);
  Feed("   ", -1, 2);
  Feed("{not json", -1, 3);
  EXPECT_EQ(pipeline_.counters().blank, 2u);
  EXPECT_EQ(pipeline_.counters().records, 1u);
  EXPECT_EQ(pipeline_.counters().rejected_total(), 1u);
}

}  // namespace
}  // namespace authwatch
