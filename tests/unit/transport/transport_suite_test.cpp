// The shared transport conformance suite: every transport URL listed in
// INSTANTIATE_TEST_SUITE_P below must pass it (later: postgres://, kafka://).
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "support/redis_server.hpp"
#include "support/run_task.hpp"
#include "transport/transport.hpp"

namespace herald {
namespace {

class RecordingListener final : public Listener {
 public:
  void on_update(Stored stored) noexcept override {
    std::lock_guard lock(mutex);
    seen.push_back(stored);
    changed.notify_all();
  }
  /// Waits (10 s at most) until `n` updates were seen: a bus may deliver after publish returns.
  std::vector<Stored> wait_seen(std::size_t n) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= n; });
    return seen;
  }
  std::condition_variable changed;
  void on_error(boost::system::error_code) noexcept override { ++errors; }
  std::mutex mutex;
  std::vector<Stored> seen;
  std::atomic<int> errors{0};
};

UpdatePtr update(std::string id, std::string topic = "https://example.com/t") {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = {std::move(topic)};
  u->data = "payload " + u->id;
  return u;
}

/// A fresh URL per test (LMDB needs its own directory, Redis a server and a stream).
std::string fresh_url(const std::string& kind) {
  if (kind == "local") return "local://";
  if (kind == "redis") {
    static test::RedisServer server;
    static int streams = 0;
    return server.url("suite-" + std::to_string(streams++));
  }
  static int n = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("herald-suite-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(dir);
  return "lmdb://" + dir.string() + "?sync=none";
}

class TransportSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    transport_ = make_transport(fresh_url(GetParam()));
    ASSERT_TRUE(run(transport_->listen(listener_)).has_value());
  }
  void TearDown() override { run(transport_->close()); }

  template <class T>
  T run(Task<T> task) { return test::run_task(io_, std::move(task)); }
  Seq publish(const std::string& id) { return run(transport_->publish(update(id))).value(); }

  boost::asio::io_context io_;
  std::unique_ptr<Transport> transport_;
  RecordingListener listener_;
};

TEST_P(TransportSuite, PublishAssignsIncreasingSeqAndNotifiesInOrder) {
  Seq a = publish("a");
  Seq b = publish("b");
  Seq c = publish("c");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  auto seen = listener_.wait_seen(3);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].update->id, "a");
  EXPECT_EQ(seen[2].seq, c);
  EXPECT_EQ(seen[1].update->data, "payload b");
}

TEST_P(TransportSuite, FindResolvesIdsAndEarliest) {
  Seq a = publish("a");
  publish("b");
  EXPECT_EQ(run(transport_->find("a")).value(), a);
  auto earliest = run(transport_->find("earliest"));
  ASSERT_TRUE(earliest.has_value());
  EXPECT_LT(*earliest, a);
  auto unknown = run(transport_->find("unknown"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error(), make_error_code(Errc::not_found));
}

TEST_P(TransportSuite, ReadAfterPagesInOrder) {
  for (int i = 0; i < 10; ++i) publish("u" + std::to_string(i));
  Seq after = run(transport_->find("u2")).value();
  auto page = run(transport_->read_after(after, 4)).value();
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page.front().update->id, "u3");
  EXPECT_EQ(page.back().update->id, "u6");
  auto rest = run(transport_->read_after(page.back().seq, 100)).value();
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest.back().update->id, "u9");
  EXPECT_TRUE(run(transport_->read_after(rest.back().seq, 100)).value().empty());
}

TEST_P(TransportSuite, HeadIsTheNewestSeq) {
  EXPECT_EQ(run(transport_->head()).value(), 0u);
  publish("a");
  Seq b = publish("b");
  EXPECT_EQ(run(transport_->head()).value(), b);
}

TEST_P(TransportSuite, LastEventIdFollowsPublishes) {
  EXPECT_EQ(run(transport_->last_event_id()).value(), "earliest");
  publish("x");
  EXPECT_EQ(run(transport_->last_event_id()).value(), "x");
}

TEST_P(TransportSuite, PresenceListsOnlineSubscribers) {
  run(transport_->announce(SubscriberInfo{"s1", {"t"}, ""}, true));
  run(transport_->announce(SubscriberInfo{"s2", {"u"}, R"({"a":1})"}, true));
  run(transport_->announce(SubscriberInfo{"s1", {"t"}, ""}, false));
  auto list = run(transport_->presence()).value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, "s2");
  EXPECT_EQ(list[0].payload_json, R"({"a":1})");
}

TEST_P(TransportSuite, ConcurrentPublishersGetOneOrder) {
  constexpr int kThreads = 4, kEach = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      boost::asio::io_context io;
      for (int i = 0; i < kEach; ++i)
        test::run_task(io, transport_->publish(update("t" + std::to_string(t) + "-" + std::to_string(i))));
    });
  }
  for (auto& th : threads) th.join();
  auto seen = listener_.wait_seen(kThreads * kEach);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kEach));
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1].seq, seen[i].seq);
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportSuite, ::testing::Values("local", "lmdb", "redis"),
                         [](const auto& info) { return info.param; });

TEST(LocalTransport, RingKeepsTheLastSizeUpdates) {
  boost::asio::io_context io;
  auto t = make_transport("local://?size=3");
  for (int i = 0; i < 5; ++i) test::run_task(io, t->publish(update("u" + std::to_string(i))));
  EXPECT_FALSE(test::run_task(io, t->find("u1")).has_value());  // trimmed
  auto gap = test::run_task(io, t->read_after(1, 100));         // what follows seq 1 is gone
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error(), make_error_code(Errc::not_found));
  Seq earliest = test::run_task(io, t->find("earliest")).value();
  auto all = test::run_task(io, t->read_after(earliest, 100)).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().update->id, "u2");
}

TEST(LocalTransport, BadUrlsAreConfigErrors) {
  EXPECT_THROW(make_transport("local://?size=abc"), std::exception);
  EXPECT_THROW(make_transport("local://?bogus=1"), std::exception);
  EXPECT_THROW(make_transport("nosuch://x"), std::exception);
  EXPECT_THROW(make_transport("::not a url"), std::exception);
}

}  // namespace
}  // namespace herald
