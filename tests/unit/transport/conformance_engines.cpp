#include "transport/conformance_engines.hpp"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <stdexcept>

#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>

#include "core/uuid.hpp"
#include "support/kafka_broker.hpp"
#include "support/pg_server.hpp"
#include "support/redis_server.hpp"
#include "support/run_task.hpp"
#include "support/shared_log.hpp"

namespace herald::test {
namespace {

std::string resp(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

class LocalEngine final : public Engine {
 public:
  std::string name() const override { return "local"; }
  bool multi_node() const override { return false; }
  void fresh(std::size_t retention) override { size_ = retention ? retention : 100000; }
  Transport node() override { return make_transport("local://?size=" + std::to_string(size_)); }

 private:
  std::size_t size_ = 100000;
};

class LmdbEngine final : public Engine {
 public:
  std::string name() const override { return "lmdb"; }
  bool multi_node() const override { return false; }
  void fresh(std::size_t retention) override {
    static int n = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-kit-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(dir_);
    query_ = "?sync=none" + (retention ? "&size=" + std::to_string(retention) : std::string());
  }
  ~LmdbEngine() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  Transport node() override { return make_transport("lmdb://" + dir_.string() + query_); }

 private:
  std::filesystem::path dir_;
  std::string query_;
};

class RedisEngine final : public Engine {
 public:
  std::string name() const override { return "redis"; }
  bool multi_node() const override { return true; }
  bool consumer_lags() const override { return true; }
  bool can_restart() const override { return true; }
  bool can_force_gap() const override { return true; }
  bool can_plant_dead_node() const override { return true; }
  void fresh(std::size_t retention) override {
    static int n = 0;
    stream_ = "kit-" + std::to_string(n++);
    query_ = "?presence_ttl=1s" + (retention ? "&max_len_approx=" + std::to_string(retention) : std::string());
  }
  Transport node() override { return make_transport(server().url(stream_) + query_); }
  void force_gap() override { server().raw_command(resp({"INCRBY", stream_ + ":seq", "3"})); }
  void plant_dead_node(const std::vector<SubscriberInfo>& subscribers) override {
    std::vector<std::string> hset{"HSET", stream_ + ":subs:dead-" + stream_};
    for (const auto& s : subscribers) {
      hset.push_back(s.id);
      hset.push_back(nlohmann::json{{"id", s.id}, {"topics", s.topics}, {"payload", s.payload_json}}.dump());
    }
    server().raw_command(resp(hset));
    server().raw_command(resp({"ZADD", stream_ + ":nodes", "1", "dead-" + stream_}));
  }
  void kill() override { server().stop(true); }
  void restart() override { server().start(); }

 private:
  static RedisServer& server() {
    static RedisServer s;  // one per test binary
    return s;
  }
  std::string stream_;
  std::string query_;
};

class PostgresEngine final : public Engine {
 public:
  std::string name() const override { return "postgres"; }
  bool multi_node() const override { return true; }
  bool consumer_lags() const override { return true; }
  bool can_restart() const override { return true; }
  bool can_force_gap() const override { return true; }
  bool can_plant_dead_node() const override { return true; }
  void fresh(std::size_t retention) override {
    static int n = 0;
    table_ = "kit" + std::to_string(n++);
    query_ = "?table=" + table_ + "&presence_ttl=1s&poll_interval=200ms" +
             (retention ? "&size=" + std::to_string(retention) : std::string());
  }
  Transport node() override { return make_transport(server().url(query_)); }
  void force_gap() override { server().sql("UPDATE " + table_ + "_head SET seq = seq + 3, trimmed = seq + 3"); }
  void plant_dead_node(const std::vector<SubscriberInfo>& subscribers) override {
    // One transaction (a multi-statement query), subscribers first: a reaper running
    // meanwhile must find the dead node whole, as a real node's rows would be.
    std::string node = "dead-" + table_;
    std::string sql;
    for (const auto& s : subscribers)
      sql += "INSERT INTO " + table_ + "_subscribers (node, id, topics, payload) VALUES ('" + node + "', '" + s.id +
             "', '" + nlohmann::json(s.topics).dump() + "', '');";
    sql += "INSERT INTO " + table_ + "_nodes (node, seen_at) VALUES ('" + node + "', now() - interval '1 hour')";
    server().sql(sql);
  }
  void kill() override { server().stop(true); }
  void restart() override { server().start(); }
  static PgServer& server() {
    static PgServer s;  // one per test binary
    return s;
  }

 private:
  std::string table_;
  std::string query_;
};

class GenericEngine final : public Engine {
 public:
  std::string name() const override { return "generic"; }
  bool multi_node() const override { return true; }
  bool can_plant_dead_node() const override { return true; }
  void fresh(std::size_t retention) override {
    shared_ = std::make_shared<SharedLog>("local://?size=" + std::to_string(retention ? retention : 100000));
  }
  /// Presence, the id index and the leases all carried by the hub over the shared log.
  Transport node() override { return shared_log_node(shared_); }
  BackendOptions options() const override {
    BackendOptions o;
    o.presence_ttl = std::chrono::seconds(1);
    return o;
  }
  /// A node's records, written as that node would have, and then nothing more from it.
  void plant_dead_node(const std::vector<SubscriberInfo>& subscribers) override {
    boost::asio::io_context io;
    for (const auto& s : subscribers) {
      auto u = std::make_shared<Update>();
      u->id = make_urn_uuid_v7();
      u->topics = {"herald:presence"};
      u->data = nlohmann::json{{"k", "on"}, {"n", "dead-node"}, {"s", {{"id", s.id}, {"topics", s.topics},
                                                                       {"payload", s.payload_json}}}}.dump();
      u->is_private = u->subscription_event = u->control = true;
      run_task(io, shared_->inner().publish(u)).value();
    }
  }

 private:
  std::shared_ptr<SharedLog> shared_;
};

/// Deletes partition 0's records below `before` (Kafka's DeleteRecords: what retention does
/// when it drops old segments, done now).
void delete_records(const std::string& bootstrap, const std::string& topic, std::int64_t before) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!rk) throw std::runtime_error(std::string("rd_kafka_new: ") + error);
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, topic.c_str(), 0)->offset = before;
  rd_kafka_DeleteRecords_t* request = rd_kafka_DeleteRecords_new(offsets);
  rd_kafka_topic_partition_list_destroy(offsets);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_DeleteRecords(rk, &request, 1, nullptr, queue);
  rd_kafka_DeleteRecords_destroy(request);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  std::string failure = !event ? "no answer" : rd_kafka_event_error(event) ? rd_kafka_event_error_string(event) : "";
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
  if (!failure.empty()) throw std::runtime_error("DeleteRecords: " + failure);
}

/// One throwaway KRaft broker per test binary, a fresh topic per test.
class KafkaEngine final : public Engine {
 public:
  std::string name() const override { return "kafka"; }
  bool multi_node() const override { return true; }
  bool consumer_lags() const override { return true; }
  bool can_restart() const override { return true; }
  bool can_plant_dead_node() const override { return true; }
  void fresh(std::size_t retention) override {
    static int n = 0;
    topic_ = "kit-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    retention_ = retention;
  }
  // linger=0ms: the kit publishes one update at a time, waiting for each (thousands of them).
  Transport node() override {
    return make_transport(broker().url(topic_, "presence_ttl=1s&publish_timeout=20s&linger=0ms"));
  }
  BackendOptions options() const override {
    BackendOptions o;
    o.presence_ttl = std::chrono::seconds(1);
    return o;
  }
  void apply_retention() override {
    if (retention_ == 0) return;
    auto t = make_transport(broker().url(topic_));
    boost::asio::io_context io;
    Seq head = run_task(io, t.log->head()).value();
    run_task(io, t.log->close());
    // The records kept include the nodes' heartbeats written meanwhile: a margin for them.
    std::size_t keep = retention_ + 100;
    if (head > keep) delete_records(broker().bootstrap(), topic_, std::int64_t(head - keep));
  }
  /// The records a node writes when its subscribers connect, written for a node that then
  /// says nothing more.
  void plant_dead_node(const std::vector<SubscriberInfo>& subscribers) override {
    auto t = make_transport(broker().url(topic_));
    boost::asio::io_context io;
    for (const auto& s : subscribers) {
      auto u = std::make_shared<Update>();
      u->id = make_urn_uuid_v7();
      u->topics = {"herald:presence"};
      u->data = nlohmann::json{{"k", "on"}, {"n", "dead-" + topic_}, {"s", {{"id", s.id}, {"topics", s.topics},
                                                                            {"payload", s.payload_json}}}}.dump();
      u->is_private = u->subscription_event = u->control = true;
      run_task(io, t.log->publish(u)).value();
    }
    run_task(io, t.log->close());
  }
  void kill() override { broker().command("kill 0"); }
  void restart() override { broker().command("start 0"); }

 private:
  static KafkaBroker& broker() {
    static KafkaBroker b;  // one per test binary
    return b;
  }
  std::string topic_;
  std::size_t retention_ = 0;
};

}  // namespace

Engine& engine(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Engine>> engines;
  auto& e = engines[name];
  if (!e) {
    if (name == "local") e = std::make_unique<LocalEngine>();
    else if (name == "lmdb") e = std::make_unique<LmdbEngine>();
    else if (name == "redis") e = std::make_unique<RedisEngine>();
    else if (name == "postgres") e = std::make_unique<PostgresEngine>();
    else if (name == "generic") e = std::make_unique<GenericEngine>();
    else if (name == "kafka") e = std::make_unique<KafkaEngine>();
    else throw std::invalid_argument("no engine " + name);
  }
  return *e;
}

}  // namespace herald::test
