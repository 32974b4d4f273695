#pragma once
// A subscriber lives on one shard and is touched only from that shard's thread.
// The shard pushes frames into its queue; the HTTP layer's SSE writer drains it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
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
  Subscriber(boost::asio::any_io_executor executor, std::size_t queue_capacity)
      : wake_(executor), capacity_(queue_capacity) {}

  std::string id;                                      ///< urn:uuid:<UUIDv4>
  std::vector<std::string> topics;                     ///< requested selectors
  std::optional<std::vector<std::string>> may_see;     ///< mercure.subscribe; nullopt = anonymous
  std::optional<nlohmann::json> payload;               ///< mercure.payload
  std::string remote_addr;

  /// Queues a frame. Returns false (and closes the subscriber) when the queue is full:
  /// a reader that cannot keep up is disconnected and reconnects with Last-Event-ID.
  bool push(Frame frame, Seq seq);

  /// Closes the subscriber: the writer stops, `on_close` runs once (closes the socket).
  void close();
  bool closed() const { return closed_; }

  /// Set by the HTTP layer: aborts the connection (cancels a pending write).
  std::function<void()> on_close;

  /// Set by the HTTP layer once the stream is open: writes a frame to the socket at once
  /// when nothing is queued or in flight, without waking the writer. Returns false when
  /// the frame must be queued instead. The fast path of fan-out: one send per delivery.
  std::function<bool(const Frame&)> try_write_now;

  FrameQueue& queue() { return queue_; }
  std::size_t capacity() const { return capacity_; }
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

 private:
  FrameQueue queue_;
  boost::asio::steady_timer wake_;
  std::size_t capacity_;
  bool closed_ = false;
};

}  // namespace herald
