#include "core/flow_gate.hpp"

#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "support/run_task.hpp"

namespace herald {
namespace {

TEST(AsyncEvent, WaitForTimesOutUnlessSetAndWakesOnSetFromAnotherThread) {
  boost::asio::io_context io;
  AsyncEvent event;
  EXPECT_FALSE(test::run_task(io, event.wait_for(std::chrono::milliseconds(20))));
  boost::asio::io_context loop;
  auto work = boost::asio::make_work_guard(loop);
  std::thread t([&] { loop.run(); });
  auto waited = boost::asio::co_spawn(loop, event.wait_for(std::chrono::seconds(30)), boost::asio::use_future);
  event.set();
  ASSERT_EQ(waited.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "set() did not wake the waiter";
  EXPECT_TRUE(waited.get());
  EXPECT_TRUE(test::run_task(io, event.wait_for(std::chrono::seconds(30))));  // already set: at once
  work.reset();
  t.join();
}

TEST(FlowGate, ClosesAtHighOpensAtLowAndResumesTheWaiter) {
  FlowGate gate(10, 4);
  boost::asio::io_context io;
  test::run_task(io, gate.wait());  // open: completes at once
  gate.add(9);
  test::run_task(io, gate.wait());
  gate.add(1);  // 10 waiting: closed
  EXPECT_EQ(gate.closings(), 1u);
  boost::asio::io_context loop;
  auto work = boost::asio::make_work_guard(loop);
  std::thread t([&] { loop.run(); });
  auto waited = boost::asio::co_spawn(loop, gate.wait(), boost::asio::use_future);
  gate.remove(5);  // 5 waiting: still above low
  EXPECT_EQ(waited.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout) << "opened above low";
  gate.remove(1);  // 4: open
  EXPECT_EQ(waited.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(gate.waiting(), 4u);
  work.reset();
  t.join();
}

TEST(FlowGate, ReleaseAllOpensForGood) {
  FlowGate gate(2, 1);
  gate.add(5);
  gate.release_all();
  boost::asio::io_context io;
  test::run_task(io, gate.wait());
  gate.add(100);
  test::run_task(io, gate.wait());
}

}  // namespace
}  // namespace herald
