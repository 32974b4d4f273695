#include "hub/shard.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "hub/sse_encoder.hpp"
#include "hub/authorization.hpp"
#include "hub/backend.hpp"

namespace herald {
namespace {
constexpr std::size_t kReplayPage = 1000;
/// Updates taken from the inbox into one batch: bounds the frames gathered per subscriber
/// (and the batch's bookkeeping) while still sharing a write among many frames.
constexpr std::size_t kMaxBatch = 256;
/// How long a flush runs before the shard's other work (publishers waiting for their
/// answers, new subscriptions) may run.
constexpr auto kFlushSlice = std::chrono::microseconds(200);

bool all_exact(const std::vector<std::string>& selectors) {
  for (const auto& s : selectors)
    if (!is_exact_selector(s)) return false;
  return true;
}

/// The distinct literal prefixes of a subscriber's selectors (an exact selector is its own
/// prefix); empty when some selector has none (`*`, or a template starting with `{`).
std::vector<std::string> literal_prefixes(const std::vector<std::string>& selectors) {
  std::vector<std::string> out;
  for (const auto& s : selectors) {
    std::string prefix = s == "*" ? std::string() : s.substr(0, s.find('{'));
    if (prefix.empty()) return {};
    if (std::find(out.begin(), out.end(), prefix) == out.end()) out.push_back(std::move(prefix));
  }
  return out;
}

void erase_one(std::vector<Subscriber*>& v, Subscriber* s) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == s) {
      v[i] = v.back();
      v.pop_back();
      return;
    }
  }
}
}  // namespace

namespace {
/// The shortest period a stream waits for (heartbeat, dispatch_timeout, write_timeout): the
/// wheel's tick is a fraction of it.
Duration shortest_stream_period(const Config& config) {
  Duration shortest = std::chrono::seconds(5);
  for (Duration d : {config.heartbeat_interval, config.dispatch_timeout, config.write_timeout})
    if (d > Duration::zero()) shortest = std::min(shortest, d);
  return shortest;
}
}  // namespace

Shard::Shard(unsigned index, const Config& config, FlowGate& gate)
    : index_(index), config_(config), gate_(gate), matcher_(config.topic_selector_cache) {
  timers_ = std::make_unique<TimerWheel>(context_.get_executor(),
                                         TimerWheel::resolution_for(shortest_stream_period(config)));
}

Shard::~Shard() { timers_->stop(); }  // its timer goes before the io_context; the wheel after

bool Shard::can_receive(const Subscriber& s, const Update& u) { return may_receive(matcher_, s, u); }

void Shard::index_add(const std::shared_ptr<Subscriber>& s) {
  if (!all_.insert(s).second) return;
  metrics().subscribers_connected.add(1);
  metrics().subscribers_total.inc();
  if (all_exact(s->topics)) {
    for (const auto& t : s->topics) by_topic_[t].push_back(s.get());
    return;
  }
  auto prefixes = literal_prefixes(s->topics);
  if (prefixes.empty()) {
    patterned_.insert(s.get());
    return;
  }
  for (auto& p : prefixes) {
    auto& v = by_prefix_[p];
    if (v.empty()) ++prefix_lengths_[p.size()];
    v.push_back(s.get());
  }
}

void Shard::index_remove(const std::shared_ptr<Subscriber>& s) {
  if (all_.erase(s) == 0) return;
  if (s->dirty_slot != Subscriber::kNotGathered) {  // gone before the batch's flush reached it
    dirty_[s->dirty_slot] = nullptr;
    s->dirty_slot = Subscriber::kNotGathered;
    s->gathered = 0;
  }
  metrics().subscribers_connected.add(-1);
  if (patterned_.erase(s.get()) > 0) return;
  if (all_exact(s->topics)) {
    for (const auto& t : s->topics) {
      auto it = by_topic_.find(t);
      if (it == by_topic_.end()) continue;
      erase_one(it->second, s.get());
      if (it->second.empty()) by_topic_.erase(it);
    }
    return;
  }
  for (const auto& p : literal_prefixes(s->topics)) {
    auto it = by_prefix_.find(p);
    if (it == by_prefix_.end()) continue;
    erase_one(it->second, s.get());
    if (!it->second.empty()) continue;
    by_prefix_.erase(it);
    if (auto len = prefix_lengths_.find(p.size()); len != prefix_lengths_.end() && --len->second == 0)
      prefix_lengths_.erase(len);
  }
}

Task<Result<ReplayOutcome>> Shard::subscribe(std::shared_ptr<Subscriber> s, std::optional<std::string> cursor) {
  ReplayOutcome out;
  if (!cursor) {
    index_add(s);
    co_return out;
  }
  // Resolve the cursor before registering. For an unknown id, start from the newest update
  // stored now: what was published before the subscription began is not replayed. A backend
  // that cannot answer fails the request: taking that for "unknown" would skip history, and
  // replaying from 0 would resend it.
  auto found = co_await backend_->find(*cursor);
  if (!found && found.error() != make_error_code(Errc::not_found)) co_return found.error();
  Seq start = 0;
  if (found) {
    out.cursor_found = true;
    start = *found;
  } else {
    auto head = co_await backend_->head();
    if (!head) co_return head.error();
    start = *head;
  }
  if (s->closed()) co_return out;  // the client went away meanwhile
  s->last_seq = std::max(s->last_seq, start);
  s->replaying = true;
  metrics().replays.inc();
  index_add(s);
  co_await replay_next(s);
  co_return out;
}

Task<void> Shard::replay_next(std::shared_ptr<Subscriber> s) {
  if (!s->replaying || s->closed()) co_return;
  auto page = co_await backend_->read_after(s->last_seq, kReplayPage);
  if (s->closed()) co_return;  // closed meanwhile: nothing may be queued for it
  if (!page) {
    logger("hub")->info("replay_interrupted subscriber={} reason=\"{}\"", s->id.urn(),
                        page.error() == make_error_code(Errc::not_found) ? "history trimmed during replay"
                                                                          : page.error().message());
    s->close();
    co_return;
  }
  for (const auto& st : *page) {
    if (st.seq <= s->last_seq) continue;
    s->last_seq = st.seq;
    if (can_receive(*s, *st.update)) {
      s->queue().push_back(std::make_shared<const std::string>(encode_sse(*st.update)));
      metrics().replayed_updates.inc();
    }
  }
  // A short page proves the store had nothing newer when it was read: anything stored later
  // reached (or will reach) this shard as a live update, after the subscriber was registered.
  // Those that came during the replay are held; they continue the history past its last seq.
  if (page->size() < kReplayPage) {
    if (s->held_overflow) {
      s->held_overflow = false;  // some were dropped: read them from the store first
    } else {
      s->replaying = false;
      for (auto& [seq, frame] : s->held) {
        if (seq <= s->last_seq) continue;
        s->last_seq = seq;
        s->queue().push_back(std::move(frame));
      }
      std::vector<std::pair<Seq, Frame>>().swap(s->held);
    }
  }
  if (s->sink) s->sink->wake();
}

void Shard::unsubscribe(const std::shared_ptr<Subscriber>& s) {
  index_remove(s);
  if (stopping_ && all_.empty()) drained_.set();
}

void Shard::route(const Stored& stored, std::uint32_t frame) {
  ++epoch_;
  // Found through the exact-topic index: a selector equals one of the topics, so only the
  // rest of the delivery rule is checked.
  auto visit = [&](const std::vector<Subscriber*>& subscribers, bool matched) {
    for (Subscriber* s : subscribers) {
      if (s->visit_epoch == epoch_) continue;
      s->visit_epoch = epoch_;
      deliver(*s, stored, frame, matched);
    }
  };
  for (const auto& topic : stored.update->topics) {
    if (auto it = by_topic_.find(topic); it != by_topic_.end()) visit(it->second, true);
    for (const auto& [length, count] : prefix_lengths_) {
      if (length > topic.size()) break;
      prefix_key_.assign(topic, 0, length);
      if (auto it = by_prefix_.find(prefix_key_); it != by_prefix_.end()) visit(it->second, false);
    }
  }
  for (Subscriber* s : patterned_) {
    if (s->visit_epoch == epoch_) continue;
    s->visit_epoch = epoch_;
    deliver(*s, stored, frame, false);
  }
}

void Shard::deliver(Subscriber& s, const Stored& stored, std::uint32_t frame, bool matched) {
  // An update may reach the shard after the replay already sent it (it was posted to this
  // shard before the subscriber registered): seq order makes that check exact.
  if (s.closed() || stored.seq <= s.last_seq) return;
  if (matched ? !may_receive_matched(matcher_, s, *stored.update) : !can_receive(s, *stored.update)) return;
  Frame& encoded = batch_frames_[frame];
  if (!encoded) encoded = std::make_shared<const std::string>(encode_sse(*stored.update));
  if (s.replaying) {
    if (s.held_overflow) return;
    if (s.held.size() >= s.capacity()) {
      s.held_overflow = true;
      std::vector<std::pair<Seq, Frame>>().swap(s.held);
      return;
    }
    s.held.emplace_back(stored.seq, encoded);
    return;
  }
  s.last_seq = stored.seq;
  ++batch_deliveries_;
  gather(s, frame);
}

void Shard::gather(Subscriber& s, std::uint32_t frame) {
  if (s.gathered == 0 && !s.queue().empty()) {
    s.push(batch_frames_[frame]);  // the writer is behind: the frame waits behind the queued ones
    return;
  }
  auto link = static_cast<std::uint32_t>(links_.size());
  links_.push_back({frame, Subscriber::kNotGathered});
  if (s.gathered == 0) {
    s.gathered_head = link;
    s.dirty_slot = static_cast<std::uint32_t>(dirty_.size());
    dirty_.push_back(&s);
  } else {
    links_[s.gathered_tail].next = link;
  }
  s.gathered_tail = link;
  ++s.gathered;
}

void Shard::flush(Subscriber& s) {
  dirty_[s.dirty_slot] = nullptr;
  s.dirty_slot = Subscriber::kNotGathered;
  scratch_.clear();
  for (std::uint32_t i = s.gathered_head, n = s.gathered; n > 0; --n, i = links_[i].next)
    scratch_.push_back(&batch_frames_[links_[i].frame]);
  s.gathered = 0;
  if (s.closed()) return;
  std::size_t taken = s.sink && s.open && s.queue().empty() ? s.sink->write_now(scratch_) : 0;
  if (taken > 0) ++batch_writes_;
  for (std::size_t i = taken; i < scratch_.size(); ++i)
    if (!s.push(*scratch_[i])) break;
}

void Shard::dispatch(const Stored& stored) {
  if (flushing_) complete_flush();
  batch_.push_back(stored);
  from_inbox_ = 0;
  dispatch_batch();
  complete_flush();
}

void Shard::enqueue(Stored stored) {
  bool was_empty;
  {
    std::lock_guard lock(inbox_mutex_);
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(stored));
  }
  gate_.add(1);
  if (!was_empty) return;  // a drain is already on its way and will take this one too
  boost::asio::post(context_, [this] { drain(); });
}

void Shard::drain() {
  if (flushing_) return;  // the batch under way drains again when it is done
  {
    std::lock_guard lock(inbox_mutex_);
    if (inbox_.size() <= kMaxBatch) {
      batch_.swap(inbox_);
    } else {
      auto split = inbox_.begin() + static_cast<std::ptrdiff_t>(kMaxBatch);
      batch_.assign(std::make_move_iterator(inbox_.begin()), std::make_move_iterator(split));
      inbox_.erase(inbox_.begin(), split);
    }
  }
  if (batch_.empty()) return;
  from_inbox_ = batch_.size();
  dispatch_batch();
  flush_slice();
}

void Shard::dispatch_batch() {
  batch_frames_.resize(batch_.size());
  for (std::size_t i = 0; i < batch_.size(); ++i) route(batch_[i], static_cast<std::uint32_t>(i));
  flushing_ = true;
  flushed_ = 0;
  ++batch_number_;
}

void Shard::flush_slice() {
  auto until = std::chrono::steady_clock::now() + kFlushSlice;
  for (std::size_t n = 1; flushed_ < dirty_.size(); ++n) {
    if (Subscriber* s = dirty_[flushed_]) flush(*s);
    ++flushed_;
    if (n % 16 == 0 && std::chrono::steady_clock::now() >= until) break;
  }
  if (flushed_ < dirty_.size()) {
    // Let the shard's other work in before the next slice (publishers wait for answers).
    boost::asio::post(context_, [this, number = batch_number_] {
      if (flushing_ && number == batch_number_) flush_slice();
    });
    return;
  }
  finish_batch();
}

void Shard::complete_flush() {
  for (; flushed_ < dirty_.size(); ++flushed_)
    if (Subscriber* s = dirty_[flushed_]) flush(*s);
  finish_batch();
}

void Shard::finish_batch() {
  metrics().deliveries.inc(batch_deliveries_);
  metrics().fanout_batches.inc();
  metrics().fanout_writes.inc(batch_writes_);
  batch_writes_ = 0;
  // Written (the fast path) or queued for every matching subscriber of this shard.
  auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < batch_.size(); ++i)
    if (batch_frames_[i] && batch_[i].received != std::chrono::steady_clock::time_point{})
      metrics().publish_to_write_seconds.observe(now - batch_[i].received);
  gate_.remove(from_inbox_);
  from_inbox_ = 0;
  batch_deliveries_ = 0;
  batch_.clear();
  batch_frames_.clear();
  links_.clear();
  dirty_.clear();
  flushing_ = false;
  bool more;
  {
    std::lock_guard lock(inbox_mutex_);
    more = !inbox_.empty();
  }
  if (more) boost::asio::post(context_, [this] { drain(); });
}

std::uint64_t Shard::track(std::function<void()> close) {
  auto handle = ++next_handle_;
  connections_.emplace(handle, std::move(close));
  return handle;
}

void Shard::untrack(std::uint64_t handle) { connections_.erase(handle); }

std::size_t Shard::close_some(std::size_t n) {
  std::vector<std::shared_ptr<Subscriber>> picked;
  for (const auto& s : all_) {
    if (picked.size() >= n) break;
    if (!s->closed()) picked.push_back(s);
  }
  for (const auto& s : picked) s->close();
  return picked.size();
}

void Shard::disconnect_all() {
  auto subscribers = all_;
  for (const auto& s : subscribers) s->close();
}

void Shard::close_all() {
  stopping_ = true;
  disconnect_all();
  if (all_.empty()) drained_.set();
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [_, close] : connections) close();
}

}  // namespace herald
