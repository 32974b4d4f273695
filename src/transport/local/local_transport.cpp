#include "transport/local/local_transport.hpp"

#include <algorithm>
#include <deque>
#include <list>
#include <mutex>
#include <unordered_map>

#include "core/config_error.hpp"
#include "transport/local_parts.hpp"

namespace herald {
namespace {

// Updates and subscription events are kept in two rings, each under its own bound, so
// connection churn (events) cannot push updates out of the history. `trimmed_` is the seq up
// to which the updates' ring dropped everything: a reader from before it missed some.
// Publishing hands the record to every listener itself (there is no consumer to pause), so
// flow control holds the publisher: publish() awaits every listener's gate first.
class LocalLog final : public Log {
 public:
  LocalLog(std::size_t size, std::size_t events_size) : size_(size), events_size_(events_size) {}

  LogCapabilities capabilities() const override { return {.resolves_ids = true, .multi_node = false}; }

  Task<Result<Seq>> publish(UpdatePtr update) override {
    std::vector<FlowGate*> gates;
    {
      std::lock_guard lock(mutex_);
      gates = gates_;
    }
    for (auto* gate : gates) co_await gate->wait();
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    Stored stored{++last_seq_, std::move(update)};
    last_id_ = stored.update->id;
    bool event = stored.update->subscription_event;
    std::size_t bound = event ? events_size_ : size_;
    if (size_ == 0) {
      trimmed_ = last_seq_;  // no history at all
    } else if (bound > 0) {
      auto& ring = event ? events_ : ring_;
      ring.push_back(stored);
      ids_[stored.update->id] = stored.seq;
      while (ring.size() > bound) {
        auto& old = ring.front();
        if (auto it = ids_.find(old.update->id); it != ids_.end() && it->second == old.seq) ids_.erase(it);
        if (!event) trimmed_ = old.seq;
        ring.pop_front();
      }
    }
    // Under the lock so every listener sees one order.
    for (auto* l : listeners_) l->on_update(stored);
    co_return stored.seq;
  }

  Task<Result<void>> listen(LogListener& listener, FlowGate& gate) override {
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    listeners_.push_back(&listener);
    gates_.push_back(&gate);
    co_return Result<void>{};
  }

  Task<Result<Seq>> find(std::string id) override {
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    // A duplicate custom id resolves to its latest update.
    auto it = ids_.find(id);
    if (it == ids_.end()) co_return Errc::not_found;
    co_return it->second;
  }

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    std::vector<Stored> out;
    if (after < trimmed_) co_return Errc::not_found;  // trimmed away
    // Merge the two rings (each in seq order) from the first seq past `after`.
    auto past = [after](const std::deque<Stored>& ring) {
      return std::upper_bound(ring.begin(), ring.end(), after, [](Seq s, const Stored& x) { return s < x.seq; });
    };
    auto u = past(ring_), e = past(events_);
    while (out.size() < limit && (u != ring_.end() || e != events_.end())) {
      if (e == events_.end() || (u != ring_.end() && u->seq < e->seq)) out.push_back(*u++);
      else out.push_back(*e++);
    }
    co_return out;
  }

  Task<Result<Seq>> head() override {
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    co_return last_seq_;
  }

  Task<Result<Seq>> earliest() override {
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    co_return trimmed_;
  }

  Task<Result<std::string>> last_event_id() override {
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    co_return last_id_;
  }

  bool healthy() const override { return true; }

  Task<void> close() override {
    std::lock_guard lock(mutex_);
    closed_ = true;
    listeners_.clear();
    gates_.clear();
    co_return;
  }

 private:
  const std::size_t size_;
  const std::size_t events_size_;
  Seq trimmed_ = 0;
  std::deque<Stored> events_;
  std::mutex mutex_;
  bool closed_ = false;
  Seq last_seq_ = 0;
  std::string last_id_ = "earliest";
  std::deque<Stored> ring_;
  std::unordered_map<std::string, Seq> ids_;
  std::vector<LogListener*> listeners_;
  std::vector<FlowGate*> gates_;
};

}  // namespace

Transport make_local_transport(const boost::urls::url_view& url) {
  std::size_t size = 1000, events_size = 1000;
  for (auto param : url.params()) {
    if (param.key == "size" || param.key == "events_size") {
      const std::string& v = param.value;
      if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
        throw ConfigError("invalid transport_url: " + param.key + " must be a non-negative integer below 10^9");
      (param.key == "size" ? size : events_size) = std::stoul(v);
    } else if (param.key == "bucket_name" || param.key == "cleanup_frequency") {
      // Bolt parameters: accepted so bolt-style URLs copied to local:// do not fail.
    } else {
      throw ConfigError("invalid transport_url: unknown parameter \"" + param.key + "\" for local://");
    }
  }
  auto presence = std::make_unique<LocalPresenceRegistry>();
  auto leases = std::make_unique<LocalLeases>(presence->node_id());
  return {std::make_unique<LocalLog>(size, events_size), std::move(presence), std::move(leases), {}};
}

}  // namespace herald
