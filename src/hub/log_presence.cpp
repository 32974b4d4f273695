#include "hub/log_presence.hpp"

#include <unistd.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "core/logging.hpp"
#include "transport/node_info.hpp"
#include "core/uuid.hpp"

namespace herald {
namespace asio = boost::asio;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace {
constexpr const char* kTopic = "herald:presence";
constexpr auto kReplace = json::error_handler_t::replace;

/// A record {k: kind, n: node[, key: value]}.
std::string record(const char* kind, const std::string& node, const char* key = nullptr, const std::string& value = {}) {
  json j;
  j["k"] = kind;
  j["n"] = node;
  if (key) j[key] = value;
  return j.dump(-1, ' ', false, kReplace);
}

json to_json(const SubscriberInfo& s) { return {{"id", s.id}, {"topics", s.topics}, {"payload", s.payload_json}}; }

std::optional<SubscriberInfo> from_json(const json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) return std::nullopt;
  SubscriberInfo s;
  s.id = j["id"].get<std::string>();
  if (auto t = j.find("topics"); t != j.end() && t->is_array())
    for (const auto& topic : *t)
      if (topic.is_string()) s.topics.push_back(topic.get<std::string>());
  if (auto p = j.find("payload"); p != j.end() && p->is_string()) s.payload_json = p->get<std::string>();
  return s;
}
}  // namespace

LogPresence::LogPresence(Log& log, std::string node_id, Duration ttl, asio::any_io_executor executor)
    : log_(log), node_id_(std::move(node_id)), ttl_(ttl), executor_(executor), timer_(executor) {
  idle_.set();
}

LogPresence::~LogPresence() = default;

bool LogPresence::is_presence_record(const Update& u) {
  return u.control && u.topics.size() == 1 && u.topics[0] == kTopic;
}

void LogPresence::start() {
  started_ = true;
  asio::co_spawn(executor_, beat_loop(), asio::detached);
}

void LogPresence::watch(PresenceListener& listener) { listener_ = &listener; }

void LogPresence::describe_node(std::string address) {
  std::lock_guard lock(mutex_);
  address_ = std::move(address);
}

std::string LogPresence::snapshot_json() {
  std::lock_guard lock(own_mutex_);
  json subs = json::array();
  for (const auto& s : own_.list()) subs.push_back(to_json(s));
  return json{{"k", "snap"}, {"n", node_id_}, {"v", own_version_}, {"subs", std::move(subs)}}.dump(-1, ' ', false,
                                                                                                  kReplace);
}

void LogPresence::publish_snapshot_detached() {
  if (closed_) return;
  {
    std::lock_guard lock(mutex_);
    if (in_flight_++ == 0) idle_.reset();
  }
  asio::co_spawn(executor_, append_snapshot(), [this](std::exception_ptr, Result<Seq>) {
    std::lock_guard lock(mutex_);
    if (--in_flight_ == 0) idle_.set();
  });
}

Task<Result<Seq>> LogPresence::append_snapshot() { co_return co_await append(snapshot_json()); }

std::vector<SubscriberInfo> LogPresence::online(const Node& node) {
  std::vector<const Entry*> entries;
  for (const auto& [id, e] : node.subscribers)
    if (e.online) entries.push_back(&e);
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) { return a->version < b->version; });
  std::vector<SubscriberInfo> out;
  for (const auto* e : entries) out.push_back(e->info);
  return out;
}

Task<Result<Seq>> LogPresence::append(std::string text) {
  auto u = std::make_shared<Update>();
  u->id = make_urn_uuid_v7();
  u->topics = {kTopic};
  u->data = std::move(text);
  u->is_private = true;
  u->subscription_event = true;  // bounded with the subscription events, apart from updates
  u->control = true;
  co_return co_await log_.publish(std::move(u));
}

Task<void> LogPresence::await_consumed(Seq seq) { co_await consumed_.wait(seq, std::chrono::seconds(5)); }

Task<Result<void>> LogPresence::announce(SubscriberInfo subscriber, bool online) {
  if (closed_) co_return make_error_code(Errc::closed);
  json record;
  {
    std::lock_guard lock(own_mutex_);
    std::uint64_t v = ++own_version_;
    record = online ? json{{"k", "on"}, {"n", node_id_}, {"v", v}, {"s", to_json(subscriber)}}
                    : json{{"k", "off"}, {"n", node_id_}, {"v", v}, {"i", subscriber.id}};
    own_.announce(std::move(subscriber), online);
  }
  auto seq = co_await append(record.dump(-1, ' ', false, kReplace));
  if (!seq) co_return seq.error();
  co_await await_consumed(*seq);
  co_return Result<void>{};
}

Task<Result<std::vector<SubscriberInfo>>> LogPresence::list() {
  if (closed_) co_return make_error_code(Errc::closed);
  // Read up to the log's head first: a subscriber announced on another node (its record
  // acknowledged) is listed here too.
  auto head = co_await log_.head();
  if (!head) co_return head.error();
  if (!co_await consumed_.wait(*head, std::chrono::seconds(5))) co_return make_error_code(Errc::transport_failure);
  std::lock_guard lock(mutex_);
  std::vector<SubscriberInfo> out;
  for (auto& [id, node] : nodes_)  // node-id order: the same on every node, whenever it joined
    for (auto& s : online(node)) out.push_back(std::move(s));
  co_return out;
}

Task<Result<std::vector<NodeInfo>>> LogPresence::nodes() {
  if (closed_) co_return make_error_code(Errc::closed);
  std::vector<NodeInfo> out;
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  for (auto& [id, node] : nodes_) {
    if (node.last_heartbeat_ms == 0) continue;  // no beat read yet
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - node.last_seen).count();
    auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(ttl_).count();
    if (age > 2 * ttl) continue;  // long gone: its `gone` record removes it
    NodeInfo info{id, node.address, node.host, node.pid, node.started_at_ms, node.last_heartbeat_ms,
                  online(node).size()};
    info.delivered = node.delivered;
    info.draining = node.draining;
    info.state = node_state(age, ttl);
    out.push_back(std::move(info));
  }
  co_return out;
}

void LogPresence::consume(const Stored& stored) {
  json j = json::parse(stored.update->data, nullptr, false);
  std::vector<SubscriberInfo> lost;
  bool restore = false, answer = false;
  if (j.is_object() && j.value("k", "").size() && j.contains("n") && j["n"].is_string()) {
    std::string kind = j.value("k", ""), node = j["n"].get<std::string>();
    std::lock_guard lock(mutex_);
    auto seen = [&](const std::string& id) -> Node& {
      auto it = nodes_.try_emplace(id).first;
      it->second.last_seen = Clock::now();
      return it->second;
    };
    if (kind == "gone") {
      std::string by = j.value("by", "");
      if (auto it = nodes_.find(node); it != nodes_.end()) {
        // The first `gone` for the node counts; its writer announces the node's subscribers.
        if (by == node_id_ && node != node_id_) lost = online(it->second);
        nodes_.erase(it);
      }
      restore = node == node_id_ && by != node_id_;
      if (!by.empty()) seen(by);
    } else {
      Node& n = seen(node);
      if (kind == "hello") {
        answer = node != node_id_;
      } else if (kind == "on" || kind == "off") {
        // The newest version of a subscriber wins, whatever order records of it arrive in.
        std::uint64_t v = j.value("v", std::uint64_t(0));
        std::optional<SubscriberInfo> s =
            kind == "on" ? from_json(j.value("s", json())) : SubscriberInfo{j.value("i", ""), {}, {}};
        if (s) {
          Entry& e = n.subscribers[s->id];
          if (v >= e.version) e = {std::move(*s), v, kind == "on"};
        }
      } else if (kind == "beat") {
        n.address = j.value("a", "");
        n.host = j.value("h", "");
        n.pid = j.value("p", 0L);
        n.started_at_ms = j.value("t", std::int64_t(0));
        n.delivered = j.value("d", std::uint64_t(0));
        n.draining = j.value("x", false);
        n.last_heartbeat_ms = node_info::unix_ms();
      } else if (kind == "snap") {
        // The node's whole list at version V: what it set later (version > V) stays.
        std::uint64_t v = j.value("v", std::uint64_t(0));
        std::map<std::string, Entry> next;
        for (auto& [id, e] : n.subscribers)
          if (e.version > v) next.emplace(id, std::move(e));
        if (auto subs = j.find("subs"); subs != j.end() && subs->is_array())
          for (const auto& item : *subs)
            if (auto info = from_json(item)) next.try_emplace(info->id, Entry{*info, v, true});
        n.subscribers = std::move(next);
      }
    }
  }
  consumed_.advance(stored.seq);
  if (answer || restore) {
    if (restore) logger("presence")->warn("presence_restored node={} reason=\"another node found it silent\"", node_id_);
    publish_snapshot_detached();
  }
  if (!lost.empty() && listener_) {
    logger("presence")->warn("node_expired subscribers={}", lost.size());
    listener_->on_subscribers_lost(std::move(lost));
  }
}

Task<void> LogPresence::beat_loop() {
  co_await append(record("hello", node_id_));
  while (!closed_) {
    std::string address;
    std::vector<std::string> silent;
    {
      std::lock_guard lock(mutex_);
      address = address_;
      auto now = Clock::now();
      for (auto& [id, node] : nodes_) {
        if (id == node_id_ || node.gone_sent || now - node.last_seen <= ttl_) continue;
        node.gone_sent = true;
        silent.push_back(id);
      }
    }
    json beat{{"k", "beat"}, {"n", node_id_}, {"a", address}, {"h", host_}, {"p", long(::getpid())},
              {"t", started_at_ms_}, {"d", report_.delivered.load()}, {"x", report_.draining.load()}};
    co_await append(beat.dump(-1, ' ', false, kReplace));
    for (const auto& id : silent) co_await append(record("gone", id, "by", node_id_));
    if (closed_) break;
    timer_.expires_after(ttl_ / 3);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  loop_done_.set();
}

Task<void> LogPresence::close() {
  if (closed_.exchange(true)) co_return;
  if (started_) {
    asio::post(executor_, [this] { timer_.cancel(); });
    co_await loop_done_.wait_for(std::chrono::seconds(5));
    // Leave at once rather than after ttl (best effort).
    co_await append(record("gone", node_id_, "by", node_id_));
  }
  co_await idle_.wait_for(std::chrono::seconds(5));
}

}  // namespace herald
