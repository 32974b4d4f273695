#include "transport/pulsar/pulsar_connection.hpp"

#include <deque>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "core/logging.hpp"

namespace herald {
namespace asio = boost::asio;
using asio::ip::tcp;
using pulsar::CommandType;
namespace proto = pulsar::proto;

namespace {
constexpr auto kPingEvery = std::chrono::seconds(30);
constexpr auto kSilenceLimit = std::chrono::seconds(90);
constexpr int kProtocolVersion = 19;  // v12 has GET_LAST_MESSAGE_ID; 19 is what current clients send
}  // namespace

/// A request or a send waiting for its answer: the timer is the wait (cancelled by the answer).
struct PulsarConnection::Pending {
  explicit Pending(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::optional<Result<pulsar::Frame>> result;
};

struct PulsarConnection::Impl {
  explicit Impl(asio::io_context& io) : io(io), socket(io), ping_timer(io) {}
  asio::io_context& io;
  tcp::socket socket;
  asio::steady_timer ping_timer;
  std::deque<std::string> outbox;
  bool writing = false;
  pulsar::FrameReader reader;
};

PulsarConnection::PulsarConnection(asio::io_context& io, const PulsarOptions& options)
    : impl_(std::make_unique<Impl>(io)), options_(options) {}

PulsarConnection::~PulsarConnection() {
  boost::system::error_code ec;
  impl_->socket.close(ec);
}

Task<Result<void>> PulsarConnection::connect(std::string host, std::uint16_t port) {
  auto self = shared_from_this();
  auto& io = impl_->io;
  // The deadline covers resolving, connecting and the CONNECT exchange: it closes the socket.
  auto deadline = std::make_shared<asio::steady_timer>(io, options_.connect_timeout);
  auto timed_out = std::make_shared<bool>(false);
  deadline->async_wait([self, timed_out](boost::system::error_code ec) {
    if (ec) return;
    *timed_out = true;
    boost::system::error_code ignored;
    self->impl_->socket.close(ignored);
  });
  tcp::resolver resolver(io);
  auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), asio::as_tuple(asio::use_awaitable));
  if (rec || *timed_out) {
    deadline->cancel();
    co_return *timed_out ? make_error_code(asio::error::timed_out) : rec;
  }
  auto [cec, endpoint] = co_await asio::async_connect(impl_->socket, endpoints, asio::as_tuple(asio::use_awaitable));
  if (cec || *timed_out) {
    deadline->cancel();
    co_return *timed_out ? make_error_code(asio::error::timed_out) : cec;
  }
  boost::system::error_code ignored;
  impl_->socket.set_option(tcp::no_delay(true), ignored);
  open_ = true;
  last_read_ = std::chrono::steady_clock::now();
  asio::co_spawn(io, read_loop(), asio::detached);

  auto hello = pulsar::make_command(CommandType::kConnect);
  auto* c = hello.mutable_connect();
  c->set_client_version(std::string("Herald ") + HERALD_VERSION);
  c->set_protocol_version(kProtocolVersion);
  if (!options_.token.empty()) {
    c->set_auth_method_name("token");
    c->set_auth_data(options_.token);
  }
  // CONNECTED carries no request id: it is answered as request 0.
  auto pending = std::make_shared<Pending>(io);
  requests_[0] = pending;
  write(pulsar::encode_command(hello));
  auto answer = co_await wait(pending, options_.connect_timeout);
  deadline->cancel();
  if (!answer) co_return *timed_out ? make_error_code(asio::error::timed_out) : answer.error();
  if (answer->command.type() == static_cast<int>(CommandType::kError)) {
    const auto& e = answer->command.error();
    error_text_ = std::string(pulsar::server_error_name(e.error())) + ": " + e.message();
    close("the broker refused the connection");
    co_return make_error_code(e.error() == 3 || e.error() == 4 ? Errc::unauthorized : Errc::transport_failure);
  }
  server_version_ = answer->command.connected().server_version();
  asio::co_spawn(io, keep_alive(), asio::detached);
  co_return Result<void>();
}

Task<Result<pulsar::Frame>> PulsarConnection::wait(std::shared_ptr<Pending> pending, Duration timeout) {
  pending->timer.expires_after(timeout);
  co_await pending->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!pending->result) co_return make_error_code(asio::error::timed_out);
  co_return std::move(*pending->result);
}

Task<Result<pulsar::Frame>> PulsarConnection::request(proto::BaseCommand command, std::uint64_t request_id,
                                                      Duration timeout) {
  if (!open_) co_return make_error_code(Errc::closed);
  auto self = shared_from_this();
  auto pending = std::make_shared<Pending>(impl_->io);
  requests_[request_id] = pending;
  write(pulsar::encode_command(command));
  auto answer = co_await wait(pending, timeout);
  requests_.erase(request_id);
  co_return answer;
}

Task<Result<proto::MessageIdData>> PulsarConnection::send(std::uint64_t producer_id, std::uint64_t sequence_id,
                                                          const proto::MessageMetadata& metadata, std::string payload,
                                                          Duration timeout) {
  if (!open_) co_return make_error_code(Errc::closed);
  auto self = shared_from_this();
  auto cmd = pulsar::make_command(CommandType::kSend);
  cmd.mutable_send()->set_producer_id(producer_id);
  cmd.mutable_send()->set_sequence_id(sequence_id);
  auto key = std::make_pair(producer_id, sequence_id);
  auto pending = std::make_shared<Pending>(impl_->io);
  sends_[key] = pending;
  write(pulsar::encode_payload_command(cmd, metadata, payload));
  auto answer = co_await wait(pending, timeout);
  sends_.erase(key);
  if (!answer) co_return answer.error();
  if (answer->command.type() == static_cast<int>(CommandType::kSendError)) {
    const auto& e = answer->command.send_error();
    error_text_ = std::string(pulsar::server_error_name(e.error())) + ": " + e.message();
    co_return make_error_code(Errc::transport_failure);
  }
  co_return answer->command.send_receipt().message_id();
}

void PulsarConnection::post(const proto::BaseCommand& command) {
  if (open_) write(pulsar::encode_command(command));
}

void PulsarConnection::add_consumer(std::uint64_t consumer_id, ConsumerHandler handler) {
  consumers_[consumer_id] = std::move(handler);
}

void PulsarConnection::write(std::string bytes) {
  impl_->outbox.push_back(std::move(bytes));
  if (!impl_->writing) start_write();
}

void PulsarConnection::start_write() {
  if (impl_->outbox.empty() || !open_) {
    impl_->writing = false;
    return;
  }
  impl_->writing = true;
  auto self = shared_from_this();
  asio::async_write(impl_->socket, asio::buffer(impl_->outbox.front()),
                    [self](boost::system::error_code ec, std::size_t) {
                      if (!self->impl_->outbox.empty()) self->impl_->outbox.pop_front();
                      if (ec) {
                        self->close("write failed: " + ec.message());
                        return;
                      }
                      self->start_write();
                    });
}

Task<void> PulsarConnection::read_loop() {
  auto self = shared_from_this();
  std::string chunk(64 * 1024, '\0');
  while (open_) {
    auto [ec, n] = co_await impl_->socket.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      close(ec == asio::error::eof ? "the broker closed the connection" : "read failed: " + ec.message());
      co_return;
    }
    last_read_ = std::chrono::steady_clock::now();
    impl_->reader.feed(std::string_view(chunk.data(), n));
    while (open_) {
      auto frame = impl_->reader.next();
      if (!frame) break;
      dispatch(std::move(*frame));
    }
    if (impl_->reader.error() != pulsar::FrameError::kNone) {
      close(std::string("the broker sent ") + pulsar::describe(impl_->reader.error()));
      co_return;
    }
  }
}

Task<void> PulsarConnection::keep_alive() {
  auto self = shared_from_this();
  while (open_) {
    impl_->ping_timer.expires_after(kPingEvery);
    auto [ec] = co_await impl_->ping_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || !open_) co_return;
    if (std::chrono::steady_clock::now() - last_read_ > kSilenceLimit) {
      close("the broker has been silent for 90 s");
      co_return;
    }
    post(pulsar::make_command(CommandType::kPing));
  }
}

void PulsarConnection::complete(std::uint64_t request_id, pulsar::Frame&& frame) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;  // timed out meanwhile
  it->second->result = std::move(frame);
  it->second->timer.cancel();
  requests_.erase(it);
}

void PulsarConnection::dispatch(pulsar::Frame&& frame) {
  const auto& c = frame.command;
  switch (static_cast<CommandType>(c.type())) {
    case CommandType::kConnected: complete(0, std::move(frame)); return;
    case CommandType::kSuccess: complete(c.success().request_id(), std::move(frame)); return;
    case CommandType::kError:
      // A refused CONNECT answers request 0; others name their request.
      complete(requests_.count(0) ? 0 : c.error().request_id(), std::move(frame));
      return;
    case CommandType::kProducerSuccess:
      if (!c.producer_success().producer_ready()) return;  // a second one follows when it is ready
      complete(c.producer_success().request_id(), std::move(frame));
      return;
    case CommandType::kLookupResponse: complete(c.lookuptopicresponse().request_id(), std::move(frame)); return;
    case CommandType::kGetLastMessageIdResponse:
      complete(c.getlastmessageidresponse().request_id(), std::move(frame));
      return;
    case CommandType::kSendReceipt:
    case CommandType::kSendError: {
      bool receipt = c.type() == static_cast<int>(CommandType::kSendReceipt);
      auto key = receipt ? std::make_pair(c.send_receipt().producer_id(), c.send_receipt().sequence_id())
                         : std::make_pair(c.send_error().producer_id(), c.send_error().sequence_id());
      auto it = sends_.find(key);
      if (it == sends_.end()) return;
      it->second->result = std::move(frame);
      it->second->timer.cancel();
      sends_.erase(it);
      return;
    }
    case CommandType::kMessage:
    case CommandType::kReachedEndOfTopic: {
      auto id = c.type() == static_cast<int>(CommandType::kMessage) ? c.message().consumer_id()
                                                                      : c.reachedendoftopic().consumer_id();
      if (auto it = consumers_.find(id); it != consumers_.end()) it->second(std::move(frame));
      return;
    }
    case CommandType::kPing: post(pulsar::make_command(CommandType::kPong)); return;
    case CommandType::kCloseProducer:
    case CommandType::kCloseConsumer:
      // The broker moved the topic (unload, failover): start over with a fresh lookup.
      close(c.type() == static_cast<int>(CommandType::kCloseProducer) ? "the broker closed the producer"
                                                                        : "the broker closed a consumer");
      return;
    default: return;  // PONG, and commands this client does not use
  }
}

void PulsarConnection::close(const std::string& why) {
  if (!open_ && !impl_->socket.is_open()) return;
  bool was_open = open_;
  open_ = false;
  boost::system::error_code ec;
  impl_->socket.close(ec);
  impl_->ping_timer.cancel();
  auto fail = [](auto& map) {
    for (auto& [key, pending] : map) {
      pending->result = Result<pulsar::Frame>(make_error_code(Errc::closed));
      pending->timer.cancel();
    }
    map.clear();
  };
  fail(requests_);
  fail(sends_);
  consumers_.clear();
  if (was_open && on_close_) {
    auto callback = std::move(on_close_);
    on_close_ = nullptr;
    callback(why);
  }
}

}  // namespace herald
