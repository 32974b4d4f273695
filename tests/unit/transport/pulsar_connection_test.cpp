// Herald's Pulsar client against a real Pulsar standalone (one per test binary): the
// handshake, a lookup, a producer whose sends are answered by receipts in order, a reader that
// starts after a given message id, the last message id, and a broker killed under a pending
// request.
#include "transport/pulsar/pulsar_connection.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "core/uuid.hpp"
#include "support/pulsar_standalone.hpp"

namespace herald {
namespace {
using namespace std::chrono_literals;
using pulsar::CommandType;
namespace proto = pulsar::proto;

test::PulsarStandalone* standalone = nullptr;

class PulsarEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { standalone = new test::PulsarStandalone(); }
  void TearDown() override {
    delete standalone;
    standalone = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new PulsarEnvironment);


std::string fresh_topic() { return "persistent://public/default/t-" + Uuid::random_v4().urn().substr(9); }

class PulsarConnectionTest : public ::testing::Test {
 protected:
  PulsarConnectionTest() { options_.connect_timeout = 20s; }

  /// Runs `task` on the test's loop until it completes (the connection's own loops keep
  /// running in between), within `limit`.
  template <class T>
  T run(Task<T> task, std::chrono::seconds limit = 60s) {
    auto future = boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (future.wait_for(0s) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the test's task did not complete");
      if (io_.stopped()) io_.restart();
      io_.run_one_for(50ms);
    }
    return future.get();
  }

  std::shared_ptr<PulsarConnection> connect() {
    auto c = std::make_shared<PulsarConnection>(io_, options_);
    auto r = run(c->connect(standalone->host(), standalone->port()));
    if (!r) throw std::runtime_error("connect failed: " + r.error().message() + " " + c->error_text());
    return c;
  }

  /// LOOKUP: the broker takes the topic's bundle on (a producer before it is refused with
  /// ServiceNotReady, "Please redo the lookup"). Returns the answer.
  proto::CommandLookupTopicResponse lookup(PulsarConnection& c, const std::string& topic) {
    auto cmd = pulsar::make_command(CommandType::kLookup);
    std::uint64_t req = c.next_id();
    cmd.mutable_lookuptopic()->set_topic(topic);
    cmd.mutable_lookuptopic()->set_request_id(req);
    auto answer = run(c.request(cmd, req, 20s));
    if (!answer || answer->command.type() != static_cast<int>(CommandType::kLookupResponse))
      throw std::runtime_error("no lookup answer");
    return answer->command.lookuptopicresponse();
  }

  /// Creates a producer on `topic` (after its lookup); returns its id.
  std::uint64_t producer(PulsarConnection& c, const std::string& topic) {
    lookup(c, topic);
    auto cmd = pulsar::make_command(CommandType::kProducer);
    std::uint64_t id = c.next_id(), req = c.next_id();
    cmd.mutable_producer()->set_topic(topic);
    cmd.mutable_producer()->set_producer_id(id);
    cmd.mutable_producer()->set_request_id(req);
    auto answer = run(c.request(cmd, req, 20s));
    if (!answer) throw std::runtime_error("no producer: " + answer.error().message());
    if (answer->command.type() == static_cast<int>(CommandType::kError))
      throw std::runtime_error(std::string("no producer: ") + pulsar::server_error_name(answer->command.error().error()) +
                               ": " + answer->command.error().message());
    if (answer->command.type() != static_cast<int>(CommandType::kProducerSuccess))
      throw std::runtime_error("no producer: answer of type " + std::to_string(answer->command.type()));
    return id;
  }

  Result<proto::MessageIdData> send(PulsarConnection& c, std::uint64_t producer, std::uint64_t seq, std::string data) {
    proto::MessageMetadata meta;
    meta.set_producer_name("herald-test");
    meta.set_sequence_id(seq);
    meta.set_publish_time(1700000000000 + seq);
    return run(c.send(producer, seq, meta, std::move(data), 20s));
  }

  boost::asio::io_context io_;
  PulsarOptions options_;
};

TEST_F(PulsarConnectionTest, ConnectsAndTheBrokerNamesItsVersion) {
  auto c = connect();
  EXPECT_TRUE(c->is_open());
  EXPECT_FALSE(c->server_version().empty());
}

TEST_F(PulsarConnectionTest, LookupAnswersConnectOnAStandalone) {
  auto c = connect();
  auto answer = lookup(*c, fresh_topic());
  EXPECT_EQ(answer.response(), 1) << "Connect";
  EXPECT_EQ(answer.brokerserviceurl(), standalone->url());
}

TEST_F(PulsarConnectionTest, SendsAreReceiptedInOrderAndAReaderStartsAtAGivenId) {
  auto c = connect();
  std::string topic = fresh_topic();
  auto p = producer(*c, topic);
  std::vector<proto::MessageIdData> ids;
  for (std::uint64_t i = 0; i < 20; ++i) {
    auto id = send(*c, p, i, "update " + std::to_string(i));
    ASSERT_TRUE(id) << id.error().message() << " " << c->error_text();
    if (!ids.empty()) {
      bool later = id->ledgerid() > ids.back().ledgerid() ||
                   (id->ledgerid() == ids.back().ledgerid() && id->entryid() > ids.back().entryid());
      EXPECT_TRUE(later) << "message ids increase in send order";
    }
    ids.push_back(*id);
  }
  // A reader: non-durable, exclusive, from the 10th message.
  auto sub = pulsar::make_command(CommandType::kSubscribe);
  std::uint64_t consumer = c->next_id(), req = c->next_id();
  auto* s = sub.mutable_subscribe();
  s->set_topic(topic);
  s->set_subscription("reader-" + Uuid::random_v4().urn().substr(9));
  s->set_subtype(0);
  s->set_consumer_id(consumer);
  s->set_request_id(req);
  s->set_durable(false);
  *s->mutable_start_message_id() = ids[9];
  std::vector<std::string> got;
  c->add_consumer(consumer, [&](pulsar::Frame&& f) {
    if (f.command.type() == static_cast<int>(CommandType::kMessage)) got.push_back(f.payload);
  });
  auto ok = run(c->request(sub, req, 20s));
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->command.type(), static_cast<int>(CommandType::kSuccess));
  auto flow = pulsar::make_command(CommandType::kFlow);
  flow.mutable_flow()->set_consumer_id(consumer);
  flow.mutable_flow()->set_messagepermits(100);
  c->post(flow);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < 11 && std::chrono::steady_clock::now() < deadline) io_.run_one_for(50ms);
  // Pulsar 4.0's broker starts a non-durable reader AT its start id, not after it (the
  // official clients drop that first message themselves): the log must skip ids up to the
  // one it resumes from. Measured here, not assumed.
  ASSERT_EQ(got.size(), 11u);
  for (std::size_t i = 0; i < 11; ++i) EXPECT_EQ(got[i], "update " + std::to_string(9 + i));

  auto last = pulsar::make_command(CommandType::kGetLastMessageId);
  std::uint64_t lreq = c->next_id();
  last.mutable_getlastmessageid()->set_consumer_id(consumer);
  last.mutable_getlastmessageid()->set_request_id(lreq);
  auto answer = run(c->request(last, lreq, 20s));
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->command.type(), static_cast<int>(CommandType::kGetLastMessageIdResponse));
  EXPECT_EQ(answer->command.getlastmessageidresponse().last_message_id().ledgerid(), ids.back().ledgerid());
  EXPECT_EQ(answer->command.getlastmessageidresponse().last_message_id().entryid(), ids.back().entryid());
}

TEST_F(PulsarConnectionTest, AnErrorAnswerNamesTheBrokersError) {
  auto c = connect();
  auto cmd = pulsar::make_command(CommandType::kProducer);
  std::uint64_t req = c->next_id();
  cmd.mutable_producer()->set_topic("persistent://no-such-tenant/default/t");
  cmd.mutable_producer()->set_producer_id(c->next_id());
  cmd.mutable_producer()->set_request_id(req);
  auto answer = run(c->request(cmd, req, 20s));
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->command.type(), static_cast<int>(CommandType::kError));
  EXPECT_STRNE(pulsar::server_error_name(answer->command.error().error()), "");
  EXPECT_FALSE(answer->command.error().message().empty());
}

// Last: it restarts the broker.
TEST_F(PulsarConnectionTest, AKilledBrokerFailsPendingRequestsAndClosesOnce) {
  auto c = connect();
  int closed = 0;
  std::string why;
  c->on_close([&](const std::string& reason) {
    ++closed;
    why = reason;
  });
  standalone->command("kill");
  auto cmd = pulsar::make_command(CommandType::kLookup);
  std::uint64_t req = c->next_id();
  cmd.mutable_lookuptopic()->set_topic(fresh_topic());
  cmd.mutable_lookuptopic()->set_request_id(req);
  auto answer = run(c->request(cmd, req, 20s));
  EXPECT_FALSE(answer) << "a request to a dead broker fails";
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (closed == 0 && std::chrono::steady_clock::now() < deadline) io_.run_one_for(50ms);
  EXPECT_EQ(closed, 1);
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(c->is_open());
  standalone->command("start");
  auto again = connect();  // the same broker, back
  EXPECT_TRUE(again->is_open());
}

}  // namespace
}  // namespace herald
