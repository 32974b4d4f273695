#pragma once
// One connection to Redis: Asio does the I/O (plain TCP or TLS) on the transport's event
// loop, hiredis formats commands and parses replies. Commands are pipelined: any number may
// be in flight, replies complete them in the order they were sent.
//
// A connection is used once: after an error every pending and later command fails with the
// error, and the owner opens a new connection (see RedisTransport's supervisor).
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "core/errors.hpp"
#include "core/task.hpp"
#include "transport/redis/redis_options.hpp"
#include "transport/redis/redis_value.hpp"

namespace herald {

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  /// A command waiting for its reply.
  struct Completion {
    virtual ~Completion() = default;
    virtual void complete(boost::system::error_code ec, RedisValue value) = 0;
  };

  RedisConnection(boost::asio::io_context& io, const RedisOptions& options);
  ~RedisConnection();

  /// Connects, authenticates and selects the database (on the connection's io_context).
  /// Errors: the network error, timed_out, or Errc::unauthorized with `error_text` set to
  /// the server's answer when it refused the handshake (AUTH, SELECT or PING: a wrong or
  /// missing password, an unknown user, a database out of range).
  Task<Result<void>> connect();
  const std::string& error_text() const { return error_text_; }

  /// Sends a command; completes with its reply (an error reply is a value, not an error
  /// code). May be called from any thread; the completion runs on the caller's executor.
  template <class Token>
  auto async_command(std::vector<std::string> args, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, RedisValue)>(
        [this, self = shared_from_this()](auto handler, std::vector<std::string> args) {
          submit(std::move(args), std::make_unique<CompletionFor<decltype(handler)>>(std::move(handler)));
        },
        token, std::move(args));
  }
  /// async_command as a coroutine (an error reply is still a value: check is_error()).
  Task<Result<RedisValue>> command(std::vector<std::string> args);

  /// Closes the socket; pending commands fail with operation_aborted. Any thread.
  void close();
  bool connected() const { return connected_.load(); }
  /// Called (on the connection's io_context) once, when the connection fails or closes.
  void on_fail(std::function<void()> callback) { on_fail_ = std::move(callback); }

 private:
  template <class Handler>
  struct CompletionFor final : Completion {
    explicit CompletionFor(Handler h) : handler(std::move(h)) {}
    void complete(boost::system::error_code ec, RedisValue value) override {
      auto executor = boost::asio::get_associated_executor(handler);
      boost::asio::post(executor, [h = std::move(handler), ec, v = std::move(value)]() mutable {
        std::move(h)(ec, std::move(v));
      });
    }
    Handler handler;
  };

  void submit(std::vector<std::string> args, std::unique_ptr<Completion> completion);
  void start_write();
  Task<void> read_loop();
  void fail(boost::system::error_code ec);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  boost::asio::io_context& io_;
  const RedisOptions& options_;
  std::atomic<bool> connected_{false};
  std::string error_text_;
  std::function<void()> on_fail_;
};

}  // namespace herald
