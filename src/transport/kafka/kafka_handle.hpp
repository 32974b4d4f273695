#pragma once
// librdkafka handles for the Kafka transport, and the bridge from librdkafka's queues to Asio.
//   make_kafka_handle: one rd_kafka_t per role (producer, bus consumer, history reader),
//     configured from KafkaOptions; a bad setting (an unreadable CA file...) is a ConfigError.
//   QueueWaker: librdkafka writes a byte to a pipe when a queue gets an event on empty; an
//     Asio descriptor waits on it, so an event loop serves the queue without blocking a thread.
#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/task.hpp"
#include "transport/kafka/kafka_options.hpp"

namespace herald {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const;
};
/// An owned handle: destroyed without a consumer-group close (Herald assigns, never joins).
using RdKafka = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

enum class KafkaRole { producer, bus, reader };

/// Callbacks a handle reports to (librdkafka's threads, or whoever serves its queue).
/// A one-entry partition list: the topic's partition 0 at `offset`. Not copyable.
struct PartitionList {
  PartitionList(const std::string& topic, std::int64_t offset) : list(rd_kafka_topic_partition_list_new(1)) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = offset;
  }
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  rd_kafka_topic_partition_list_t* list;
};

class KafkaEvents {
 public:
  virtual ~KafkaEvents() = default;
  /// A client-level error (all brokers down, authentication refused...).
  virtual void on_kafka_error(KafkaRole role, rd_kafka_resp_err_t err, const char* reason) noexcept = 0;
  /// A producer's delivery report.
  virtual void on_delivery(const rd_kafka_message_t& message) noexcept = 0;
  /// While true (first contact: its outcome is reported in one line), librdkafka's own
  /// warnings are logged at debug level. Any thread.
  virtual bool quiet() const noexcept { return false; }
};

/// Throws ConfigError when librdkafka refuses a setting.
RdKafka make_kafka_handle(const KafkaOptions& options, KafkaRole role, const std::string& node_id, KafkaEvents& events);

/// Contract: construct and use on the io_context's thread; the queue must outlive this.
class QueueWaker {
 public:
  QueueWaker(boost::asio::io_context& io, rd_kafka_queue_t* queue);
  ~QueueWaker();
  QueueWaker(const QueueWaker&) = delete;
  QueueWaker& operator=(const QueueWaker&) = delete;
  /// Completes when the queue got an event since the last wait (or cancel()).
  Task<void> wait();
  void cancel();

 private:
  rd_kafka_queue_t* queue_;
  int write_fd_ = -1;
  boost::asio::posix::stream_descriptor read_end_;
};

/// An owned queue handle.
struct RdQueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using RdQueue = std::unique_ptr<rd_kafka_queue_t, RdQueueDeleter>;

}  // namespace herald
