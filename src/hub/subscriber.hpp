#pragma once
// A subscriber lives on one shard and is touched only from that shard's thread.
// The shard writes frames at once when it can (Subscriber::Sink::write_now) and queues the rest;
// the HTTP layer's SSE writer drains the queue.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "core/uuid.hpp"
#include "hub/frame_queue.hpp"
#include "model/update.hpp"

namespace herald {

/// A shard's executor, and a timer bound to it: smaller than the type-erased defaults
/// (an idle subscriber holds a few of them; see BENCHMARKS.md, idle memory).
using ShardExecutor = boost::asio::io_context::executor_type;
using ShardTimer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                     boost::asio::wait_traits<std::chrono::steady_clock>, ShardExecutor>;

class Subscriber {
 public:
  /// `queue_capacity` frames and `queue_bytes` bytes may wait in the queue (at least one
  /// frame is always taken, however large).
  explicit Subscriber(std::size_t queue_capacity, std::size_t queue_bytes = static_cast<std::size_t>(-1))
      : capacity_(queue_capacity), byte_budget_(queue_bytes) {}

  Uuid id;                                             ///< a UUIDv4: id.urn() is the subscriber's id
  std::vector<std::string> topics;                     ///< requested selectors
  std::optional<std::vector<std::string>> may_see;     ///< mercure.subscribe; nullopt = anonymous
  std::optional<nlohmann::json> payload;               ///< mercure.payload
  std::string remote_addr;

  /// Queues a frame and wakes the writer (Sink::wake). Returns false (and closes the subscriber) when
  /// the queue is full (frames or bytes): a reader that cannot keep up is disconnected and
  /// reconnects with Last-Event-ID.
  bool push(Frame frame);

  /// Closes the subscriber: the writer stops; the sink, if any, is aborted once (closes
  /// the socket) and forgotten.
  void close();
  bool closed() const { return closed_; }

  /// The HTTP layer's side of the stream, called by the shard on its thread. The HTTP layer
  /// sets it when the connection becomes a stream and clears it (or close() does) before
  /// the stream goes away: a plain pointer, no hook objects (idle subscribers are many).
  class Sink {
   public:
    /// Aborts the connection (cancels a pending write) and wakes the writer, which ends.
    virtual void abort() = 0;
    /// Wakes the stream's writer when it is parked (frames were queued, or the replay moved
    /// on); nothing when it is busy, since a busy writer looks at the queue before parking.
    /// Never runs the writer inside the call.
    virtual void wake() = 0;
    /// Writes the leading frames of `frames` to the socket at once, in one gathered send,
    /// when nothing is in flight, without waking the writer; what the kernel does not take
    /// of them the stream keeps and its writer finishes. Returns how many frames it took
    /// (0: none, when a write is in flight or the socket is full): the caller queues the
    /// rest, in order, behind them. The fast path of fan-out: one send per subscriber per
    /// batch of updates, however many frames the batch holds for it.
    virtual std::size_t write_now(std::span<const Frame* const> frames) = 0;

   protected:
    ~Sink() = default;
  };
  Sink* sink = nullptr;
  /// The stream is open (its headers are out): the shard may write to the sink directly.
  bool open = false;

  FrameQueue& queue() { return queue_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t byte_budget() const { return byte_budget_; }

  // Replay bookkeeping (see Shard::subscribe).
  bool replaying = false;  ///< history is still being read from the transport
  /// Live updates that reached the shard during the replay (a bus may deliver an update
  /// before the history page that was read just before it was stored comes back): released
  /// after the last page, past its seq. Bounded by the queue capacity; beyond that they are
  /// dropped and `held_overflow` makes the replay read one more page (the store has them).
  std::vector<std::pair<Seq, Frame>> held;
  bool held_overflow = false;
  /// Updates up to this seq are handled (queued, filtered out, or older than the
  /// subscription): later deliveries of them are dropped. Dispatch runs in seq order.
  Seq last_seq = 0;
  std::uint64_t visit_epoch = 0;  ///< fan-out de-duplication stamp

  // Coalescing bookkeeping, owned by the shard (see Shard::gather): the frames gathered for
  // this subscriber in the batch being dispatched, a chain in the shard's link list.
  static constexpr std::uint32_t kNotGathered = static_cast<std::uint32_t>(-1);
  std::uint32_t gathered_head = 0, gathered_tail = 0, gathered = 0;
  std::uint32_t dirty_slot = kNotGathered;  ///< index in the shard's dirty list

 private:
  FrameQueue queue_;
  std::size_t capacity_;
  std::size_t byte_budget_;
  bool closed_ = false;
};

}  // namespace herald
