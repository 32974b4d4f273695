// Coalesced fan-out (Shard): the updates waiting in a shard's inbox go out as one batch,
// each subscriber's frames of the batch in one write, in order; what a write does not take
// is queued behind it; the flush lets other work run between slices; the byte budget.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "hub/shard.hpp"
#include "hub/sse_encoder.hpp"
#include "support/run_task.hpp"

namespace herald {
namespace {

UpdatePtr update(const std::string& id, const std::string& topic = "t", std::size_t size = 10) {
  auto u = std::make_shared<Update>();
  u->id = id;
  u->topics = {topic};
  u->data = std::string(size, 'x');
  return u;
}

/// The ids in a list of frames.
std::vector<std::string> ids_of(const std::vector<std::string>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) {
    auto start = f.find("id: ") + 4;
    out.push_back(f.substr(start, f.find('\n', start) - start));
  }
  return out;
}

std::vector<std::string> queued_ids(Subscriber& s) {
  std::vector<std::string> frames;
  for (const auto& f : s.queue()) frames.push_back(*f);
  return ids_of(frames);
}

/// A subscriber whose socket is a recorder: each write_now call is one write, and takes at
/// most `accept` frames (the kernel taking part of a batch).
struct Recorder final : Subscriber::Sink {
  std::vector<std::vector<std::string>> writes;
  std::size_t accept = static_cast<std::size_t>(-1);
  std::function<void()> during_write;
  int aborted = 0;

  void attach(Subscriber& s) {
    s.sink = this;
    s.open = true;
  }
  void abort() override { ++aborted; }
  void wake() override {}
  std::size_t write_now(std::span<const Frame* const> frames) override {
    if (during_write) during_write();
    std::size_t n = std::min(accept, frames.size());
    std::vector<std::string> written;
    for (std::size_t i = 0; i < n; ++i) written.push_back(**frames[i]);
    if (n > 0) writes.push_back(std::move(written));
    return n;
  }
};

class FanoutTest : public ::testing::Test {
 protected:
  FanoutTest() : shard_(0, config_, gate_) {}

  std::shared_ptr<Subscriber> subscribe(const std::string& topic = "t", std::size_t frames = 1000,
                                        std::size_t bytes = static_cast<std::size_t>(-1)) {
    auto s = std::make_shared<Subscriber>(frames, bytes);
    s->topics = {topic};
    test::run_task(shard_.context(), shard_.subscribe(s, std::nullopt)).value();  // no cursor: no backend read
    return s;
  }

  void enqueue(const std::string& id, const std::string& topic = "t", std::size_t size = 10) {
    shard_.enqueue(Stored{++seq_, update(id, topic, size)});
  }

  void run() {
    shard_.context().restart();
    shard_.context().run();
  }

  Config config_;
  FlowGate gate_{1u << 20, 1u << 19};
  Shard shard_;
  Seq seq_ = 0;
};

TEST_F(FanoutTest, UpdatesWaitingTogetherReachEachSubscriberInOneWriteInOrder) {
  auto a = subscribe();
  auto b = subscribe();
  Recorder ra, rb;
  ra.attach(*a);
  rb.attach(*b);
  for (const char* id : {"1", "2", "3"}) enqueue(id);
  run();
  ASSERT_EQ(ra.writes.size(), 1u);
  EXPECT_EQ(ids_of(ra.writes[0]), (std::vector<std::string>{"1", "2", "3"}));
  ASSERT_EQ(rb.writes.size(), 1u);
  EXPECT_EQ(ids_of(rb.writes[0]), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(gate_.waiting(), 0u);  // the batch was counted out of the gate
}

TEST_F(FanoutTest, ALoneUpdateIsWrittenAtOnce) {
  auto a = subscribe();
  Recorder r;
  r.attach(*a);
  enqueue("1");
  run();
  enqueue("2");
  run();
  ASSERT_EQ(r.writes.size(), 2u);
  EXPECT_EQ(ids_of(r.writes[0]), std::vector<std::string>{"1"});
  EXPECT_EQ(ids_of(r.writes[1]), std::vector<std::string>{"2"});
}

TEST_F(FanoutTest, WhatTheWriteDoesNotTakeIsQueuedBehindItInOrder) {
  auto a = subscribe();
  Recorder r;
  r.accept = 1;
  r.attach(*a);
  for (const char* id : {"1", "2", "3"}) enqueue(id);
  run();
  ASSERT_EQ(r.writes.size(), 1u);
  EXPECT_EQ(ids_of(r.writes[0]), std::vector<std::string>{"1"});
  EXPECT_EQ(queued_ids(*a), (std::vector<std::string>{"2", "3"}));
  // With frames queued the writer owns the order: the next batch queues behind them.
  r.accept = static_cast<std::size_t>(-1);
  enqueue("4");
  run();
  EXPECT_EQ(r.writes.size(), 1u);
  EXPECT_EQ(queued_ids(*a), (std::vector<std::string>{"2", "3", "4"}));
}

TEST_F(FanoutTest, OnlyMatchingSubscribersGetTheirOwnFrames) {
  auto a = subscribe("a");
  auto b = subscribe("b");
  Recorder ra, rb;
  ra.attach(*a);
  rb.attach(*b);
  enqueue("1", "a");
  enqueue("2", "b");
  enqueue("3", "a");
  run();
  ASSERT_EQ(ra.writes.size(), 1u);
  EXPECT_EQ(ids_of(ra.writes[0]), (std::vector<std::string>{"1", "3"}));
  ASSERT_EQ(rb.writes.size(), 1u);
  EXPECT_EQ(ids_of(rb.writes[0]), std::vector<std::string>{"2"});
}

TEST_F(FanoutTest, ASubscriberGoneBeforeItsTurnInTheFlushIsSkipped) {
  auto a = subscribe();
  auto b = subscribe();
  Recorder ra, rb;
  ra.attach(*a);
  rb.attach(*b);
  // Whichever is flushed first removes (and releases) the other one.
  std::weak_ptr<Subscriber> weak_a = a, weak_b = b;
  auto drop_other = [&](std::shared_ptr<Subscriber>& other) {
    return [&] {
      if (!other) return;
      other->close();
      shard_.unsubscribe(other);
      other.reset();
    };
  };
  ra.during_write = drop_other(b);
  rb.during_write = drop_other(a);
  enqueue("1");
  run();
  EXPECT_EQ(ra.writes.size() + rb.writes.size(), 1u);
  EXPECT_EQ(weak_a.expired() + weak_b.expired(), 1);  // released, and never touched after
  EXPECT_EQ(shard_.subscriber_count(), 1u);
}

TEST_F(FanoutTest, TheFlushLetsOtherWorkRunBetweenSlices) {
  // 200 subscribers whose writes each take 20 us of CPU: 4 ms of flushing, far over one slice.
  std::vector<std::shared_ptr<Subscriber>> subs;
  std::vector<Recorder> recorders(200);
  std::size_t flushed = 0;
  for (auto& r : recorders) {
    subs.push_back(subscribe());
    r.during_write = [&flushed] {
      ++flushed;
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
      while (std::chrono::steady_clock::now() < until) {
      }
    };
    r.attach(*subs.back());
  }
  enqueue("1");
  std::size_t flushed_when_other_work_ran = 0;
  boost::asio::post(shard_.context(), [&] { flushed_when_other_work_ran = flushed; });
  run();
  EXPECT_EQ(flushed, 200u);
  EXPECT_GT(flushed_when_other_work_ran, 0u);    // it ran after the flush began
  EXPECT_LT(flushed_when_other_work_ran, 200u);  // and before it ended
}

TEST(SubscriberBudget, AReaderOverItsByteBudgetIsEvictedButOneLargeFrameIsAlwaysTaken) {
  Subscriber s(1000, 100);
  auto frame = [](std::size_t n) { return std::make_shared<const std::string>(std::string(n, 'x')); };
  EXPECT_TRUE(s.push(frame(500)));  // larger than the budget, but the queue was empty
  EXPECT_FALSE(s.push(frame(1)));   // the queue holds 500 bytes: over
  EXPECT_TRUE(s.closed());
  Subscriber t(1000, 100);
  EXPECT_TRUE(t.push(frame(60)));
  EXPECT_TRUE(t.push(frame(40)));  // exactly at the budget
  EXPECT_EQ(t.queue().bytes(), 100u);
  t.queue().pop_front();
  EXPECT_EQ(t.queue().bytes(), 40u);
  EXPECT_TRUE(t.push(frame(60)));
  EXPECT_FALSE(t.push(frame(1)));
  EXPECT_TRUE(t.closed());
  EXPECT_EQ(t.queue().bytes(), 0u);  // closing gives the frames back
}

TEST(SubscriberBudget, AReaderOverItsFrameLimitIsEvicted) {
  Subscriber s(2);
  auto frame = std::make_shared<const std::string>("f");
  EXPECT_TRUE(s.push(frame));
  EXPECT_TRUE(s.push(frame));
  EXPECT_FALSE(s.push(frame));
  EXPECT_TRUE(s.closed());
}

}  // namespace
}  // namespace herald
