#pragma once
#include <boost/asio/awaitable.hpp>

namespace herald {
/// A coroutine that completes on the executor of its caller.
template <class T>
using Task = boost::asio::awaitable<T>;
}  // namespace herald
