#pragma once
// Runs a coroutine to completion on a private io_context (tests only).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "core/task.hpp"

namespace herald::test {
template <class T>
T run_task(boost::asio::io_context& io, Task<T> task) {
  auto future = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
  io.restart();
  io.run();
  return future.get();
}
}  // namespace herald::test
