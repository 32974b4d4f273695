#include "transport/kafka/kafka_log.hpp"

#include <chrono>
#include <optional>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "core/logging.hpp"
#include "transport/update_codec.hpp"

namespace herald {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
namespace {
constexpr std::size_t kBatch = 1000;
constexpr std::int64_t kLastIdScan = 100;  // records looked back at for the newest update's id

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

std::optional<Stored> decode(const rd_kafka_message_t& m) {
  auto decoded = decode_stored_update(std::string_view(static_cast<const char*>(m.payload), m.payload ? m.len : 0));
  if (!decoded) return std::nullopt;
  return Stored{Seq(m.offset + 1), std::move(decoded->update)};
}

class KafkaLog final : public Log {
 public:
  explicit KafkaLog(std::shared_ptr<KafkaCore> core) : core_(std::move(core)) { bus_done_.set(); }
  /// Without close(), ends the bus here (blocking, bounded; not on the core's thread).
  ~KafkaLog() override {
    if (closing_.exchange(true)) return;  // close() stopped the bus
    stop_bus().wait_blocking(std::chrono::seconds(5));
    bus_done_.wait_blocking(bus_grace());
  }

  LogCapabilities capabilities() const override { return {.resolves_ids = false, .multi_node = true}; }

  /// Answered on the delivery report: once every in-sync replica has the record (acks=all),
  /// or failed after publish_timeout (librdkafka retries meanwhile, without duplicates).
  Task<Result<Seq>> publish(UpdatePtr update) override {
    if (closing_) co_return make_error_code(Errc::closed);
    auto pending = std::make_shared<PendingPublish>();
    auto* holder = new std::shared_ptr<PendingPublish>(pending);
    std::string value = encode_stored_update(*update, now_ms());
    auto err = rd_kafka_producev(core_->producer(), RD_KAFKA_V_RKT(core_->topic()), RD_KAFKA_V_PARTITION(0),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_OPAQUE(holder), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      delete holder;
      logger("kafka")->warn("kafka_publish_refused error={}", rd_kafka_err2name(err));
      co_return make_error_code(Errc::transport_failure);
    }
    co_await pending->done.wait();
    co_return pending->result;
  }

  Task<Result<void>> listen(LogListener& listener, FlowGate& gate) override {
    if (closing_) co_return make_error_code(Errc::closed);
    listener_ = &listener;
    gate_ = &gate;
    // From the high watermark now (or, brokers unreachable, wherever the end is when they
    // answer): every record appended after this call is delivered.
    // A partition just created or just re-elected can refuse offset queries for a moment: ask
    // again for up to connect_timeout before starting unpositioned (see bus()).
    std::optional<Seq> position;
    std::int64_t start = RD_KAFKA_OFFSET_END;
    auto deadline = Clock::now() + core_->options().connect_timeout;
    for (;;) {
      if (auto marks = co_await core_->watermarks()) {
        start = marks->second;
        position = Seq(marks->second);
        break;
      }
      if (closing_ || Clock::now() >= deadline) break;
      AsyncEvent pause;
      co_await pause.wait_for(std::chrono::milliseconds(200));
    }
    bus_done_.reset();
    asio::post(core_->io(), [this, start, position] {
      core_->on_down([this] {
        if (auto* l = listener_.load(); l && !closing_) l->on_error(make_error_code(Errc::transport_failure));
      });
      asio::co_spawn(core_->io(), bus(start, position), asio::detached);
    });
    co_return Result<void>{};
  }

  Task<Result<Seq>> find(std::string) override { co_return make_error_code(Errc::not_supported); }

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    if (closing_) co_return make_error_code(Errc::closed);
    std::function<Result<std::vector<Stored>>()> page = [this, after, limit] { return read(after, limit); };
    co_return co_await core_->blocking(std::move(page));
  }

  Task<Result<Seq>> head() override {
    auto marks = co_await core_->watermarks();
    if (!marks) co_return marks.error();
    co_return std::max(Seq(marks->second), delivered_.load());
  }

  Task<Result<Seq>> earliest() override {
    auto marks = co_await core_->watermarks();
    if (!marks) co_return marks.error();
    co_return Seq(marks->first);
  }

  /// The newest update's id among the last records (control records are skipped).
  Task<Result<std::string>> last_event_id() override {
    auto marks = co_await core_->watermarks();
    if (!marks) co_return marks.error();
    Seq from = Seq(std::max(marks->first, marks->second - kLastIdScan));
    auto page = co_await read_after(from, kLastIdScan);
    if (!page) co_return page.error();
    for (auto it = page->rbegin(); it != page->rend(); ++it)
      if (!it->update->control) co_return it->update->id;
    co_return std::string("earliest");
  }

  bool healthy() const override { return core_->up(); }

  Task<void> close() override {
    if (closing_.exchange(true)) co_return;
    co_await stop_bus().wait_for(std::chrono::seconds(5));
    co_await bus_done_.wait_for(bus_grace());
    listener_ = nullptr;
    co_await core_->close();
  }

 private:
  /// How long the bus may take to notice closing_ (an offset query in flight, then a pause).
  Duration bus_grace() const { return core_->options().connect_timeout + std::chrono::seconds(3); }

  /// Wakes the bus so that it sees closing_, and forgets the core's callback into this log,
  /// on the loop's thread; the event is set once that has run.
  AsyncEvent& stop_bus() {
    asio::post(core_->io(), [this] {
      if (bus_waker_) bus_waker_->cancel();
      core_->on_down(nullptr);
      bus_stopped_.set();
    });
    return bus_stopped_;
  }

  /// Consumes partition 0 from `start` and hands records to the listener (loop thread).
  Task<void> bus(std::int64_t start, std::optional<Seq> position) {
    rd_kafka_t* rk = core_->bus();
    const std::string& topic = core_->options().topic;
    if (!position) {
      // listen() could not learn where the partition ended: what was appended since is unknown.
      // Start from the end once the brokers say where it is, and report a gap, so that
      // subscribers resume from their Last-Event-ID through the history.
      while (!closing_ && !position) {
        if (auto marks = co_await core_->watermarks()) {
          start = marks->second;
          position = Seq(marks->second);
          break;
        }
        AsyncEvent pause;
        co_await pause.wait_for(std::chrono::seconds(1));
      }
      if (closing_) {
        bus_done_.set();
        co_return;
      }
      logger("kafka")->warn("kafka_bus_positioned_late at={} note=\"subscribers reconnect with their Last-Event-ID\"", *position);
      if (auto* l = listener_.load()) l->on_gap();
    }
    {
      PartitionList assignment(topic, start);
      if (auto err = rd_kafka_assign(rk, assignment.list))
        logger("kafka")->error("kafka_assign_failed error={}", rd_kafka_err2name(err));
    }
    RdQueue queue(rd_kafka_queue_get_consumer(rk));
    bus_waker_ = std::make_unique<QueueWaker>(core_->io(), queue.get());
    std::vector<rd_kafka_message_t*> batch(kBatch);
    while (!closing_) {
      if (!gate_->is_open()) {
        // The shards are behind: stop fetching (and drop the prefetched records) until they
        // catch up; librdkafka resumes from the record after the last one delivered.
        PartitionList paused(topic, 0);
        rd_kafka_pause_partitions(rk, paused.list);
        while (!closing_) {
          bool open = co_await gate_->wait_for(std::chrono::milliseconds(200));  // (closing_ is checked too)
          if (open) break;
        }
        rd_kafka_resume_partitions(rk, paused.list);
        continue;
      }
      // Past the gate: take the next batch, waiting for one when none is there.
      ssize_t n = rd_kafka_consume_batch_queue(queue.get(), 0, batch.data(), batch.size());
      while (n <= 0 && !closing_) {
        co_await bus_waker_->wait();
        if (!gate_->is_open()) break;  // closed while waiting: pause before taking anything
        n = rd_kafka_consume_batch_queue(queue.get(), 0, batch.data(), batch.size());
      }
      for (ssize_t i = 0; i < n; ++i) {
        Message message(batch[i]);
        if (!closing_) deliver(*message, position);
      }
    }
    rd_kafka_assign(rk, nullptr);
    bus_waker_.reset();
    queue.reset();
    bus_done_.set();
  }

  void deliver(const rd_kafka_message_t& m, std::optional<Seq>& position) {
    if (m.err) {
      if (m.err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        logger("kafka")->warn("kafka_consume_error error={} detail=\"{}\"", rd_kafka_err2name(m.err),
                              rd_kafka_message_errstr(&m));
      return;
    }
    Seq seq = Seq(m.offset + 1);
    if (position && seq <= *position) return;  // delivered already
    if (position && seq != *position + 1) {
      logger("kafka")->error("kafka_gap after={} next={} note=\"records were deleted before this node read them\"",
                             *position, seq);
      if (auto* l = listener_.load()) l->on_gap();
    }
    position = seq;
    delivered_ = seq;
    auto stored = decode(m);
    if (!stored) {
      logger("kafka")->error("kafka_bad_record seq={}", seq);
      return;
    }
    if (auto* l = listener_.load(); l && !closing_) l->on_update(std::move(*stored));
  }

  /// One history page on the reader consumer (pool thread; one page at a time).
  Result<std::vector<Stored>> read(Seq after, std::size_t limit) {
    auto timeout = core_->options().connect_timeout;
    auto marks = core_->watermarks_blocking(timeout);
    if (!marks) return marks.error();
    auto [low, high] = *marks;
    if (after < Seq(low)) return make_error_code(Errc::not_found);  // retention removed some
    // A partition's new leader can answer with a high watermark below what the bus already
    // delivered from the old one, for a moment: read up to the larger (see Log::read_after).
    Seq end = std::max(Seq(high), delivered_.load());
    std::vector<Stored> out;
    if (limit == 0 || after >= end) return out;
    std::size_t want = std::min<std::size_t>(limit, end - after);
    std::lock_guard lock(reader_mutex_);
    rd_kafka_t* rk = core_->reader();
    PartitionList assignment(core_->options().topic, std::int64_t(after));  // seq after+1 is offset after
    if (rd_kafka_assign(rk, assignment.list) != RD_KAFKA_RESP_ERR_NO_ERROR) return make_error_code(Errc::transport_failure);
    Result<std::vector<Stored>> result = read_page(rk, std::int64_t(after), want, Clock::now() + timeout, out);
    rd_kafka_assign(rk, nullptr);
    return result;
  }

  static Result<std::vector<Stored>> read_page(rd_kafka_t* rk, std::int64_t next, std::size_t want,
                                               Clock::time_point deadline, std::vector<Stored>& out) {
    while (out.size() < want) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return make_error_code(Errc::transport_failure);
      Message m(rd_kafka_consumer_poll(rk, static_cast<int>(left)));
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;  // (the end is known: `want`)
      if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE || m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        if (out.empty()) return make_error_code(Errc::not_found);  // trimmed meanwhile
        break;
      }
      if (m->err) continue;  // a broker error: librdkafka retries until the deadline
      if (m->offset < next) continue;  // fetched for an earlier page
      if (m->offset > next) {
        if (out.empty()) return make_error_code(Errc::not_found);
        break;
      }
      next = m->offset + 1;
      if (auto stored = decode(*m)) out.push_back(std::move(*stored));
    }
    return std::move(out);
  }

  std::shared_ptr<KafkaCore> core_;
  std::atomic<LogListener*> listener_{nullptr};
  FlowGate* gate_ = nullptr;
  std::atomic<bool> closing_{false};
  std::atomic<Seq> delivered_{0};  ///< the last seq handed to the listener (written by the bus)
  AsyncEvent bus_done_, bus_stopped_;
  std::unique_ptr<QueueWaker> bus_waker_;  ///< loop thread only
  std::mutex reader_mutex_;
};

}  // namespace

std::unique_ptr<Log> make_kafka_log(std::shared_ptr<KafkaCore> core) { return std::make_unique<KafkaLog>(std::move(core)); }

}  // namespace herald
