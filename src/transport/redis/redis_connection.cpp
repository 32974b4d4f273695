// The only file that wraps hiredis. hiredis 0.14 (Debian 12) has neither an Asio adapter
// nor TLS, so its socket code is not used at all: Asio owns the socket (and the TLS stream),
// hiredis formats commands (redisFormatCommandArgv); RedisReplyReader parses replies.
#include "transport/redis/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "core/logging.hpp"
#include "transport/redis/redis_reply_reader.hpp"

namespace herald {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct RedisConnection::Impl {
  explicit Impl(asio::io_context& io) : tls_context(asio::ssl::context::tls_client), stream(io, tls_context) {}
  asio::ssl::context tls_context;
  asio::ssl::stream<tcp::socket> stream;
  bool tls = false;
  RedisReplyReader reader;
  std::string outgoing;  ///< formatted commands not yet handed to the socket
  std::string writing;   ///< the buffer of the write in flight
  bool write_in_flight = false;
  bool failed = false;
  std::deque<std::unique_ptr<Completion>> pending;  ///< sent, in order, awaiting replies
};

RedisConnection::RedisConnection(asio::io_context& io, const RedisOptions& options)
    : impl_(std::make_unique<Impl>(io)), io_(io), options_(options) {
  impl_->tls = options.tls;
}

RedisConnection::~RedisConnection() = default;

Task<Result<void>> RedisConnection::connect() {
  auto& ip = *impl_;
  // The deadline's handler may run after this coroutine has returned (it was already queued
  // when cancel() came): it holds what it touches, never a reference into this frame.
  struct Attempt {
    explicit Attempt(asio::io_context& io) : resolver(io), deadline(io) {}
    tcp::resolver resolver;
    asio::steady_timer deadline;
    bool timed_out = false;
    bool finished = false;  ///< the attempt ended: a late deadline must not close the connection
  };
  auto attempt = std::make_shared<Attempt>(io_);
  auto& resolver = attempt->resolver;
  attempt->deadline.expires_after(options_.connect_timeout);
  attempt->deadline.async_wait([attempt, self = shared_from_this()](error_code ec) {
    if (ec || attempt->finished) return;
    attempt->timed_out = true;
    attempt->resolver.cancel();
    error_code ignored;
    self->impl_->stream.next_layer().close(ignored);
  });
  const bool& timed_out = attempt->timed_out;
  auto finish = [attempt](error_code ec) -> Result<void> {
    attempt->finished = true;
    attempt->deadline.cancel();
    if (attempt->timed_out) return boost::system::errc::make_error_code(boost::system::errc::timed_out);
    if (ec) return ec;
    return {};
  };

  auto [rerr, endpoints] = co_await resolver.async_resolve(options_.host, std::to_string(options_.port),
                                                           asio::as_tuple(asio::use_awaitable));
  if (rerr || timed_out) co_return finish(rerr);
  auto [cerr, endpoint] = co_await asio::async_connect(ip.stream.next_layer(), endpoints,
                                                       asio::as_tuple(asio::use_awaitable));
  if (cerr || timed_out) co_return finish(cerr);
  ip.stream.next_layer().set_option(tcp::no_delay(true));
  if (ip.tls) {
    if (!options_.tls_verify) {
      ip.stream.set_verify_mode(asio::ssl::verify_none);
    } else {
      error_code ec;
      if (options_.tls_ca_file.empty()) ip.tls_context.set_default_verify_paths(ec);
      else ip.tls_context.load_verify_file(options_.tls_ca_file, ec);
      if (ec) co_return finish(ec);
      ip.stream.set_verify_mode(asio::ssl::verify_peer);
      ip.stream.set_verify_callback(asio::ssl::host_name_verification(options_.host));
    }
    SSL_set_tlsext_host_name(ip.stream.native_handle(), options_.host.c_str());
    auto [herr] = co_await ip.stream.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (herr || timed_out) co_return finish(herr);
  }
  connected_ = true;
  asio::co_spawn(io_, [self = shared_from_this()]() { return self->read_loop(); }, asio::detached);

  std::vector<std::vector<std::string>> handshake;
  if (!options_.password.empty()) {
    if (options_.user.empty()) handshake.push_back({"AUTH", options_.password});
    else handshake.push_back({"AUTH", options_.user, options_.password});
  }
  if (options_.db != 0) handshake.push_back({"SELECT", std::to_string(options_.db)});
  handshake.push_back({"PING"});  // NOAUTH when the server wants a password and got none
  for (auto& args : handshake) {
    auto reply = co_await command(std::move(args));
    if (!reply || timed_out) {
      close();
      co_return finish(reply ? error_code() : reply.error());
    }
    if (reply->is_error()) {
      error_text_ = reply->str;
      close();
      attempt->finished = true;
      attempt->deadline.cancel();
      co_return make_error_code(Errc::unauthorized);
    }
  }
  co_return finish({});
}

Task<Result<RedisValue>> RedisConnection::command(std::vector<std::string> args) {
  auto [ec, value] = co_await async_command(std::move(args), asio::as_tuple(asio::use_awaitable));
  if (ec) co_return ec;
  co_return std::move(value);
}

void RedisConnection::submit(std::vector<std::string> args, std::unique_ptr<Completion> completion) {
  asio::post(io_, [this, self = shared_from_this(), args = std::move(args), c = std::move(completion)]() mutable {
    auto& ip = *impl_;
    if (ip.failed || !connected_) {
      c->complete(asio::error::not_connected, {});
      return;
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    char* formatted = nullptr;
    int n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (n < 0) {
      c->complete(make_error_code(Errc::invalid_argument), {});
      return;
    }
    ip.outgoing.append(formatted, static_cast<std::size_t>(n));
    redisFreeCommand(formatted);
    ip.pending.push_back(std::move(c));
    start_write();
  });
}

void RedisConnection::start_write() {
  auto& ip = *impl_;
  if (ip.write_in_flight || ip.outgoing.empty() || ip.failed) return;
  ip.write_in_flight = true;
  ip.writing.clear();
  ip.writing.swap(ip.outgoing);
  auto done = [this, self = shared_from_this()](error_code ec, std::size_t) {
    impl_->write_in_flight = false;
    if (ec) return fail(ec);
    start_write();
  };
  if (ip.tls) asio::async_write(ip.stream, asio::buffer(ip.writing), std::move(done));
  else asio::async_write(ip.stream.next_layer(), asio::buffer(ip.writing), std::move(done));
}

Task<void> RedisConnection::read_loop() {
  auto self = shared_from_this();  // the loop keeps the connection alive until it fails
  auto& ip = *impl_;
  std::vector<char> buffer(64 * 1024);
  while (!ip.failed) {
    error_code ec;
    std::size_t n = 0;
    if (ip.tls) {
      std::tie(ec, n) = co_await ip.stream.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    } else {
      std::tie(ec, n) =
          co_await ip.stream.next_layer().async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    }
    if (ec) {
      fail(ec);
      break;
    }
    if (!ip.reader.feed(std::string_view(buffer.data(), n))) {
      fail(make_error_code(Errc::transport_failure));
      break;
    }
    for (;;) {
      RedisValue value;
      auto next = ip.reader.next(value);
      if (next == RedisReplyReader::Next::error) {
        fail(make_error_code(Errc::transport_failure));  // a protocol error: the stream is unusable
        break;
      }
      if (next == RedisReplyReader::Next::incomplete) break;
      if (ip.pending.empty()) {
        fail(make_error_code(Errc::transport_failure));  // a reply nobody asked for
        break;
      }
      auto c = std::move(ip.pending.front());
      ip.pending.pop_front();
      c->complete({}, std::move(value));
    }
  }
}

void RedisConnection::fail(error_code ec) {
  auto& ip = *impl_;
  if (ip.failed) return;
  ip.failed = true;
  connected_ = false;
  error_code ignored;
  ip.stream.next_layer().close(ignored);
  auto pending = std::move(ip.pending);
  ip.pending.clear();
  for (auto& c : pending) c->complete(ec, {});
  if (auto callback = std::move(on_fail_)) callback();
}

void RedisConnection::close() {
  // dispatch: on the connection's own thread (shutdown) it fails at once, before the loop stops.
  asio::dispatch(io_, [this, self = shared_from_this()] { fail(asio::error::operation_aborted); });
}

}  // namespace herald
