#include "hub/log_leases.hpp"

#include <nlohmann/json.hpp>

#include "core/uuid.hpp"
#include "transport/node_info.hpp"

namespace herald {
using json = nlohmann::json;
namespace {
constexpr const char* kTopic = "herald:leases";
constexpr auto kApplyTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxOutcomes = 1024;  // answers nobody waits for any more are dropped

std::int64_t ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
}  // namespace

bool LogLeases::is_lease_record(const Update& u) { return u.control && u.topics.size() == 1 && u.topics[0] == kTopic; }

void LogLeases::consume(const Stored& stored) {
  json j = json::parse(stored.update->data, nullptr, false);
  if (j.is_object() && j.value("l", "").size() && j.value("n", "").size()) {
    std::string kind = j.value("k", ""), name = j.value("l", ""), node = j.value("n", "");
    std::int64_t at = j.value("at", std::int64_t(0)), ttl = j.value("ttl", std::int64_t(0));
    std::uint64_t token = j.value("t", std::uint64_t(0));
    std::lock_guard lock(mutex_);
    Held& held = held_[name];
    bool live = !held.holder.empty() && held.expires_at_ms > at;
    std::uint64_t granted = 0;  // the token held after this record; 0: refused
    if (kind == "acq") {
      if (!live) {
        held.token = stored.seq;  // a new grant: a new token
        held.holder = node;
        held.expires_at_ms = at + ttl;
        granted = held.token;
      }
    } else if (kind == "renew") {
      if (live && held.holder == node && held.token == token) {
        held.expires_at_ms = at + ttl;
        granted = token;
      }
    } else if (kind == "rel") {
      if (held.holder == node && held.token == token) held = Held{};
      granted = token;
    }
    if (node == node_id_) {
      outcomes_[stored.seq] = granted;
      while (outcomes_.size() > kMaxOutcomes) outcomes_.erase(outcomes_.begin());
    }
  }
  applied_.advance(stored.seq);
}

Task<Result<std::uint64_t>> LogLeases::append(std::string text) {
  if (closed_) co_return make_error_code(Errc::closed);
  auto u = std::make_shared<Update>();
  u->id = make_urn_uuid_v7();
  u->topics = {kTopic};
  u->data = std::move(text);
  u->is_private = true;
  u->subscription_event = true;  // bounded with the subscription events, apart from updates
  u->control = true;
  auto seq = co_await log_.publish(std::move(u));
  if (!seq) co_return seq.error();
  if (!co_await applied_.wait(*seq, kApplyTimeout)) co_return make_error_code(Errc::transport_failure);
  std::lock_guard lock(mutex_);
  auto it = outcomes_.find(*seq);
  if (it == outcomes_.end()) co_return make_error_code(Errc::transport_failure);
  std::uint64_t granted = it->second;
  outcomes_.erase(it);
  co_return granted;
}

Task<Result<std::optional<Lease>>> LogLeases::acquire(std::string name, Duration ttl) {
  json j{{"k", "acq"}, {"l", name}, {"n", node_id_}, {"ttl", ms(ttl)}, {"at", node_info::unix_ms()}};
  auto token = co_await append(j.dump());
  if (!token) co_return token.error();
  if (*token == 0) co_return std::optional<Lease>{};
  co_return std::optional<Lease>{Lease{std::move(name), *token}};
}

Task<Result<bool>> LogLeases::renew(const Lease& lease, Duration ttl) {
  json j{{"k", "renew"}, {"l", lease.name}, {"n", node_id_}, {"t", lease.token}, {"ttl", ms(ttl)},
         {"at", node_info::unix_ms()}};
  auto token = co_await append(j.dump());
  if (!token) co_return Result<bool>(boost::system::in_place_error, token.error());
  co_return *token != 0;
}

Task<Result<void>> LogLeases::release(const Lease& lease) {
  json j{{"k", "rel"}, {"l", lease.name}, {"n", node_id_}, {"t", lease.token}};
  auto done = co_await append(j.dump());
  if (!done) co_return done.error();
  co_return Result<void>{};
}

Task<Result<std::optional<std::string>>> LogLeases::holder(std::string name) {
  if (closed_) co_return make_error_code(Errc::closed);
  auto head = co_await log_.head();
  if (!head) co_return head.error();
  if (!co_await applied_.wait(*head, kApplyTimeout)) co_return make_error_code(Errc::transport_failure);
  std::lock_guard lock(mutex_);
  auto it = held_.find(name);
  if (it == held_.end() || it->second.holder.empty() || it->second.expires_at_ms <= node_info::unix_ms())
    co_return std::optional<std::string>{};
  co_return std::optional<std::string>{it->second.holder};
}

}  // namespace herald
