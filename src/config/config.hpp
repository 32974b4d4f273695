#pragma once
// One aggregate holding every setting, with its default. Filled by parse_config()
// (flags > MERCURE_* environment > YAML file > default), validated once, then passed
// explicitly and never changed.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config_error.hpp"
#include "core/duration.hpp"

namespace herald {

struct JwtKeyConfig {
  std::string key;          ///< HMAC secret or PEM public key (empty = none)
  std::string algorithm;    ///< pinned algorithm, e.g. HS256, RS256, ES256, EdDSA
  std::string jwks_url;     ///< file:// or https:// JWK Set; takes precedence over key
};

struct Config {
  std::string addr = ":8080";
  std::string admin_addr = "localhost:2019";  ///< health, readiness, cluster status; "off" disables
  bool admin_addr_given = false;              ///< set explicitly: failing to bind it is an error
  std::string advertise_addr;                 ///< host:port others see (empty: the listening address)
  std::size_t min_nodes = 1;                  ///< ready only while this many nodes are alive
  Duration live_grace = std::chrono::seconds(60);  ///< liveness fails after readiness failed this long
  Duration drain_delay = Duration::zero();       ///< SIGTERM: unready, still serving, this long
  Duration drain_timeout = std::chrono::seconds(5);  ///< SIGTERM: streams closed spread over this long
  std::string jwt_key;        ///< shared key: fallback for publisher and subscriber
  std::string jwt_algorithm;  ///< shared algorithm: fallback for publisher and subscriber
  JwtKeyConfig publisher;
  JwtKeyConfig subscriber;
  Duration jwks_refresh_interval = std::chrono::minutes(5);
  bool allow_anonymous = false;
  std::vector<std::string> cors_allowed_origins;
  std::vector<std::string> publish_allowed_origins;
  std::string cert_file;  ///< TLS on addr (PEM chain); with key_file
  std::string key_file;
  std::string transport_url = "lmdb://herald-data";  ///< durable by default, in ./herald-data
  std::string id_index_path;  ///< the hub's id index, for logs without one (empty: temporary)
  Duration heartbeat_interval = std::chrono::seconds(40);
  Duration read_timeout = std::chrono::seconds(5);
  Duration write_timeout = std::chrono::seconds(600);
  Duration dispatch_timeout = std::chrono::seconds(5);
  bool subscriptions = false;
  std::string cookie_name = "mercureAuthorization";
  std::string log_format = "TEXT";
  std::string log_level = "info";
  int protocol_version_compatibility = 0;  ///< 0 = current (G2); 7 = legacy behaviours
  bool debug = false;
  bool demo = false;         ///< the debug UI (the reference's demo documents are not served)
  bool ui = false;           ///< the debug UI at /.well-known/mercure/ui/ (set by demo and --dev too)
  bool use_forwarded_headers = false;
  std::size_t topic_selector_cache = 100000;
  std::size_t subscriber_queue_size = 1000;  ///< updates buffered per subscriber before eviction
  std::size_t subscriber_queue_bytes = 8u << 20;  ///< bytes of updates buffered per subscriber before eviction
  std::size_t max_body_size = 10 * 1024 * 1024;  ///< publish body limit (Go's form limit)
  unsigned shards = 0;       ///< 0 = one per core
  bool dev = false;          ///< development mode: generated key, anonymous, printed tokens
  /// What the sources gave that Herald accepts and ignores (Caddy directives, a license),
  /// one line each, logged once at start.
  std::vector<std::string> notices;
};



}  // namespace herald
