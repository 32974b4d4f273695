#include "hub/backend.hpp"

#include <unistd.h>

#include <filesystem>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "core/logging.hpp"
#include "core/uuid.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {
constexpr std::size_t kCatchUpPage = 1000;
constexpr std::size_t kPruneEvery = 4096;
}  // namespace

Backend::Backend(Transport transport, BackendOptions options, asio::any_io_executor executor)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      executor_(executor),
      capabilities_(transport_.log->capabilities()),
      // The engine's registry names this node; without one, the transport's id (its leases'
      // owner) or a new one, which the log-carried presence uses.
      node_id_(transport_.presence           ? transport_.presence->node_id()
               : !transport_.node_id.empty() ? transport_.node_id
                                             : make_urn_uuid_v4().substr(9)) {
  catch_up_done_.set();
  if (!capabilities_.resolves_ids) {
    std::string path = options_.index_path;
    if (path.empty()) {
      temporary_index_ = (std::filesystem::temp_directory_path() / ("herald-index-" + node_id_)).string();
      path = temporary_index_;
    }
    index_ = std::make_unique<IdIndex>(path);
  }
  if (transport_.presence) {
    presence_ = transport_.presence.get();
  } else {
    if (transport_.presence_ttl > Duration::zero()) options_.presence_ttl = transport_.presence_ttl;
    log_presence_ = std::make_unique<LogPresence>(*transport_.log, node_id_, options_.presence_ttl, executor_);
    presence_ = log_presence_.get();
  }
  presence_->watch(*this);
  if (transport_.leases) {
    leases_ = transport_.leases.get();
  } else {
    log_leases_ = std::make_unique<LogLeases>(*transport_.log, node_id_);
    leases_ = log_leases_.get();
  }
  auto jobs = transport_.log->jobs();
  for (auto& job : presence_->jobs()) jobs.push_back(std::move(job));
  jobs_ = std::make_unique<ClusterJobs>(*leases_, std::move(jobs), executor_);
}

Backend::~Backend() {
  if (!temporary_index_.empty()) {
    index_.reset();
    std::error_code ec;
    std::filesystem::remove_all(temporary_index_, ec);
  }
}

Task<Result<void>> Backend::listen(Listener& listener, FlowGate& gate) {
  listener_ = &listener;
  auto r = co_await transport_.log->listen(*this, gate);
  if (!r) co_return r;
  if (index_ || log_presence_) {
    auto caught = co_await catch_up();
    if (!caught && caught.error() != make_error_code(Errc::transport_failure)) co_return caught;
    if (!caught) {
      // The engine is not reachable yet: the node starts unhealthy, and catches up once it is
      // (until then find() answers transport_failure, so clients retry).
      logger("id_index")->warn("id_index_catch_up_deferred reason=\"engine unreachable\"");
      catch_up_done_.reset();
      asio::co_spawn(executor_, retry_catch_up(), asio::detached);
    }
  }
  if (log_presence_) log_presence_->start();
  jobs_->start();
  co_return Result<void>{};
}

/// Reads what the log retains past what the index holds: indexes it, and finds the newest
/// update's id (the log's last record may be a control record). Live records (delivered from
/// the head of the listen() call on) are indexed meanwhile; the newest seq of an id wins.
Task<Result<void>> Backend::catch_up() {
  auto head = co_await transport_.log->head();
  auto first = co_await transport_.log->earliest();
  if (!head || !first) co_return head ? first.error() : head.error();
  if (index_) index_->forget_through(*first);
  // Without an index to advance, the scan is only for the newest update's id: from the start
  // of what is retained (a node restarting with a durable index skips what it already read,
  // and then knows the newest id only once one is delivered or found in that rest).
  Seq from = index_ ? std::max(index_->indexed_through(), *first) : *first;
  std::size_t indexed = 0;
  while (from < *head) {
    auto page = co_await transport_.log->read_after(from, kCatchUpPage);
    if (!page && page.error() == make_error_code(Errc::not_found)) {  // trimmed meanwhile
      auto again = co_await transport_.log->earliest();
      if (!again) co_return again.error();
      from = std::max(from, *again);
      continue;
    }
    if (!page) co_return page.error();
    if (page->empty()) break;
    for (const auto& stored : *page) {
      if (stored.seq > *head) break;
      if (stored.update->control) continue;
      if (index_) index_->record(stored.update->id, stored.seq, false);
      if (log_presence_) note_update_id(stored.seq, stored.update->id);
      ++indexed;
    }
    from = page->back().seq;
  }
  caught_up_ = true;
  if (!index_) co_return Result<void>{};
  index_->advance_to(std::max(*head, delivered_.load()));
  logger("id_index")->info("id_index_ready records_read={} indexed_through={}", indexed, index_->indexed_through());
  co_return Result<void>{};
}

Task<void> Backend::retry_catch_up() {
  while (!closed_) {
    co_await closing_.wait_for(std::chrono::seconds(1));
    if (closed_) break;
    auto caught = co_await catch_up();
    if (caught) break;
  }
  catch_up_done_.set();
}

Task<void> Backend::prune_index() {
  auto first = co_await transport_.log->earliest();
  if (first && index_) index_->forget_through(*first);
}

void Backend::on_update(Stored stored) noexcept {
  delivered_ = stored.seq;
  const Update& u = *stored.update;
  if (log_presence_ && !u.control) note_update_id(stored.seq, u.id);  // only there is the log's last id not it
  if (index_) {
    if (!u.control && !u.id.empty()) index_->record(u.id, stored.seq, caught_up_.load());
    else if (caught_up_.load()) index_->advance_to(stored.seq);
    if (++since_prune_ >= kPruneEvery && !closed_) {
      since_prune_ = 0;
      asio::co_spawn(executor_, prune_index(), asio::detached);
    }
  }
  if (log_leases_) {
    if (LogLeases::is_lease_record(u)) {
      if (log_presence_) log_presence_->passed(stored.seq);
      log_leases_->consume(stored);
      return;
    }
    log_leases_->passed(stored.seq);
  }
  if (log_presence_) {
    if (LogPresence::is_presence_record(u)) {
      log_presence_->consume(stored);
      return;
    }
    log_presence_->passed(stored.seq);
  }
  if (u.control || !listener_) return;
  listener_->on_update(std::move(stored));
}

void Backend::on_error(boost::system::error_code ec) noexcept {
  if (listener_) listener_->on_error(ec);
}

void Backend::on_gap() noexcept {
  if (listener_) listener_->on_gap();
}

void Backend::on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept {
  if (listener_) listener_->on_subscribers_lost(std::move(subscribers));
}

Task<Result<Seq>> Backend::publish(UpdatePtr update) { return transport_.log->publish(std::move(update)); }

Task<Result<Seq>> Backend::find(std::string id) {
  if (id == "earliest") co_return co_await transport_.log->earliest();
  if (!index_) co_return co_await transport_.log->find(std::move(id));
  if (closed_) co_return make_error_code(Errc::closed);
  if (!caught_up_) co_return make_error_code(Errc::transport_failure);  // not all of the log is indexed yet
  auto seq = index_->find(id);
  if (!seq) co_return make_error_code(Errc::not_found);
  auto first = co_await transport_.log->earliest();
  if (!first) co_return first.error();
  if (*seq <= *first) co_return make_error_code(Errc::not_found);  // retention removed it
  co_return *seq;
}

Task<Result<std::vector<Stored>>> Backend::read_after(Seq after, std::size_t limit) {
  return transport_.log->read_after(after, limit);
}

Task<Result<Seq>> Backend::head() { return transport_.log->head(); }
Task<Result<Seq>> Backend::earliest() { return transport_.log->earliest(); }
Task<Result<std::string>> Backend::last_event_id() {
  if (!log_presence_) co_return co_await transport_.log->last_event_id();
  if (closed_) co_return make_error_code(Errc::closed);
  // The log's last record may be presence: the newest update this node read.
  std::lock_guard lock(last_mutex_);
  co_return last_update_.second;
}

void Backend::note_update_id(Seq seq, const std::string& id) {
  std::lock_guard lock(last_mutex_);
  if (seq > last_update_.first) last_update_ = {seq, id};
}

Task<Result<void>> Backend::announce(SubscriberInfo subscriber, bool online) {
  return presence_->announce(std::move(subscriber), online);
}

Task<Result<std::vector<SubscriberInfo>>> Backend::presence() { return presence_->list(); }

Task<Result<std::vector<NodeInfo>>> Backend::nodes() { return presence_->nodes(); }

void Backend::describe_node(std::string address) { presence_->describe_node(std::move(address)); }

void Backend::report(std::uint64_t delivered, bool draining) { presence_->report(delivered, draining); }

Task<Result<std::vector<std::pair<std::string, std::optional<std::string>>>>> Backend::job_holders() {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (auto& name : jobs_->names()) {
    auto holder = co_await leases_->holder(name);
    if (!holder) co_return holder.error();
    out.emplace_back(name, std::move(*holder));
  }
  co_return out;
}

Task<Result<void>> Backend::reset_presence() { return presence_->reset(); }

Task<void> Backend::close() {
  if (closed_.exchange(true)) co_return;
  closing_.set();
  co_await catch_up_done_.wait_for(std::chrono::seconds(10));
  co_await jobs_->stop();
  if (log_leases_) log_leases_->close();
  co_await presence_->close();
  co_await transport_.log->close();
}

}  // namespace herald
