#pragma once
// What the parts of the Kafka transport share (kafka_log; presence and leases are the hub's,
// carried over the log): the options, three librdkafka handles (producer, the bus consumer,
// the history reader), one event loop thread that serves the producer's queue (delivery
// reports, errors) and the bus, a small pool for librdkafka's blocking calls (offset queries,
// history reads, topic creation), and a probe that says whether the brokers answer.
//
// Lifecycle: start() makes first contact (refused credentials or TLS, or a topic the broker
// will not create, are a ConfigError; unreachable brokers are not: the probe retries every
// second and the transport reports unhealthy meanwhile). close() ends the probe and flushes
// the producer; the destructor stops the loop and the pool (not from their threads).
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/async_event.hpp"
#include "core/errors.hpp"
#include "core/task.hpp"
#include "model/update.hpp"
#include "transport/kafka/kafka_handle.hpp"
#include "transport/outage_log.hpp"

namespace herald {

/// A publish waiting for its delivery report (the report's thread completes it).
struct PendingPublish {
  AsyncEvent done;
  Result<Seq> result = make_error_code(Errc::transport_failure);
};

class KafkaCore final : public KafkaEvents {
 public:
  KafkaCore(KafkaOptions options, std::string node_id);
  ~KafkaCore() override;
  KafkaCore(const KafkaCore&) = delete;
  KafkaCore& operator=(const KafkaCore&) = delete;

  /// First contact, blocking the caller (not the loop) for at most connect_timeout. Throws
  /// ConfigError (see above).
  void start();

  const KafkaOptions& options() const { return options_; }
  const std::string& node_id() const { return node_id_; }
  boost::asio::io_context& io() { return io_; }
  rd_kafka_t* producer() { return producer_.get(); }
  rd_kafka_t* bus() { return bus_.get(); }
  rd_kafka_t* reader() { return reader_.get(); }
  rd_kafka_topic_t* topic() { return topic_; }
  /// The brokers answered the last probe (once a second) and the topic exists.
  bool up() const { return up_.load(); }
  /// Called on the loop's thread each time the probe finds the brokers gone.
  void on_down(std::function<void()> callback) { down_callback_ = std::move(callback); }

  /// Runs `fn` on the pool (librdkafka's blocking calls); resumes on the caller's executor.
  /// (Pass a named std::function: g++ 12 destroys a lambda written in a co_await operand twice.)
  template <class T>
  Task<T> blocking(std::function<T()> fn) {
    auto answer = co_await blocking_for<T>(std::move(fn), std::chrono::hours(24));
    co_return std::move(*answer);
  }
  /// The same, given up after `timeout` (nullopt): librdkafka's own timeouts do not always
  /// hold while a broker is down (an offset query waited for its restart). The call goes on
  /// on its pool thread; its answer is dropped.
  template <class T>
  Task<std::optional<T>> blocking_for(std::function<T()> fn, Duration timeout) {
    auto state = std::make_shared<std::pair<std::optional<T>, AsyncEvent>>();
    boost::asio::post(pool_, [state, fn = std::move(fn)] {
      state->first.emplace(fn());
      state->second.set();
    });
    if (!co_await state->second.wait_for(timeout)) co_return std::nullopt;
    co_return std::move(state->first);
  }

  /// Partition 0's [low, high) offsets, asked of its leader through the reader's handle
  /// (blocking; pool thread only).
  Result<std::pair<std::int64_t, std::int64_t>> watermarks_blocking(Duration timeout);
  /// The same from a coroutine.
  Task<Result<std::pair<std::int64_t, std::int64_t>>> watermarks();

  /// Ends the probe and flushes the producer (bounded): publishes still waiting are answered.
  Task<void> close();
  bool closing() const { return closing_.load(); }

 private:
  void on_kafka_error(KafkaRole role, rd_kafka_resp_err_t err, const char* reason) noexcept override;
  void on_delivery(const rd_kafka_message_t& message) noexcept override;
  bool quiet() const noexcept override { return starting_.load(); }
  Task<void> serve_producer();
  Task<void> probe();
  /// Looks the topic up and creates it (one partition) when missing. Blocking. An error
  /// text when the broker refused to create it; nullopt when fine or not known yet.
  std::optional<std::string> ensure_topic_blocking(Duration timeout, bool& reachable);
  void report(bool up, const std::string& detail);

  KafkaOptions options_;
  std::string node_id_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  boost::asio::thread_pool pool_{4};
  std::thread thread_;
  RdKafka producer_, bus_, reader_;
  rd_kafka_topic_t* topic_ = nullptr;
  RdQueue main_queue_;
  std::unique_ptr<QueueWaker> producer_waker_;  ///< loop thread
  std::atomic<bool> up_{false}, closing_{false}, topic_ready_{false}, starting_{true};
  std::shared_ptr<std::atomic<bool>> probe_in_flight_ = std::make_shared<std::atomic<bool>>(false);
  std::function<void()> down_callback_;
  std::mutex mutex_;
  std::string refusal_;  ///< an authentication or TLS refusal seen by a handle; mutex_
  AsyncEvent refused_;
  AsyncEvent probe_done_, producer_done_, stop_;
  OutageLog outages_;
};

}  // namespace herald
