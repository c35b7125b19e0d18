#include "stream/kafka_config.h"

#include "gtest/gtest.h"

namespace authwatch {
namespace {

std::string Get(RdKafka::Conf& conf, const std::string& name) {
  std::string value;
  conf.get(name, value);
  return value;
}

TEST(KafkaConfigTest, UserPropertiesPassThroughAndGuaranteesAreSet) {
  auto conf = MakeKafkaConf({{"bootstrap.servers", "127.0.0.1:9092"}, {"security.protocol", "SASL_SSL"},
                             {"sasl.mechanisms", "PLAIN"}, {"session.timeout.ms", "30000"}},
                            KafkaRole::kConsumer, "g");
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(Get(**conf, "security.protocol"), "sasl_ssl");
  EXPECT_EQ(Get(**conf, "session.timeout.ms"), "30000");
  EXPECT_EQ(Get(**conf, "group.id"), "g");
  EXPECT_EQ(Get(**conf, "enable.auto.offset.store"), "false");
  EXPECT_EQ(Get(**conf, "partition.assignment.strategy"), "cooperative-sticky");
}

TEST(KafkaConfigTest, ProducerIsIdempotentWithAcksAllAndNoDeliveryTimeout) {
  auto conf = MakeKafkaConf({{"bootstrap.servers", "127.0.0.1:9092"}, {"group.id", "ignored"}}, KafkaRole::kProducer, "g");
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(Get(**conf, "enable.idempotence"), "true");
  EXPECT_EQ(Get(**conf, "acks"), "-1");
  EXPECT_EQ(Get(**conf, "message.timeout.ms"), "0");
}

TEST(KafkaConfigTest, NagleIsOffByDefaultAndUsersMayTurnItOn) {
  for (KafkaRole role : {KafkaRole::kConsumer, KafkaRole::kProducer}) {
    auto conf = MakeKafkaConf({}, role, "g");
    ASSERT_TRUE(conf.ok()) << conf.status();
    EXPECT_EQ(Get(**conf, "socket.nagle.disable"), "true");
    auto user = MakeKafkaConf({{"socket.nagle.disable", "false"}}, role, "g");
    ASSERT_TRUE(user.ok()) << user.status();
    EXPECT_EQ(Get(**user, "socket.nagle.disable"), "false");
  }
}

TEST(KafkaConfigTest, SettingsThatBreakAtLeastOnceAreRefused) {
  auto c = MakeKafkaConf({{"enable.auto.offset.store", "true"}}, KafkaRole::kConsumer, "g");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("enable.auto.offset.store must stay false"), std::string::npos);
  EXPECT_FALSE(MakeKafkaConf({{"acks", "1"}}, KafkaRole::kProducer, "g").ok());
  EXPECT_FALSE(MakeKafkaConf({{"enable.idempotence", "false"}}, KafkaRole::kProducer, "g").ok());
  EXPECT_TRUE(MakeKafkaConf({{"acks", "all"}}, KafkaRole::kProducer, "g").ok());
}

TEST(KafkaConfigTest, UnknownPropertyIsAnErrorNamingItAndSecretsAreMasked) {
  auto c = MakeKafkaConf({{"no.such.property", "1"}}, KafkaRole::kConsumer, "g");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("no.such.property"), std::string::npos);
  auto s = MakeKafkaConf({{"sasl.password", "hunter2"}, {"sasl.mechanism", "NOPE"}}, KafkaRole::kConsumer, "g");
  EXPECT_EQ(RedactedProperties({{"bootstrap.servers", "b:9092"}, {"sasl.password", "hunter2"}, {"ssl.key.password", "k"}}),
            "bootstrap.servers=b:9092, sasl.password=*****, ssl.key.password=*****");
  if (!s.ok()) {
    EXPECT_EQ(std::string(s.status().message()).find("hunter2"), std::string::npos);
  }
}

}  // namespace
}  // namespace authwatch
