#pragma once
// One connection to a Pulsar broker over Pulsar's binary protocol (the part Herald needs, see
// pulsar_api.proto): CONNECT with the token, requests matched to their answers by request id,
// SEND matched to its receipt by (producer id, sequence id), MESSAGE frames routed to their
// consumer, PING answered, a PING of our own every 30 s and the connection closed when the
// broker has been silent for 90 s.
//
// Threading: everything runs on the io_context given to the constructor (the transport's
// loop); every method is called on it. Lifetime: owned through shared_ptr; the read loop and
// the keep-alive hold a reference while they run. A connection is used once: after an error
// or close() every pending and later request fails with Errc::closed and the owner opens a
// new one (and creates its producer and consumers again).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>

#include "core/duration.hpp"
#include "core/errors.hpp"
#include "core/task.hpp"
#include "transport/pulsar/pulsar_frame.hpp"
#include "transport/pulsar/pulsar_options.hpp"

namespace herald {

class PulsarConnection : public std::enable_shared_from_this<PulsarConnection> {
 public:
  /// MESSAGE and REACHED_END_OF_TOPIC frames of one consumer (connection's thread).
  using ConsumerHandler = std::function<void(pulsar::Frame&&)>;

  PulsarConnection(boost::asio::io_context& io, const PulsarOptions& options);
  ~PulsarConnection();
  PulsarConnection(const PulsarConnection&) = delete;
  PulsarConnection& operator=(const PulsarConnection&) = delete;

  /// Connects to host:port, sends CONNECT (with the token when there is one) and waits for
  /// CONNECTED, within options.connect_timeout. Errors: the network error, timed_out, or
  /// Errc::unauthorized (the broker refused the token) with error_text() saying why.
  Task<Result<void>> connect(std::string host, std::uint16_t port);

  /// A fresh id for a request, a producer or a consumer (unique on this connection).
  std::uint64_t next_id() { return next_id_++; }

  /// Sends `command`, which carries `request_id`, and completes with the broker's answer
  /// (SUCCESS, PRODUCER_SUCCESS, LOOKUP_RESPONSE, GET_LAST_MESSAGE_ID_RESPONSE, or ERROR, which
  /// is an answer too: check the type). Errors: timed_out after `timeout`, Errc::closed.
  Task<Result<pulsar::Frame>> request(pulsar::proto::BaseCommand command, std::uint64_t request_id, Duration timeout);

  /// Sends one message and completes with the message id of its receipt. Errors:
  /// Errc::transport_failure for a SEND_ERROR (error_text() names the broker's error),
  /// timed_out, Errc::closed.
  Task<Result<pulsar::proto::MessageIdData>> send(std::uint64_t producer_id, std::uint64_t sequence_id,
                                                  const pulsar::proto::MessageMetadata& metadata,
                                                  std::string payload, Duration timeout);

  /// Sends a command that has no answer (FLOW, ACK, CLOSE_*). Dropped when closed.
  void post(const pulsar::proto::BaseCommand& command);

  /// Routes a consumer's frames to `handler` until remove_consumer.
  void add_consumer(std::uint64_t consumer_id, ConsumerHandler handler);
  void remove_consumer(std::uint64_t consumer_id) { consumers_.erase(consumer_id); }

  /// Closes the socket; pending requests fail with Errc::closed; on_close runs once.
  void close(const std::string& why);
  bool is_open() const { return open_; }
  /// Runs once when the connection ends (an error, the broker closing a producer or a
  /// consumer, or close()), with the reason for the log.
  void on_close(std::function<void(const std::string&)> callback) { on_close_ = std::move(callback); }
  /// The broker's words for the last refused CONNECT or SEND.
  const std::string& error_text() const { return error_text_; }
  /// The broker's version (CONNECTED).
  const std::string& server_version() const { return server_version_; }

 private:
  struct Pending;
  void write(std::string bytes);
  void start_write();
  Task<void> read_loop();
  Task<void> keep_alive();
  void dispatch(pulsar::Frame&& frame);
  void complete(std::uint64_t request_id, pulsar::Frame&& frame);
  static Task<Result<pulsar::Frame>> wait(std::shared_ptr<Pending> pending, Duration timeout);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  const PulsarOptions& options_;
  bool open_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::shared_ptr<Pending>> requests_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::shared_ptr<Pending>> sends_;
  std::map<std::uint64_t, ConsumerHandler> consumers_;
  std::function<void(const std::string&)> on_close_;
  std::string error_text_;
  std::string server_version_;
  std::chrono::steady_clock::time_point last_read_{};
};

}  // namespace herald
