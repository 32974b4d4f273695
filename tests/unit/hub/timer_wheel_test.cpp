#include "hub/timer_wheel.hpp"

#include <chrono>
#include <functional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace herald {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// An entry that records when it fired and runs an optional follow-up.
struct Probe final : TimerWheel::Entry {
  Clock::time_point due{};
  std::vector<Clock::time_point> fired;
  std::function<void(Probe&)> then;
  ~Probe() = default;

 private:
  void on_due() override {
    fired.push_back(Clock::now());
    if (then) then(*this);
  }
};

class TimerWheelTest : public ::testing::Test {
 protected:
  /// Runs the loop until `done` or a 10 s deadline.
  void run_until(const std::function<bool()>& done) {
    auto deadline = Clock::now() + 10s;
    while (!done() && Clock::now() < deadline) {
      io_.restart();
      io_.run_for(5ms);
    }
  }
  void TearDown() override { wheel_.stop(); }

  boost::asio::io_context io_{1};
  TimerWheel wheel_{io_.get_executor(), 2ms};
};

TEST_F(TimerWheelTest, EntriesFireAfterTheirDeadlineNeverBefore) {
  std::vector<Probe> probes(50);
  auto now = Clock::now();
  for (std::size_t i = 0; i < probes.size(); ++i) {
    probes[i].due = now + std::chrono::milliseconds(1 + (i * 7) % 60);
    wheel_.schedule(probes[i], probes[i].due);
  }
  EXPECT_EQ(wheel_.size(), 50u);
  run_until([&] { return wheel_.size() == 0; });
  for (auto& p : probes) {
    ASSERT_EQ(p.fired.size(), 1u);
    EXPECT_GE(p.fired[0], p.due);
    EXPECT_FALSE(p.scheduled());
  }
}

TEST_F(TimerWheelTest, CancelledEntriesDoNotFire) {
  Probe kept, cancelled;
  wheel_.schedule(kept, Clock::now() + 10ms);
  wheel_.schedule(cancelled, Clock::now() + 5ms);
  wheel_.cancel(cancelled);
  wheel_.cancel(cancelled);  // twice: nothing
  EXPECT_EQ(wheel_.size(), 1u);
  run_until([&] { return !kept.fired.empty(); });
  ASSERT_EQ(kept.fired.size(), 1u);
  EXPECT_TRUE(cancelled.fired.empty());
}

TEST_F(TimerWheelTest, RescheduleMovesTheDeadline) {
  Probe p;
  auto start = Clock::now();
  wheel_.schedule(p, start + 2ms);
  wheel_.schedule(p, start + 40ms);  // moved later: fires once, after the later one
  EXPECT_EQ(wheel_.size(), 1u);
  run_until([&] { return !p.fired.empty(); });
  ASSERT_EQ(p.fired.size(), 1u);
  EXPECT_GE(p.fired[0], start + 40ms);
}

TEST_F(TimerWheelTest, DeadlinesBeyondTheWheelsSpanWaitForTheirRound) {
  // 1024 slots of 2 ms: 2 s and a bit is more than one turn of the wheel.
  Probe far, near;
  auto start = Clock::now();
  far.due = start + 2100ms;
  wheel_.schedule(far, far.due);
  wheel_.schedule(near, start + 3ms);
  run_until([&] { return !far.fired.empty(); });
  ASSERT_EQ(near.fired.size(), 1u);
  ASSERT_EQ(far.fired.size(), 1u);
  EXPECT_GE(far.fired[0], far.due);
}

TEST_F(TimerWheelTest, AnEntryMayRescheduleItselfAndCancelOthersWhenItFires) {
  Probe ticker, victim;
  int rounds = 0;
  ticker.then = [&](Probe& self) {
    wheel_.cancel(victim);  // due in the same tick: must not fire after this
    if (++rounds < 3) wheel_.schedule(self, Clock::now() + 3ms);
  };
  auto due = Clock::now() + 4ms;
  wheel_.schedule(ticker, due);
  wheel_.schedule(victim, due);
  run_until([&] { return rounds == 3; });
  EXPECT_EQ(ticker.fired.size(), 3u);
  // Same deadline, same tick: the ticker came first and cancelled the victim, which had
  // already been taken off its slot for firing.
  EXPECT_TRUE(victim.fired.empty());
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST_F(TimerWheelTest, APastDeadlineFiresAtTheNextTick) {
  Probe p;
  wheel_.schedule(p, Clock::now() - 1s);
  EXPECT_TRUE(p.fired.empty()) << "never inside schedule";
  run_until([&] { return !p.fired.empty(); });
  EXPECT_EQ(p.fired.size(), 1u);
}

TEST_F(TimerWheelTest, NoDeadlineOnlyUnschedules) {
  Probe p;
  wheel_.schedule(p, Clock::now() + 1s);
  wheel_.schedule(p, Clock::time_point::max());
  EXPECT_FALSE(p.scheduled());
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST(TimerWheelResolution, IsATwentiethOfTheShortestPeriodWithinBounds) {
  EXPECT_EQ(TimerWheel::resolution_for(5s), 250ms);
  EXPECT_EQ(TimerWheel::resolution_for(40s), 250ms);
  EXPECT_EQ(TimerWheel::resolution_for(300ms), 15ms);
  EXPECT_EQ(TimerWheel::resolution_for(5ms), 1ms);
}

}  // namespace
}  // namespace herald
