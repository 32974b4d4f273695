#pragma once
// A shard: one event loop (io_context + thread) with its own acceptor and its own
// subscriber index. Nothing in a shard is locked: every method runs on the shard's thread.
// A published update reaches every shard once (Hub::on_update posts it); the shard finds
// the matching subscribers, encodes the SSE frame once, and shares it among them.
//
// Fan-out is coalesced: the updates waiting in the inbox when the shard gets to them are
// dispatched as one batch. Dispatch gathers each subscriber's frames of the batch; then each
// subscriber with frames gets them in one gathered write (the flush), so the kernel's cost
// per write is shared by every frame in it. A lone update is a batch of one, written at once;
// batches grow by themselves while the shard is busy. The flush runs in slices, letting the
// shard's other work (publishers' requests, new subscriptions) in between.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "core/async_event.hpp"
#include "core/errors.hpp"
#include "core/flow_gate.hpp"
#include "core/task.hpp"
#include "hub/subscriber.hpp"
#include "hub/timer_wheel.hpp"
#include "hub/topic_selector.hpp"
#include "model/update.hpp"

namespace herald {

class Backend;

/// What a subscription's history replay found (for the Last-Event-ID response header).
struct ReplayOutcome {
  bool cursor_found = false;  ///< the requested id was in history (or was "earliest")
};

class Shard {
 public:
  /// `gate` counts the records waiting in this shard's inbox (flow control, see FlowGate).
  Shard(unsigned index, const Config& config, FlowGate& gate);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  /// The backend history is read from (before the first subscribe).
  void attach(Backend& backend) { backend_ = &backend; }

  unsigned index() const { return index_; }
  boost::asio::io_context& context() { return context_; }
  TopicMatcher& matcher() { return matcher_; }
  /// The deadlines of this shard's streams (heartbeats, connection ends, write deadlines):
  /// shard thread. It outlives the io_context, so an entry may be cancelled while the
  /// context destroys what still holds it.
  TimerWheel& timers() { return *timers_; }
  const Config& config() const { return config_; }

  /// Registers a subscriber (shard thread). With a cursor, the subscriber starts in replay:
  /// its history is read from the transport page by page (replay_next) at the pace its
  /// client reads; live updates that arrive meanwhile are held (bounded: past the queue
  /// capacity they are dropped and read from the store instead), and once a page comes back
  /// short the held ones past it are queued and the subscriber goes live. Sequence numbers
  /// make the handover exact: no gap, no duplicate, even when a bus delivers an update
  /// before the page read just before it was stored comes back (Redis).
  /// Errc::transport_failure when the backend could not resolve the cursor or its head: the
  /// request fails (the client retries) rather than replay from a wrong place.
  Task<Result<ReplayOutcome>> subscribe(std::shared_ptr<Subscriber> subscriber,
                                        std::optional<std::string> last_event_id);

  /// Queues the next page of a replaying subscriber's history (shard thread). Closes the
  /// subscriber if the history it needs was trimmed meanwhile (it reconnects and is told).
  Task<void> replay_next(std::shared_ptr<Subscriber> subscriber);

  /// Removes a subscriber (shard thread). Idempotent.
  void unsubscribe(const std::shared_ptr<Subscriber>& subscriber);

  /// Delivers one update to the matching subscribers at once, as a batch of its own (shard
  /// thread; a batch still being flushed is finished first). The inbox (enqueue) is the
  /// normal way in; this is for callers that hold the update on the shard's thread.
  void dispatch(const Stored& stored);

  /// Queues an update for this shard from any thread; updates are dispatched in the order
  /// they were enqueued. (A plain post is not enough: Asio runs handlers posted from the
  /// shard's own thread after handlers posted from other threads meanwhile, which would
  /// reorder updates and break the seq-ordered delivery the replay handover relies on.)
  void enqueue(Stored stored);

  /// The delivery rule (hub/authorization.hpp, may_receive).
  bool can_receive(const Subscriber& subscriber, const Update& update);

  std::size_t subscriber_count() const { return all_.size(); }
  /// Set once the shard is stopping and its last subscriber is gone (any thread may wait).
  AsyncEvent& drained() { return drained_; }

  /// Tracks an open connection so shutdown can close it. Returns a handle for untrack.
  std::uint64_t track(std::function<void()> close);
  void untrack(std::uint64_t handle);
  /// Closes up to `n` subscribers (graceful drain); returns how many (shard thread).
  std::size_t close_some(std::size_t n);
  /// Closes every subscriber; they reconnect with their Last-Event-ID (shard thread).
  void disconnect_all();
  /// Closes every subscriber and every tracked connection (shard thread).
  void close_all();
  bool stopping() const { return stopping_; }

 private:
  void index_add(const std::shared_ptr<Subscriber>& s);
  void index_remove(const std::shared_ptr<Subscriber>& s);
  /// A gathered frame: its index in batch_frames_ and the next link of the subscriber's chain.
  struct Link {
    std::uint32_t frame;
    std::uint32_t next;
  };
  void route(const Stored& stored, std::uint32_t frame);
  void deliver(Subscriber& s, const Stored& stored, std::uint32_t frame, bool matched);
  void gather(Subscriber& s, std::uint32_t frame);
  void flush(Subscriber& s);
  void drain();
  void dispatch_batch();
  void flush_slice();
  void complete_flush();
  void finish_batch();

  unsigned index_;
  const Config& config_;
  FlowGate& gate_;
  Backend* backend_ = nullptr;
  AsyncEvent drained_;
  std::unique_ptr<TimerWheel> timers_;  ///< declared before context_: destroyed after it
  boost::asio::io_context context_{1};
  TopicMatcher matcher_;
  std::unordered_set<std::shared_ptr<Subscriber>> all_;
  // Subscribers whose selectors are all exact strings are indexed by topic. Those with
  // templates are indexed by each selector's literal prefix (the text before its first `{`,
  // which every matching topic starts with): an update looks up each prefix length in use,
  // then the match cache decides. Only selectors without a literal prefix (`*`, `{+x}`)
  // are checked for every update.
  std::unordered_map<std::string, std::vector<Subscriber*>> by_topic_;
  std::unordered_map<std::string, std::vector<Subscriber*>> by_prefix_;
  std::map<std::size_t, std::size_t> prefix_lengths_;  ///< prefix length -> prefixes of that length
  std::unordered_set<Subscriber*> patterned_;
  std::string prefix_key_;  ///< reused lookup buffer
  std::uint64_t epoch_ = 0;
  std::uint64_t next_handle_ = 0;
  std::unordered_map<std::uint64_t, std::function<void()>> connections_;
  bool stopping_ = false;
  std::mutex inbox_mutex_;
  std::vector<Stored> inbox_;  ///< guarded by inbox_mutex_
  // The batch being dispatched (shard thread).
  std::vector<Stored> batch_;
  std::vector<Frame> batch_frames_;  ///< batch_[i]'s frame, encoded on its first delivery
  std::vector<Link> links_;
  std::vector<Subscriber*> dirty_;   ///< subscribers with gathered frames; null once flushed or gone
  std::size_t flushed_ = 0;          ///< dirty_ entries handled
  std::size_t batch_deliveries_ = 0;
  std::size_t batch_writes_ = 0;
  std::size_t from_inbox_ = 0;       ///< batch_ entries counted by the gate
  std::uint64_t batch_number_ = 0;
  bool flushing_ = false;            ///< a batch's flush is under way (in slices)
  std::vector<const Frame*> scratch_;
};

}  // namespace herald
