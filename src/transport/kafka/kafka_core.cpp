#include "transport/kafka/kafka_core.hpp"

#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_future.hpp>

#include "core/config_error.hpp"
#include "core/logging.hpp"

namespace herald {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
namespace {
constexpr auto kProbeEvery = std::chrono::seconds(1);
constexpr auto kProbeTimeout = std::chrono::seconds(1);

int ms(Duration d) { return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

bool is_refusal(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL ||
         err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED || err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
}

/// Creates `topic` with one partition and the brokers' default replication (blocking).
std::optional<std::string> create_topic(rd_kafka_t* rk, const std::string& topic, Duration timeout) {
  char error[512];
  rd_kafka_NewTopic_t* fresh = rd_kafka_NewTopic_new(topic.c_str(), 1, -1, error, sizeof error);
  if (!fresh) return std::string(error);
  RdQueue queue(rd_kafka_queue_new(rk));
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, ms(timeout), error, sizeof error);
  rd_kafka_CreateTopics(rk, &fresh, 1, options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(fresh);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue.get(), ms(timeout) + 1000);
  std::optional<std::string> failure;
  if (!event) return std::string("no answer");
  if (rd_kafka_event_error(event)) {
    failure = rd_kafka_event_error_string(event);
  } else if (const auto* result = rd_kafka_event_CreateTopics_result(event)) {
    std::size_t n = 0;
    const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &n);
    for (std::size_t i = 0; i < n; ++i) {
      auto err = rd_kafka_topic_result_error(topics[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* text = rd_kafka_topic_result_error_string(topics[i]);
        failure = std::string(rd_kafka_err2name(err)) + (text ? std::string(": ") + text : "");
      }
    }
  }
  rd_kafka_event_destroy(event);
  return failure;
}
}  // namespace

KafkaCore::KafkaCore(KafkaOptions options, std::string node_id)
    : options_(std::move(options)), node_id_(std::move(node_id)) {
  producer_ = make_kafka_handle(options_, KafkaRole::producer, node_id_, *this);
  bus_ = make_kafka_handle(options_, KafkaRole::bus, node_id_, *this);
  reader_ = make_kafka_handle(options_, KafkaRole::reader, node_id_, *this);
  // No topic configuration of its own: the handle's defaults (message.timeout.ms...) apply.
  topic_ = rd_kafka_topic_new(producer_.get(), options_.topic.c_str(), nullptr);
  rd_kafka_poll_set_consumer(bus_.get());
  rd_kafka_poll_set_consumer(reader_.get());
  main_queue_.reset(rd_kafka_queue_get_main(producer_.get()));
  probe_done_.set();
  thread_ = std::thread([this] { io_.run(); });
  asio::post(io_, [this] {
    producer_waker_ = std::make_unique<QueueWaker>(io_, main_queue_.get());
    asio::co_spawn(io_, serve_producer(), asio::detached);
  });
}

KafkaCore::~KafkaCore() {
  closing_ = true;
  stop_.set();
  probe_done_.wait_blocking(std::chrono::seconds(10));  // the probe uses this object until it ends
  // Whatever is still queued gets its (failed) delivery report, served here.
  rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(producer_.get(), 1000);
  asio::post(io_, [this] {
    if (producer_waker_) producer_waker_->cancel();
  });
  producer_done_.wait_blocking(std::chrono::seconds(5));
  asio::post(io_, [this] { producer_waker_.reset(); });
  work_.reset();
  asio::post(io_, [this] { io_.stop(); });
  if (thread_.joinable()) thread_.join();
  pool_.join();
  main_queue_.reset();
  if (topic_) rd_kafka_topic_destroy(topic_);
}

void KafkaCore::start() {
  auto deadline = Clock::now() + options_.connect_timeout;
  bool reachable = false;
  std::optional<std::string> refused_topic;
  while (Clock::now() < deadline) {
    refused_topic = ensure_topic_blocking(std::chrono::milliseconds(1000), reachable);
    if (reachable) break;
    if (refused_.is_set()) break;
  }
  if (!reachable) refused_.wait_blocking(std::chrono::milliseconds(200));  // a refusal reported late
  {
    std::lock_guard lock(mutex_);
    if (!refusal_.empty()) throw ConfigError("invalid transport_url: kafka refused the connection (" + refusal_ + ")");
  }
  if (refused_topic)
    throw ConfigError("invalid transport_url: kafka did not create the topic \"" + options_.topic + "\" (" +
                      *refused_topic + "); create it with one partition, or let this user create topics");
  starting_ = false;  // (a refusal stays quiet: the ConfigError above is its one line)
  if (!reachable)
    logger("kafka")->warn("kafka_unreachable brokers={} note=\"starting unhealthy; retrying every second\"",
                          options_.brokers.size());
  else
    report(true, "");
  probe_done_.reset();
  asio::co_spawn(io_, probe(), asio::detached);
}

std::optional<std::string> KafkaCore::ensure_topic_blocking(Duration timeout, bool& reachable) {
  const rd_kafka_metadata_t* metadata = nullptr;
  reachable = false;
  auto err = rd_kafka_metadata(producer_.get(), 0, topic_, &metadata, ms(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  reachable = true;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  int partitions = 0;
  bool led = false;  // partition 0 has a leader (a topic just created has none for a moment)
  if (metadata->topic_cnt == 1) {
    const auto& t = metadata->topics[0];
    topic_err = t.err;
    partitions = t.partition_cnt;
    for (int i = 0; i < t.partition_cnt; ++i)
      if (t.partitions[i].id == 0) led = t.partitions[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partitions[i].leader >= 0;
  }
  rd_kafka_metadata_destroy(metadata);
  if (topic_err == RD_KAFKA_RESP_ERR_NO_ERROR && partitions > 0 && !led) {
    reachable = false;  // look again
    return std::nullopt;
  }
  if (topic_err == RD_KAFKA_RESP_ERR_NO_ERROR && partitions > 0) {
    if (partitions > 1 && !topic_ready_)
      logger("kafka")->warn("kafka_topic_partitions topic={} partitions={} note=\"Herald writes and reads partition 0 "
                            "only: one order for the whole cluster\"", options_.topic, partitions);
    topic_ready_ = true;
    return std::nullopt;
  }
  if (topic_err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && topic_err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
    return std::string(rd_kafka_err2name(topic_err));
  if (topic_err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {  // just created: no leader yet
    reachable = false;
    return std::nullopt;
  }
  auto failure = create_topic(producer_.get(), options_.topic, timeout);
  if (!failure) {
    logger("kafka")->info("kafka_topic_created topic={} partitions=1", options_.topic);
    reachable = false;  // look again: ready once it has a leader
  }
  return failure;
}

void KafkaCore::on_kafka_error(KafkaRole, rd_kafka_resp_err_t err, const char* reason) noexcept {
  if (is_refusal(err)) {
    {
      std::lock_guard lock(mutex_);
      refusal_ = std::string(rd_kafka_err2name(err)) + ": " + (reason ? reason : "");
    }
    refused_.set();
  }
}

void KafkaCore::on_delivery(const rd_kafka_message_t& message) noexcept {
  auto* holder = static_cast<std::shared_ptr<PendingPublish>*>(message._private);
  if (!holder) return;
  auto pending = std::move(*holder);
  delete holder;
  if (message.err) {
    logger("kafka")->warn("kafka_publish_failed error={}", rd_kafka_err2name(message.err));
    pending->result = make_error_code(Errc::transport_failure);
  } else {
    pending->result = Seq(message.offset + 1);
  }
  pending->done.set();
}

/// Serves the producer's queue: delivery reports and errors (loop thread).
Task<void> KafkaCore::serve_producer() {
  while (!closing_) {
    while (rd_kafka_poll(producer_.get(), 0) > 0) {
    }
    co_await producer_waker_->wait();
  }
  while (rd_kafka_poll(producer_.get(), 0) > 0) {
  }
  producer_done_.set();
}

Result<std::pair<std::int64_t, std::int64_t>> KafkaCore::watermarks_blocking(Duration timeout) {
  // Two ListOffsets queries ("earliest", "latest") through offsets_for_times, which keeps to
  // its timeout: rd_kafka_query_watermark_offsets waits for its answer however long it takes,
  // and with the partition's leader just killed, that was for ever.
  auto ask = [&](std::int64_t which) -> std::optional<std::int64_t> {
    PartitionList query(options_.topic, which);
    auto err = rd_kafka_offsets_for_times(reader_.get(), query.list, ms(timeout));
    const auto& answer = query.list->elems[0];
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || answer.err != RD_KAFKA_RESP_ERR_NO_ERROR || answer.offset < 0) return std::nullopt;
    return answer.offset;
  };
  auto low = ask(RD_KAFKA_OFFSET_BEGINNING);
  if (!low) return make_error_code(Errc::transport_failure);
  auto high = ask(RD_KAFKA_OFFSET_END);
  if (!high) return make_error_code(Errc::transport_failure);
  return std::pair{std::min(*low, *high), *high};
}

Task<Result<std::pair<std::int64_t, std::int64_t>>> KafkaCore::watermarks() {
  if (closing_) co_return make_error_code(Errc::closed);
  auto timeout = options_.connect_timeout;
  // (g++ 12: a lambda written inside a co_await operand is destroyed twice: name it first)
  std::function<Result<std::pair<std::int64_t, std::int64_t>>()> query = [this, timeout] {
    return watermarks_blocking(timeout);
  };
  auto marks = co_await blocking_for(std::move(query), timeout);
  if (!marks) co_return make_error_code(Errc::transport_failure);
  co_return *marks;
}

/// Once a second: do the brokers answer for the topic (creating it when missing)?
Task<void> KafkaCore::probe() {
  while (!closing_) {
    bool was_up = up_.load();
    bool now_up = false;
    if (!topic_ready_) {
      using Answer = std::optional<std::string>;
      std::function<Answer()> ensure = [this] {
        bool reachable = false;
        return ensure_topic_blocking(std::chrono::seconds(1), reachable);
      };
      auto failure = co_await blocking_for(std::move(ensure), std::chrono::seconds(5));
      if (failure && *failure)
        logger("kafka")->error("kafka_topic_refused topic={} error=\"{}\"", options_.topic, **failure);
    }
    if (topic_ready_ && !probe_in_flight_->load()) {
      // One offset query at a time, given up after a second: no answer means down.
      probe_in_flight_->store(true);
      std::function<bool()> query = [this, in_flight = probe_in_flight_] {
        bool ok = watermarks_blocking(kProbeTimeout).has_value();
        in_flight->store(false);
        return ok;
      };
      auto marks = co_await blocking_for(std::move(query), kProbeTimeout);
      now_up = marks && *marks;
    }
    if (now_up != was_up) {
      report(now_up, "");
      if (!now_up && down_callback_) down_callback_();
    }
    up_ = now_up;
    if (co_await stop_.wait_for(kProbeEvery)) break;
  }
  probe_done_.set();
}

void KafkaCore::report(bool up, const std::string& detail) {
  if (up) {
    if (outages_.up("brokers")) logger("kafka")->info("kafka_reconnected topic={}", options_.topic);
    else logger("kafka")->info("kafka_connected topic={} brokers={} node={}", options_.topic, options_.brokers.size(), node_id_);
    up_ = true;
  } else if (outages_.down("brokers")) {
    logger("kafka")->error("kafka_unreachable topic={} detail=\"{}\"", options_.topic, detail);
  }
}

Task<void> KafkaCore::close() {
  if (closing_.exchange(true)) co_return;
  stop_.set();
  co_await probe_done_.wait_for(std::chrono::seconds(5));
  // Publishes in flight get their reports (bounded), then what is left is purged (failed).
  std::function<int()> flush = [this] {
    rd_kafka_flush(producer_.get(), 2000);
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(producer_.get(), 500);
    return 0;
  };
  co_await blocking(std::move(flush));
}

}  // namespace herald
