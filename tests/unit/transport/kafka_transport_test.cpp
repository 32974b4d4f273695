// Kafka-specific behaviour: the URL (the Mercure HA hub's form), the topic created when
// missing, unreachable brokers, a node restarted with a durable id index. Against a real
// Kafka broker (KRaft) shared by the whole binary; SASL, TLS and broker failover are tested
// by tests/integration/test_kafka_*.py.
#include <filesystem>

#include <gtest/gtest.h>

#include <boost/url/parse.hpp>

#include "core/config_error.hpp"
#include "support/kafka_broker.hpp"
#include "support/node.hpp"
#include "support/recorder.hpp"
#include "support/redis_server.hpp"
#include "support/run_task.hpp"
#include "transport/kafka/kafka_options.hpp"
#include "transport/transport.hpp"

namespace herald {
namespace {

using test::Recorder;

test::KafkaBroker& broker() {
  static test::KafkaBroker b;
  return b;
}

std::string fresh_topic() {
  static int n = 0;
  return "unit-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

UpdatePtr update(std::string id) {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = {"https://example.com/t"};
  u->data = "data of " + u->id;
  return u;
}

template <class T>
T run(Task<T> task) {
  boost::asio::io_context io;
  return test::run_task(io, std::move(task));
}

KafkaOptions parse(const std::string& url) { return parse_kafka_url(*boost::urls::parse_uri(url)); }

TEST(KafkaOptions, ParsesTheMercureHaUrlForm) {
  auto o = parse("kafka://kafka/?addr=host1:9092&addr=host2:9093&topic=mercure-ha&consumer_group=node-1"
                 "&user=U&password=p%40ss&tls=1");
  EXPECT_EQ(o.brokers, (std::vector<std::string>{"host1:9092", "host2:9093"}));
  EXPECT_EQ(o.topic, "mercure-ha");
  EXPECT_EQ(o.consumer_group, "node-1");
  EXPECT_EQ(o.user, "U");
  EXPECT_EQ(o.password, "p@ss");
  EXPECT_EQ(o.sasl_mechanism, "PLAIN");
  EXPECT_TRUE(o.tls);
  auto p = parse("kafka://broker.example/?topic=t&sasl_mechanism=SCRAM-SHA-512&user=u&password=p");
  EXPECT_EQ(p.brokers, (std::vector<std::string>{"broker.example:9092"}));  // the URL's host, Kafka's port
  EXPECT_EQ(p.sasl_mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(p.consumer_group, "");  // the node id
  EXPECT_FALSE(p.tls);
  EXPECT_EQ(parse("kafka://h:19092?topic=x").brokers, (std::vector<std::string>{"h:19092"}));
  EXPECT_EQ(p.linger, std::chrono::milliseconds(2));
  EXPECT_EQ(parse("kafka://h?linger=0ms").linger, Duration::zero());  // every publish sent at once
}

TEST(KafkaOptions, BadUrlsAreOneLineConfigErrorsWithoutThePassword) {
  for (const char* url : {"kafka://kafka/?addr=nohost", "kafka://kafka/?addr=h:0", "kafka://kafka/?addr=h:99999",
                          "kafka://kafka/?addr=h:1,h:2", "kafka://kafka/?addr=h:1&topic=a/b", "kafka://kafka/?addr=h:1&topic=",
                          "kafka://kafka/?addr=h:1&tls=maybe", "kafka://kafka/?addr=h:1&bogus=1",
                          "kafka://kafka/?addr=h:1&password=secret-pw", "kafka://kafka/?addr=h:1&user=u&password=secret-pw&sasl_mechanism=GSSAPI",
                          "kafka://kafka/?addr=h:1&tls_insecure=1", "kafka://kafka/?addr=h:1&consumer_group=",
                          "kafka://kafka/?addr=h:1&presence_ttl=10ms", "kafka:///?topic=t",
                          "kafka://kafka/?addr=h:1&linger=5s", "kafka://kafka/?addr=h:1&linger=soon"}) {
    try {
      make_transport(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const ConfigError& e) {
      std::string what = e.what();
      EXPECT_TRUE(what.starts_with("invalid transport_url: ")) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_EQ(what.find("secret-pw"), std::string::npos) << what;
    }
  }
}

TEST(KafkaTransport, AMissingTopicIsCreatedWithOnePartitionAndOneOrder) {
  std::string topic = fresh_topic();
  Recorder ra, rb;
  auto a = std::make_unique<test::Node>(broker().url(topic));
  auto b = std::make_unique<test::Node>(broker().url(topic, "consumer_group=node-b"));
  ASSERT_TRUE(run(a->listen(ra)).has_value());
  ASSERT_TRUE(run(b->listen(rb)).has_value());
  EXPECT_TRUE(a->healthy());
  std::vector<Seq> seqs;
  for (int i = 0; i < 20; ++i) seqs.push_back(run((i % 2 ? a : b)->publish(update("u" + std::to_string(i)))).value());
  for (auto* r : {&ra, &rb}) {
    auto seen = r->wait_seen(20);
    ASSERT_EQ(seen.size(), 20u);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(seen[i].update->id, "u" + std::to_string(i));
      EXPECT_EQ(seen[i].seq, seqs[i]) << "the seq a publish returned is not the one delivered";
    }
  }
  // A history page from the first update's predecessor, and the id index on both nodes.
  auto page = run(b->read_after(seqs[0] - 1, 5)).value();
  std::vector<std::string> ids;
  for (auto& s : page)
    if (!s.update->control) ids.push_back(s.update->id);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), "u0");
  EXPECT_EQ(run(a->find("u7")).value(), seqs[7]);
  EXPECT_EQ(run(b->find("u19")).value(), seqs[19]);
  run(a->close());
  run(b->close());
}

TEST(KafkaTransport, UnreachableBrokersAreUnhealthyNotFatal) {
  int port = test::RedisServer::free_port();  // nothing listens there
  auto started = std::chrono::steady_clock::now();
  auto t = std::make_unique<test::Node>("kafka://kafka/?addr=127.0.0.1:" + std::to_string(port) +
                                        "&topic=t&connect_timeout=1s&publish_timeout=2s");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10)) << "start waited unbounded";
  EXPECT_FALSE(t->healthy());
  EXPECT_EQ(run(t->publish(update("x"))).error(), make_error_code(Errc::transport_failure));
  run(t->close());
}

TEST(KafkaTransport, ARestartedNodeResumesFromItsDurableIndex) {
  std::string topic = fresh_topic();
  auto dir = std::filesystem::temp_directory_path() / ("herald-kafka-index-" + topic);
  BackendOptions options;
  options.index_path = dir.string();
  Seq u3 = 0;
  {
    Recorder r;
    auto a = std::make_unique<test::Node>(broker().url(topic), options);
    ASSERT_TRUE(run(a->listen(r)).has_value());
    for (int i = 0; i < 5; ++i) {
      Seq s = run(a->publish(update("before" + std::to_string(i)))).value();
      if (i == 3) u3 = s;
    }
    r.wait_seen(5);
    run(a->close());
  }
  // Written while the node was down: the restarted node indexes only these.
  Recorder rw;
  auto writer = std::make_unique<test::Node>(broker().url(topic));
  ASSERT_TRUE(run(writer->listen(rw)).has_value());
  Seq later = run(writer->publish(update("while-down"))).value();
  Recorder r;
  auto a = std::make_unique<test::Node>(broker().url(topic), options);
  ASSERT_TRUE(run(a->listen(r)).has_value());
  EXPECT_EQ(run(a->find("before3")).value(), u3);
  EXPECT_EQ(run(a->find("while-down")).value(), later);
  run(a->close());
  run(writer->close());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace herald
