#include "transport/local/local_transport.hpp"

#include <deque>
#include <list>
#include <mutex>
#include <unordered_map>

#include "config/config.hpp"
#include "transport/local_presence.hpp"

namespace herald {
namespace {

class LocalTransport final : public Transport {
 public:
  explicit LocalTransport(std::size_t size) : size_(size) {}

  Task<Result<Seq>> publish(UpdatePtr update) override {
    std::lock_guard lock(mutex_);
    if (closed_) co_return Errc::closed;
    Stored stored{++last_seq_, std::move(update)};
    last_id_ = stored.update->id;
    if (size_ > 0) {
      ring_.push_back(stored);
      ids_[stored.update->id] = stored.seq;
      while (ring_.size() > size_) {
        auto& old = ring_.front();
        if (auto it = ids_.find(old.update->id); it != ids_.end() && it->second == old.seq) ids_.erase(it);
        ring_.pop_front();
      }
    }
    // Under the lock so every listener sees one order.
    for (auto* l : listeners_) l->on_update(stored);
    co_return stored.seq;
  }

  Task<Result<void>> listen(Listener& listener) override {
    std::lock_guard lock(mutex_);
    listeners_.push_back(&listener);
    co_return Result<void>{};
  }

  Task<Result<Seq>> find(std::string id) override {
    std::lock_guard lock(mutex_);
    if (id == "earliest") co_return ring_.empty() ? last_seq_ : ring_.front().seq - 1;
    // A duplicate custom id resolves to its latest update.
    auto it = ids_.find(id);
    if (it == ids_.end()) co_return Errc::not_found;
    co_return it->second;
  }

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<Stored> out;
    if (ring_.empty() || after >= last_seq_) co_return out;
    Seq first = ring_.front().seq;
    if (after + 1 < first) co_return Errc::not_found;  // trimmed away
    std::size_t start = after < first ? 0 : static_cast<std::size_t>(after - first + 1);
    for (std::size_t i = start; i < ring_.size() && out.size() < limit; ++i) out.push_back(ring_[i]);
    co_return out;
  }

  Task<Result<Seq>> head() override {
    std::lock_guard lock(mutex_);
    co_return last_seq_;
  }

  Task<Result<std::string>> last_event_id() override {
    std::lock_guard lock(mutex_);
    co_return last_id_;
  }

  Task<Result<void>> announce(SubscriberInfo subscriber, bool online) override {
    presence_.announce(std::move(subscriber), online);
    co_return Result<void>{};
  }

  Task<Result<std::vector<SubscriberInfo>>> presence() override { co_return presence_.list(); }

  bool healthy() const override { return true; }

  Task<void> close() override {
    std::lock_guard lock(mutex_);
    closed_ = true;
    listeners_.clear();
    co_return;
  }

 private:
  const std::size_t size_;
  std::mutex mutex_;
  bool closed_ = false;
  Seq last_seq_ = 0;
  std::string last_id_ = "earliest";
  std::deque<Stored> ring_;
  std::unordered_map<std::string, Seq> ids_;
  std::vector<Listener*> listeners_;
  LocalPresence presence_;
};

}  // namespace

std::unique_ptr<Transport> make_local_transport(const boost::urls::url_view& url) {
  std::size_t size = 1000;
  for (auto param : url.params()) {
    if (param.key == "size") {
      const std::string& v = param.value;
      if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
        throw ConfigError("invalid transport_url: size must be a non-negative integer below 10^9");
      size = std::stoul(v);
    } else if (param.key == "bucket_name" || param.key == "cleanup_frequency") {
      // Bolt parameters: accepted so bolt-style URLs copied to local:// do not fail.
    } else {
      throw ConfigError("invalid transport_url: unknown parameter \"" + param.key + "\" for local://");
    }
  }
  return std::make_unique<LocalTransport>(size);
}

}  // namespace herald
