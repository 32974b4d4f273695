#pragma once
// A subscriber lives on one shard and is touched only from that shard's thread.
// The shard writes frames at once when it can (Subscriber::write_now) and queues the rest;
// the HTTP layer's SSE writer drains the queue.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "hub/frame_queue.hpp"
#include "model/update.hpp"

namespace herald {

class Subscriber {
 public:
  /// `queue_capacity` frames and `queue_bytes` bytes may wait in the queue (at least one
  /// frame is always taken, however large).
  Subscriber(boost::asio::any_io_executor executor, std::size_t queue_capacity,
             std::size_t queue_bytes = static_cast<std::size_t>(-1))
      : wake_(executor), capacity_(queue_capacity), byte_budget_(queue_bytes) {}

  std::string id;                                      ///< urn:uuid:<UUIDv4>
  std::vector<std::string> topics;                     ///< requested selectors
  std::optional<std::vector<std::string>> may_see;     ///< mercure.subscribe; nullopt = anonymous
  std::optional<nlohmann::json> payload;               ///< mercure.payload
  std::string remote_addr;

  /// Queues a frame and wakes the writer. Returns false (and closes the subscriber) when
  /// the queue is full (frames or bytes): a reader that cannot keep up is disconnected and
  /// reconnects with Last-Event-ID.
  bool push(Frame frame);

  /// Closes the subscriber: the writer stops, `on_close` runs once (closes the socket).
  void close();
  bool closed() const { return closed_; }

  /// Set by the HTTP layer: aborts the connection (cancels a pending write).
  std::function<void()> on_close;

  /// Set by the HTTP layer once the stream is open; called by the shard on its thread.
  /// Writes the leading frames of `frames` to the socket at once, in one gathered send,
  /// when nothing is queued or in flight, without waking the writer; what the kernel does
  /// not take of them the stream keeps and its writer finishes. Returns how many frames it
  /// took (0: none, when a write is in flight or the socket is full): the caller queues the
  /// rest, in order, behind them. The fast path of fan-out: one send per subscriber per
  /// batch of updates, however many frames the batch holds for it.
  std::function<std::size_t(std::span<const Frame* const>)> write_now;

  FrameQueue& queue() { return queue_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t byte_budget() const { return byte_budget_; }
  boost::asio::steady_timer& wake_timer() { return wake_; }

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
  boost::asio::steady_timer wake_;
  std::size_t capacity_;
  std::size_t byte_budget_;
  bool closed_ = false;
};

}  // namespace herald
