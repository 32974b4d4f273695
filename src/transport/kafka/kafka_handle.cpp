#include "transport/kafka/kafka_handle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/config_error.hpp"
#include "core/logging.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {

struct Opaque {
  KafkaEvents* events;
  KafkaRole role;
};

const char* role_name(KafkaRole role) {
  switch (role) {
    case KafkaRole::producer: return "producer";
    case KafkaRole::bus: return "bus";
    case KafkaRole::reader: return "reader";
  }
  return "?";
}

void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* o = static_cast<Opaque*>(opaque);
  o->events->on_kafka_error(o->role, static_cast<rd_kafka_resp_err_t>(err), reason);
}

void delivery_cb(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  static_cast<Opaque*>(opaque)->events->on_delivery(*message);
}

/// librdkafka's own log lines (syslog levels), from its threads: warnings and errors only.
void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (level > 4) return;
  auto* o = static_cast<Opaque*>(rd_kafka_opaque(rk));
  auto level_to_use = o->events->quiet() ? spdlog::level::debug : spdlog::level::warn;
  logger("kafka")->log(level_to_use, "librdkafka role={} facility={} message=\"{}\"", role_name(o->role), fac, buf);
}

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    // Never the value: it may be the password.
    throw ConfigError(std::string("invalid transport_url: kafka refused the setting ") + key + " (" + error + ")");
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

void set_security(rd_kafka_conf_t* conf, const KafkaOptions& o) {
  bool sasl = !o.user.empty();
  set(conf, "security.protocol", o.tls ? (sasl ? "sasl_ssl" : "ssl") : (sasl ? "sasl_plaintext" : "plaintext"));
  if (sasl) {
    set(conf, "sasl.mechanisms", o.sasl_mechanism);
    set(conf, "sasl.username", o.user);
    set(conf, "sasl.password", o.password);
  }
  if (o.tls) {
    if (!o.tls_ca_file.empty()) set(conf, "ssl.ca.location", o.tls_ca_file);
    if (!o.tls_verify) {
      set(conf, "enable.ssl.certificate.verification", "false");
      set(conf, "ssl.endpoint.identification.algorithm", "none");
    }
  }
}

void set_role(rd_kafka_conf_t* conf, const KafkaOptions& o, KafkaRole role, const std::string& node_id) {
  std::string group = o.consumer_group.empty() ? node_id : o.consumer_group;
  switch (role) {
    case KafkaRole::producer:
      set(conf, "enable.idempotence", "true");  // acks=all, retries without duplicates or reordering
      set(conf, "acks", "all");
      set(conf, "linger.ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(o.linger).count()));
      set(conf, "message.timeout.ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(o.publish_timeout).count()));
      break;
    case KafkaRole::bus:
    case KafkaRole::reader:
      // Herald assigns partition 0 itself (every node reads everything) and keeps its position
      // itself: the group id only names the node to the brokers; nothing is committed.
      set(conf, "group.id", role == KafkaRole::bus ? group : group + ".history");
      set(conf, "enable.auto.commit", "false");
      set(conf, "enable.auto.offset.store", "false");
      set(conf, "auto.offset.reset", role == KafkaRole::bus ? "earliest" : "error");
      set(conf, "enable.partition.eof", role == KafkaRole::reader ? "true" : "false");
      set(conf, "fetch.wait.max.ms", role == KafkaRole::reader ? "10" : "20");
      set(conf, "fetch.error.backoff.ms", "100");
      // A bounded prefetch: the flow gate pauses the partition when the shards fall behind.
      set(conf, "queued.min.messages", "2000");
      set(conf, "queued.max.messages.kbytes", "16384");
      set(conf, "allow.auto.create.topics", "false");
      if (role == KafkaRole::reader) {
        // The reader also asks for the offsets (probe, head, history): a request to a broker that
        // is down waits in its queue for socket.timeout.ms (60 s by default), and the shutdown
        // waits for it: keep it short.
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.connect_timeout).count();
        set(conf, "socket.timeout.ms", std::to_string(std::clamp<long long>(ms, 1000, 10000)));
      }
      break;
  }
}
}  // namespace

void RdKafkaDeleter::operator()(rd_kafka_t* rk) const {
  auto* opaque = static_cast<Opaque*>(rd_kafka_opaque(rk));
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  delete opaque;
}

RdKafka make_kafka_handle(const KafkaOptions& o, KafkaRole role, const std::string& node_id, KafkaEvents& events) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", join(o.brokers));
  set(conf, "client.id", "herald-" + node_id + "-" + role_name(role));
  set(conf, "reconnect.backoff.ms", "100");
  set(conf, "reconnect.backoff.max.ms", "2000");
  set(conf, "socket.connection.setup.timeout.ms",
      std::to_string(std::max<long long>(1000, std::chrono::duration_cast<std::chrono::milliseconds>(o.connect_timeout).count())));
  set(conf, "log.connection.close", "false");
  // Small requests go out at once (Nagle's delay met the broker's delayed ACKs: tens of ms).
  set(conf, "socket.nagle.disable", "true");
  set_security(conf, o);
  set_role(conf, o, role, node_id);
  auto* opaque = new Opaque{&events, role};
  rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  if (role == KafkaRole::producer) rd_kafka_conf_set_dr_msg_cb(conf, delivery_cb);
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(role == KafkaRole::producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, error,
                                sizeof error);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    delete opaque;
    throw ConfigError(std::string("invalid transport_url: kafka client could not start (") + error + ")");
  }
  return RdKafka(rk);
}

QueueWaker::QueueWaker(asio::io_context& io, rd_kafka_queue_t* queue) : queue_(queue), read_end_(io) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  read_end_.assign(fds[0]);
  write_fd_ = fds[1];
  static const char kByte = 1;
  rd_kafka_queue_io_event_enable(queue_, write_fd_, &kByte, 1);
}

QueueWaker::~QueueWaker() {
  rd_kafka_queue_io_event_enable(queue_, -1, nullptr, 0);
  ::close(write_fd_);
}

Task<void> QueueWaker::wait() {
  co_await read_end_.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
  std::array<char, 256> drain;
  while (::read(read_end_.native_handle(), drain.data(), drain.size()) > 0) {
  }
}

void QueueWaker::cancel() { read_end_.cancel(); }

}  // namespace herald
