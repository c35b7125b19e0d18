#include "detect/key_table.h"

#include "gtest/gtest.h"

namespace authwatch {
namespace {

TEST(KeyTableTest, ARecordHoldsOneStatePerRuleOfTheKind) {
  KeyTable table(3);
  KeyRecord* r = table.Add(42);
  ASSERT_EQ(table.Find(42, table.Hash(42)), r);
  EXPECT_EQ(table.Find(43, table.Hash(43)), nullptr);
  EXPECT_EQ(r->key(), 42u);
  EXPECT_EQ(r->slots(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(r->slot(i), nullptr) << "a new record has no state";
  const KeyStateLayout layout(std::vector<Condition>{});
  r->slot(1) = KeyState::Make(layout).release();
  EXPECT_EQ(r->slot(0), nullptr);
  EXPECT_NE(r->slot(1), nullptr);
  // The table frees the state left in the record (LeakSanitizer checks it under ASan).
}

TEST(KeyTableTest, ARecordGoesWithItsLastReference) {
  KeyTable table(2);
  KeyRecord* r = table.Add(7);
  KeyTable::Retain(r);
  KeyTable::Retain(r);
  table.Release(r);
  EXPECT_EQ(table.Find(7, table.Hash(7)), r) << "one reference left";
  EXPECT_EQ(table.size(), 1u);
  table.Release(r);
  EXPECT_EQ(table.Find(7, table.Hash(7)), nullptr);
  EXPECT_EQ(table.size(), 0u);
}

TEST(KeyTableTest, MovedTableKeepsItsRecords) {
  KeyTable a(1);
  KeyRecord* r = a.Add(5);
  KeyTable b(std::move(a));
  EXPECT_EQ(b.Find(5, b.Hash(5)), r);
  KeyTable c(1);
  c.Add(6);
  c = std::move(b);  // c's own record is freed
  EXPECT_EQ(c.Find(5, c.Hash(5)), r);
  EXPECT_EQ(c.Find(6, c.Hash(6)), nullptr);
  EXPECT_GT(c.MemoryBytes(), 0u);
}

}  // namespace
}  // namespace authwatch
