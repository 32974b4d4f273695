#include <functional>
#include <utility>

#include <gtest/gtest.h>

#include "hub/backend.hpp"
#include "hub/shard.hpp"
#include "hub/sse_encoder.hpp"
#include "support/run_task.hpp"
#include "transport/local_parts.hpp"
#include "transport/transport.hpp"

namespace herald {
namespace {

/// Delivers straight into one shard (what Hub::on_update does through a post).
class DirectListener final : public Listener {
 public:
  explicit DirectListener(Shard& shard) : shard_(shard) {}
  void on_update(Stored stored) noexcept override { shard_.dispatch(stored); }
  void on_error(boost::system::error_code) noexcept override {}
  void on_gap() noexcept override {}
  void on_subscribers_lost(std::vector<SubscriberInfo>) noexcept override {}

 private:
  Shard& shard_;
};

UpdatePtr make_update(std::string id, std::vector<std::string> topics, bool is_private = false) {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = std::move(topics);
  u->data = "data of " + u->id;
  u->is_private = is_private;
  return u;
}

/// A log that forwards to another (tests override what they change).
class ForwardingLog : public Log {
 public:
  explicit ForwardingLog(std::unique_ptr<Log> inner) : inner_(std::move(inner)) {}
  LogCapabilities capabilities() const override { return inner_->capabilities(); }
  Task<Result<Seq>> publish(UpdatePtr u) override { return inner_->publish(std::move(u)); }
  Task<Result<void>> listen(LogListener& l, FlowGate& g) override { return inner_->listen(l, g); }
  Task<Result<Seq>> find(std::string id) override { return inner_->find(std::move(id)); }
  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    return inner_->read_after(after, limit);
  }
  Task<Result<Seq>> head() override { return inner_->head(); }
  Task<Result<Seq>> earliest() override { return inner_->earliest(); }
  Task<Result<std::string>> last_event_id() override { return inner_->last_event_id(); }
  bool healthy() const override { return inner_->healthy(); }
  Task<void> close() override { return inner_->close(); }

 protected:
  std::unique_ptr<Log> inner_;
};

/// A transport of the local parts around `log`.
Transport around(std::unique_ptr<Log> log) {
  return {std::move(log), std::make_unique<LocalPresenceRegistry>(), std::make_unique<LocalLeases>(), {}};
}

/// The log of a fresh local transport.
std::unique_ptr<Log> local_log(const std::string& url) { return std::move(make_transport(url).log); }

/// A shard reading history from a backend over `transport`, delivered to by listener L.
template <class L>
struct Rig {
  explicit Rig(Transport transport)
      : shard(0, config, gate),
        backend(std::move(transport), BackendOptions{}, shard.context().get_executor()),
        listener(shard) {
    shard.attach(backend);
    test::run_task(shard.context(), backend.listen(listener, gate));
  }
  explicit Rig(const std::string& url) : Rig(make_transport(url)) {}
  Seq publish(UpdatePtr u) { return test::run_task(shard.context(), backend.publish(std::move(u))).value(); }
  void publish(std::string id) { publish(make_update(std::move(id), {"t"})); }
  std::shared_ptr<Subscriber> subscriber(std::size_t capacity = 1000) {
    auto s = std::make_shared<Subscriber>(capacity);
    s->topics = {"t"};
    return s;
  }
  Config config;
  FlowGate gate{1u << 20, 1u << 19};
  Shard shard;
  Backend backend;
  L listener;
};

class ShardTest : public ::testing::Test {
 protected:
  ShardTest() : rig_("local://?size=100"), shard_(rig_.shard) {}

  std::shared_ptr<Subscriber> subscriber(std::vector<std::string> topics,
                                         std::optional<std::vector<std::string>> may_see = std::nullopt,
                                         std::size_t capacity = 1000) {
    auto s = std::make_shared<Subscriber>(capacity);
    s->topics = std::move(topics);
    s->may_see = std::move(may_see);
    return s;
  }

  ReplayOutcome subscribe(const std::shared_ptr<Subscriber>& s, std::optional<std::string> cursor = std::nullopt) {
    return test::run_task(shard_.context(), shard_.subscribe(s, std::move(cursor))).value();
  }

  Seq publish(UpdatePtr u) { return rig_.publish(std::move(u)); }

  static std::vector<std::string> ids(Subscriber& s) {
    std::vector<std::string> out;
    for (const auto& f : s.queue()) {
      auto start = f->find("id: ") + 4;
      out.push_back(f->substr(start, f->find('\n', start) - start));
    }
    return out;
  }

  Rig<DirectListener> rig_;
  Shard& shard_;
};

TEST_F(ShardTest, DeliversToMatchingSelectorsOnly) {
  auto exact = subscriber({"https://example.com/a"});
  auto templ = subscriber({"https://example.com/{x}"});
  auto other = subscriber({"https://example.com/b"});
  for (auto& s : {exact, templ, other}) subscribe(s);
  publish(make_update("1", {"https://example.com/a"}));
  EXPECT_EQ(ids(*exact), std::vector<std::string>{"1"});
  EXPECT_EQ(ids(*templ), std::vector<std::string>{"1"});
  EXPECT_TRUE(ids(*other).empty());
}

TEST_F(ShardTest, TemplatesAreFoundThroughTheirLiteralPrefix) {
  auto books = subscriber({"https://example.com/books/{id}"});
  auto mixed = subscriber({"https://example.com/authors/1", "https://example.com/b{/rest}"});
  auto everything = subscriber({"{+any}"});  // no literal prefix: checked for every update
  auto prefix_only = subscriber({"https://example.com/books/{id}/reviews"});
  for (auto& s : {books, mixed, everything, prefix_only}) subscribe(s);
  publish(make_update("1", {"https://example.com/books/1"}));
  publish(make_update("2", {"https://example.com/authors/1"}));
  publish(make_update("3", {"https://example.com/b/x"}));
  publish(make_update("4", {"https://example.com/books/1/reviews"}));
  publish(make_update("5", {"https://example.com/"}));  // shorter than every prefix
  EXPECT_EQ(ids(*books), (std::vector<std::string>{"1"}));
  EXPECT_EQ(ids(*mixed), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(ids(*everything), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(ids(*prefix_only), (std::vector<std::string>{"4"}));
  shard_.unsubscribe(books);
  shard_.unsubscribe(mixed);
  publish(make_update("6", {"https://example.com/books/2"}));
  EXPECT_EQ(ids(*books), (std::vector<std::string>{"1"}));
  EXPECT_EQ(ids(*prefix_only), (std::vector<std::string>{"4"}));
  EXPECT_EQ(ids(*everything).back(), "6");
}

TEST_F(ShardTest, FrameIsEncodedOnceAndShared) {
  auto a = subscriber({"t"});
  auto b = subscriber({"*"});
  subscribe(a);
  subscribe(b);
  publish(make_update("1", {"t"}));
  ASSERT_EQ(a->queue().size(), 1u);
  ASSERT_EQ(b->queue().size(), 1u);
  EXPECT_EQ(a->queue().front().get(), b->queue().front().get());
  EXPECT_EQ(*a->queue().front(), encode_sse(*make_update("1", {"t"})));
}

TEST_F(ShardTest, SubscriberWithSeveralMatchingTopicsGetsTheUpdateOnce) {
  auto s = subscriber({"a", "b", "{x}"});
  subscribe(s);
  publish(make_update("1", {"a", "b"}));
  EXPECT_EQ(ids(*s), std::vector<std::string>{"1"});
}

TEST_F(ShardTest, PrivateUpdatesNeedAMatchingSubscribeClaim) {
  auto anonymous = subscriber({"https://example.com/books/1"});
  auto allowed = subscriber({"https://example.com/books/1"}, std::vector<std::string>{"https://example.com/books/{id}"});
  auto denied = subscriber({"https://example.com/books/1"}, std::vector<std::string>{"https://example.com/users/{id}"});
  auto empty = subscriber({"https://example.com/books/1"}, std::vector<std::string>{});
  for (auto& s : {anonymous, allowed, denied, empty}) subscribe(s);
  publish(make_update("p", {"https://example.com/books/1"}, true));
  EXPECT_TRUE(ids(*anonymous).empty());
  EXPECT_EQ(ids(*allowed), std::vector<std::string>{"p"});
  EXPECT_TRUE(ids(*denied).empty());
  EXPECT_TRUE(ids(*empty).empty());
}

TEST_F(ShardTest, AlternateTopicAuthorizesAPrivateUpdate) {
  // The spec's pattern: the claim allows an alternate topic, the subscriber asked for the canonical one.
  auto s = subscriber({"https://example.com/books/1"}, std::vector<std::string>{"https://example.com/users/foo/{?topic}"});
  subscribe(s);
  publish(make_update("p", {"https://example.com/books/1",
                            "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1"},
                      true));
  EXPECT_EQ(ids(*s), std::vector<std::string>{"p"});
}

TEST_F(ShardTest, SlowReaderIsEvictedWithoutAffectingOthers) {
  auto slow = subscriber({"t"}, std::nullopt, 3);
  auto fast = subscriber({"t"});
  struct CountingSink final : Subscriber::Sink {
    int aborted = 0;
    int woken = 0;
    void abort() override { ++aborted; }
    void wake() override { ++woken; }
    std::size_t write_now(std::span<const Frame* const>) override { return 0; }  // a full socket
  } sink;
  slow->sink = &sink;
  subscribe(slow);
  subscribe(fast);
  for (int i = 0; i < 5; ++i) publish(make_update(std::to_string(i), {"t"}));
  EXPECT_TRUE(slow->closed());
  EXPECT_EQ(sink.aborted, 1);
  EXPECT_EQ(sink.woken, 3) << "each frame queued behind the full socket wakes the writer";
  EXPECT_EQ(fast->queue().size(), 5u);
}

TEST_F(ShardTest, UnsubscribedSubscriberGetsNothing) {
  auto s = subscriber({"t"});
  subscribe(s);
  shard_.unsubscribe(s);
  shard_.unsubscribe(s);  // idempotent
  publish(make_update("1", {"t"}));
  EXPECT_TRUE(s->queue().empty());
  EXPECT_EQ(shard_.subscriber_count(), 0u);
}

TEST_F(ShardTest, ReplayStartsAfterTheCursorThenGoesLive) {
  for (int i = 1; i <= 5; ++i) publish(make_update(std::to_string(i), {i == 3 ? "other" : "t"}));
  auto s = subscriber({"t"});
  auto outcome = subscribe(s, "2");
  EXPECT_TRUE(outcome.cursor_found);
  EXPECT_EQ(ids(*s), (std::vector<std::string>{"4", "5"}));
  publish(make_update("6", {"t"}));
  EXPECT_EQ(ids(*s), (std::vector<std::string>{"4", "5", "6"}));
}

TEST_F(ShardTest, EarliestReplaysAllRetainedAndUnknownReplaysNothing) {
  for (int i = 1; i <= 3; ++i) publish(make_update(std::to_string(i), {"t"}));
  auto all = subscriber({"t"});
  EXPECT_TRUE(subscribe(all, "earliest").cursor_found);
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"1", "2", "3"}));
  auto unknown = subscriber({"t"});
  EXPECT_FALSE(subscribe(unknown, "nope").cursor_found);
  EXPECT_TRUE(ids(*unknown).empty());
}

TEST_F(ShardTest, PrivateUpdatesAreFilteredDuringReplay) {
  publish(make_update("pub", {"t"}));
  publish(make_update("priv", {"t"}, true));
  auto anonymous = subscriber({"t"});
  subscribe(anonymous, "earliest");
  EXPECT_EQ(ids(*anonymous), std::vector<std::string>{"pub"});
}

/// A log whose find() lets a publish race the replay, as a concurrent publisher would.
class RacingLog final : public ForwardingLog {
 public:
  RacingLog(std::unique_ptr<Log> inner, UpdatePtr racer) : ForwardingLog(std::move(inner)), racer_(std::move(racer)) {}
  Task<Result<Seq>> find(std::string id) override {
    if (racer_) co_await inner_->publish(std::exchange(racer_, nullptr));
    co_return co_await inner_->find(std::move(id));
  }

 private:
  UpdatePtr racer_;
};

TEST(ShardReplay, UpdatePublishedDuringReplayArrivesExactlyOnceInOrder) {
  Rig<DirectListener> rig(around(std::make_unique<RacingLog>(local_log("local://?size=100"), make_update("racer", {"t"}))));
  for (int i = 1; i <= 3; ++i) rig.publish(std::to_string(i));
  auto s = rig.subscriber();
  test::run_task(rig.shard.context(), rig.shard.subscribe(s, std::string("1"))).value();
  std::vector<std::string> got;
  for (const auto& f : s->queue()) got.push_back(f->substr(4, f->find('\n') - 4));
  EXPECT_EQ(got, (std::vector<std::string>{"2", "3", "racer"}));
  EXPECT_FALSE(s->replaying);
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {
/// Holds updates the way the shard's post queue does, and delivers them on flush().
class DeferredListener final : public Listener {
 public:
  explicit DeferredListener(Shard& shard) : shard_(shard) {}
  void on_update(Stored stored) noexcept override { pending_.push_back(std::move(stored)); }
  void on_error(boost::system::error_code) noexcept override {}
  void on_gap() noexcept override {}
  void on_subscribers_lost(std::vector<SubscriberInfo>) noexcept override {}
  void flush() {
    for (const auto& s : pending_) shard_.dispatch(s);
    pending_.clear();
  }

 private:
  Shard& shard_;
  std::vector<Stored> pending_;
};

/// The ids of the frames queued for `s`, in order.
std::vector<std::string> queued_ids(const Subscriber& s) {
  std::vector<std::string> out;
  for (const auto& f : const_cast<Subscriber&>(s).queue()) out.push_back(f->substr(4, f->find('\n') - 4));
  return out;
}

TEST(ShardReplay, UpdateStillInTheShardQueueAfterReplayIsNotDeliveredTwice) {
  Rig<DeferredListener> rig("local://?size=100");
  for (int i = 1; i <= 3; ++i) rig.publish(std::to_string(i));
  // Updates 1-3 are published but not yet dispatched; the subscriber replays from 1.
  auto s = rig.subscriber();
  test::run_task(rig.shard.context(), rig.shard.subscribe(s, std::string("1"))).value();
  rig.listener.flush();
  rig.publish("4");
  rig.listener.flush();
  EXPECT_EQ(queued_ids(*s), (std::vector<std::string>{"2", "3", "4"}));
}
}  // namespace
}  // namespace herald

namespace herald {
namespace {
TEST(ShardReplay, LongReplayIsPagedAndHandsOverToLiveWithoutGapOrDuplicate) {
  Rig<DirectListener> rig("local://?size=5000");
  for (int i = 0; i < 2500; ++i) rig.publish(std::to_string(i));
  auto s = rig.subscriber(10);  // capacity does not limit replay
  test::run_task(rig.shard.context(), rig.shard.subscribe(s, std::string("earliest"))).value();
  EXPECT_TRUE(s->replaying);
  EXPECT_EQ(s->queue().size(), 1000u);  // one page, not the whole history
  std::vector<std::string> got;
  auto drain = [&] {
    auto ids = queued_ids(*s);
    got.insert(got.end(), ids.begin(), ids.end());
    s->queue().clear();
  };
  drain();
  for (int i = 2500; i < 2510; ++i) rig.publish(std::to_string(i));  // live while replaying: read from the store
  while (s->replaying) {
    test::run_task(rig.shard.context(), rig.shard.replay_next(s));
    drain();
  }
  rig.publish("2510");
  drain();
  ASSERT_EQ(got.size(), 2511u);
  for (int i = 0; i < 2511; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
  EXPECT_FALSE(s->closed());
}

/// A log whose history page comes back after an update stored later was already delivered
/// live: what a cluster bus (Redis: XRANGE on one connection, XREAD on another) can do.
class LateReplyLog final : public ForwardingLog {
 public:
  using ForwardingLog::ForwardingLog;
  std::function<void()> before_reply;  ///< runs once, between reading a page and returning it

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    auto page = co_await inner_->read_after(after, limit);
    if (auto hook = std::exchange(before_reply, nullptr)) hook();
    co_return page;
  }
};

TEST(ShardReplay, UpdateDeliveredLiveBeforeTheLastPageReturnsIsNotLost) {
  auto late = std::make_unique<LateReplyLog>(local_log("local://?size=100"));
  LateReplyLog& log = *late;
  Rig<DirectListener> rig(around(std::move(late)));
  for (int i = 1; i <= 3; ++i) rig.publish(std::to_string(i));
  auto s = rig.subscriber();
  // The page (2, 3) is read; then "4" is stored and dispatched live; then the page returns.
  log.before_reply = [&] {
    auto u = make_update("4", {"t"});
    boost::asio::io_context io;
    test::run_task(io, log.publish(u));
  };
  test::run_task(rig.shard.context(), rig.shard.subscribe(s, std::string("1"))).value();
  EXPECT_FALSE(s->replaying);
  EXPECT_EQ(queued_ids(*s), (std::vector<std::string>{"2", "3", "4"}));
  rig.publish("5");
  EXPECT_EQ(queued_ids(*s), (std::vector<std::string>{"2", "3", "4", "5"}));
}

TEST(ShardReplay, HistoryTrimmedDuringReplayClosesTheSubscriber) {
  Rig<DirectListener> rig("local://?size=1500");
  for (int i = 0; i < 1500; ++i) rig.publish(std::to_string(i));
  auto s = rig.subscriber(10);
  test::run_task(rig.shard.context(), rig.shard.subscribe(s, std::string("earliest"))).value();
  ASSERT_TRUE(s->replaying);
  for (int i = 0; i < 1500; ++i) rig.publish("x");
  test::run_task(rig.shard.context(), rig.shard.replay_next(s));
  EXPECT_TRUE(s->closed());
}
}  // namespace
}  // namespace herald

namespace herald {
namespace {
/// A log whose engine fails to answer find() or head().
class FailingLog final : public ForwardingLog {
 public:
  using ForwardingLog::ForwardingLog;
  bool fail_find = false, fail_head = false;
  Task<Result<Seq>> find(std::string id) override {
    if (fail_find) co_return make_error_code(Errc::transport_failure);
    co_return co_await inner_->find(std::move(id));
  }
  Task<Result<Seq>> head() override {
    if (fail_head) co_return make_error_code(Errc::transport_failure);
    co_return co_await inner_->head();
  }
};

TEST(ShardReplay, ABackendFailureFailsTheSubscriptionInsteadOfGuessingAPosition) {
  auto failing = std::make_unique<FailingLog>(local_log("local://?size=100"));
  FailingLog& log = *failing;
  Rig<DirectListener> rig(around(std::move(failing)));
  for (int i = 1; i <= 3; ++i) rig.publish(std::to_string(i));
  log.fail_find = true;  // not "unknown id": the client must retry, not skip history
  auto s = rig.subscriber();
  auto r = test::run_task(rig.shard.context(), rig.shard.subscribe(s, std::string("1")));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::transport_failure));
  EXPECT_EQ(rig.shard.subscriber_count(), 0u);
  log.fail_find = false;
  log.fail_head = true;  // an unknown id starts at the head: without one, no replay from 0
  auto t = rig.subscriber();
  EXPECT_FALSE(test::run_task(rig.shard.context(), rig.shard.subscribe(t, std::string("unknown"))).has_value());
  EXPECT_TRUE(t->queue().empty());
}

TEST(ShardReplay, APageReadForASubscriberClosedMeanwhileIsNotQueued) {
  auto late = std::make_unique<LateReplyLog>(local_log("local://?size=100"));
  LateReplyLog& log = *late;
  Rig<DirectListener> rig(around(std::move(late)));
  for (int i = 1; i <= 3; ++i) rig.publish(std::to_string(i));
  auto s = rig.subscriber();
  log.before_reply = [&] { s->close(); };  // the client goes away while its page is read
  test::run_task(rig.shard.context(), rig.shard.subscribe(s, std::string("1"))).value();
  EXPECT_TRUE(s->queue().empty());
}
}  // namespace
}  // namespace herald
