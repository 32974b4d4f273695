// herald: `run` starts the hub; `token` prints a signed JWT (development and tests).
#include <pthread.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "app/token_command.hpp"
#include "auth/authenticator.hpp"
#include "config/config_parse.hpp"
#include "core/logging.hpp"
#include "http/server.hpp"
#include "hub/health.hpp"
#include "hub/hub.hpp"
#include "transport/transport.hpp"

namespace herald {
namespace {

std::string random_secret() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 48; ++i) s.push_back(kHex[rd() % 16]);
  return s;
}

void apply_dev_mode(Config& c) {
  if (c.publisher.key.empty() && c.publisher.jwks_url.empty()) {
    std::string secret = random_secret();
    c.publisher.key = secret;
    c.publisher.algorithm = "HS256";
    if (c.subscriber.key.empty() && c.subscriber.jwks_url.empty()) {
      c.subscriber.key = secret;
      c.subscriber.algorithm = "HS256";
    }
  }
  c.allow_anonymous = true;
  c.ui = true;
  if (c.cors_allowed_origins.empty()) c.cors_allowed_origins = {"*"};
  if (c.publish_allowed_origins.empty()) c.publish_allowed_origins = {"*"};
}

void print_dev_tokens(const Config& c, unsigned short port) {
  std::ostringstream out;
  out << "\nHerald is running in development mode on http://localhost:" << port << "/.well-known/mercure\n";
  if (c.publisher.algorithm.rfind("HS", 0) == 0) {
    TokenRequest pub;
    pub.key = c.publisher.key;
    pub.algorithm = c.publisher.algorithm;
    pub.has_publish = pub.has_subscribe = true;
    pub.publish = {"*"};
    pub.subscribe = {"*"};
    std::string why;
    out << "  development key (HS256): " << c.publisher.key << "\n";
    if (auto t = make_token(pub, &why)) out << "  publisher+subscriber token: " << *t << "\n";
    out << "  try: curl -N 'http://localhost:" << port << "/.well-known/mercure?topic=demo'\n"
        << "  and: curl -d topic=demo -d data=hello -H \"Authorization: Bearer <token>\" http://localhost:" << port
        << "/.well-known/mercure\n";
  }
  out << "  debug UI: http://localhost:" << port << "/.well-known/mercure/ui/\n";
  out << "  (never use --dev in production: the key changes at every start)\n\n";
  std::cout << out.str() << std::flush;
}

/// Loads JWK Sets at start; a failure is a configuration error.
void load_jwks(Authenticator& auth, const Config& c) {
  for (auto role : {Role::publisher, Role::subscriber}) {
    const std::string& url = auth.jwks_url(role);
    if (url.empty()) continue;
    std::string option = role == Role::publisher ? "publisher_jwks_url" : "subscriber_jwks_url";
    std::string why;
    auto doc = fetch_document(url, &why);
    if (!doc) throw ConfigError("invalid " + option + ": " + why);
    load_jwks_document(auth.keys(role), *doc,
                       role == Role::publisher ? c.publisher.algorithm : c.subscriber.algorithm, option);
  }
}

/// Refreshes JWK Sets periodically; a failed refresh keeps the previous keys.
class JwksRefresher {
 public:
  JwksRefresher(Authenticator& auth, const Config& c) : auth_(auth), config_(c) {
    if (auth.jwks_url(Role::publisher).empty() && auth.jwks_url(Role::subscriber).empty()) return;
    thread_ = std::thread([this] { loop(); });
  }
  ~JwksRefresher() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, config_.jwks_refresh_interval, [this] { return stop_; })) {
      lock.unlock();
      try {
        load_jwks(auth_, config_);
      } catch (const std::exception& e) {
        logger("auth")->warn("jwks_refresh_failed error=\"{}\"", e.what());
      }
      lock.lock();
    }
  }
  Authenticator& auth_;
  const Config& config_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

/// The host:port other nodes and operators see: advertise_addr, else the listening address
/// (the host name when it listens on every interface).
std::string advertised_address(const Config& config, unsigned short port) {
  if (!config.advertise_addr.empty()) return config.advertise_addr;
  std::string host = config.addr.substr(0, config.addr.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    host = name;
  }
  return host + ":" + std::to_string(port);
}

/// Waits up to `d` for one of `signals`; true when one came.
bool wait_signal(const sigset_t& signals, Duration d) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  return sigtimedwait(&signals, nullptr, &ts) > 0;
}

/// Graceful drain, once readiness is red: subscribers are served for drain_delay (load
/// balancers notice the readiness), then new connections and subscriptions are refused and
/// the open streams are closed spread over drain_timeout, so their clients reconnect to other
/// nodes with Last-Event-ID gradually rather than all at once. A second signal ends it at once.
void drain(Hub& hub, Server& server, const Config& config, const sigset_t& signals) {
  auto log = logger("main");
  using namespace std::chrono_literals;
  if (config.drain_delay > Duration::zero() && wait_signal(signals, config.drain_delay)) {
    log->info("drain_interrupted reason=\"second signal\"");
    return;
  }
  server.stop_accepting();
  hub.refuse_subscriptions();
  std::size_t total = hub.subscriber_count();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(config.drain_timeout).count();
  log->info("draining subscribers={} spread_ms={}", total, ms);
  if (total == 0) return;
  const Duration step = 100ms;
  std::size_t steps = std::max<std::size_t>(1, static_cast<std::size_t>(config.drain_timeout / step));
  std::size_t per_step = (total + steps - 1) / steps;
  auto deadline = std::chrono::steady_clock::now() + config.drain_timeout + 2s;
  while (hub.subscriber_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    hub.close_subscribers(per_step);
    if (wait_signal(signals, step)) {
      log->info("drain_interrupted reason=\"second signal\"");
      return;
    }
  }
  log->info("drained");
}

int run_hub(Config config) {
  if (config.dev) apply_dev_mode(config);
  setup_logging(config.log_format == "JSON" ? LogFormat::json : LogFormat::text, config.log_level);
  auto log = logger("main");
  for (const auto& notice : config.notices) log->warn("config note=\"{}\"", notice);
  Authenticator auth(config);
  load_jwks(auth, config);
  if (!auth.enabled(Role::subscriber) && !config.allow_anonymous)
    log->warn("no subscriber key and allow_anonymous off: subscribing is disabled (405)");

  // Signals are handled by this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // Everything is validated before the transport opens its store (a bad addr must not
  // leave a ./herald-data behind).
  Server::validate_addr(config.addr);
  bool admin_on = !config.admin_addr.empty() && config.admin_addr != "off";
  if (admin_on) Server::validate_addr(config.admin_addr, "admin_addr");
  Hub hub(config, make_transport(config.transport_url));
  hub.start();
  unsigned short port;
  {
    Health health(hub, {.min_nodes = config.min_nodes, .live_grace = config.live_grace});
    Server server(hub, auth, config, &health);
    port = server.listen();
    log->info("listening addr={} port={} shards={} transport={}", config.addr, port, hub.shard_count(),
              config.transport_url.substr(0, config.transport_url.find(':')));
    hub.backend().describe_node(advertised_address(config, port));
    health.start();
    std::unique_ptr<Server> admin;
    if (admin_on) {
      admin = std::make_unique<Server>(hub, auth, config, config.admin_addr, health);
      try {
        unsigned short admin_port = admin->listen();
        log->info("admin_api addr={} admin_port={}", config.admin_addr, admin_port);
      } catch (const std::exception& e) {
        // The default address is shared by every hub on a machine: taken, the node runs
        // without it. An address given explicitly must work.
        if (config.admin_addr_given) throw;
        log->warn("admin_api_unavailable addr={} error=\"{}\" note=\"set admin_addr to serve readiness\"",
                  config.admin_addr, e.what());
        admin.reset();
      }
    }
    if (config.dev) print_dev_tokens(config, port);
    JwksRefresher refresher(auth, config);
    int sig = 0;
    sigwait(&signals, &sig);
    log->info("shutting_down signal={}", sig);
    health.set_draining();  // readiness is red from here on
    drain(hub, server, config, signals);
    server.stop_accepting();
    if (admin) admin->stop_accepting();
    health.stop();
    hub.stop();
  }
  log->info("stopped");
  return 0;
}

/// `herald cluster status`: GET /cluster/status from a node's admin address; a table (a line
/// per node) or the JSON itself. Exit 1 when the node cannot be reached or answers an error.
int cluster_status_main(std::string admin_url, bool as_json) {
  if (admin_url.find("://") == std::string::npos) admin_url = "http://" + admin_url;
  while (!admin_url.empty() && admin_url.back() == '/') admin_url.pop_back();
  std::string why;
  auto body = fetch_document(admin_url + "/cluster/status", &why);
  if (!body) {
    std::cerr << "herald cluster status: " << admin_url << ": " << why << "\n";
    return 1;
  }
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (!j.is_object() || !j.contains("nodes") || !j["nodes"].is_array()) {
    std::cerr << "herald cluster status: " << admin_url << " did not answer a status document\n";
    return 1;
  }
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  auto cluster = j.value("cluster", nlohmann::json::object());
  std::cout << "cluster: " << cluster.value("engine", "") << " " << cluster.value("url", "") << "  ("
            << j["nodes"].size() << " node" << (j["nodes"].size() == 1 ? "" : "s") << ", asked "
            << j.value("node", "") << ")\n";
  std::printf("%-38s %-22s %-8s %-9s %-12s %-8s %-14s %-16s %s\n", "NODE", "ADDRESS", "PID", "STATE", "SUBSCRIBERS",
              "LAG", "HEARTBEAT AGO", "JOBS", "HOST");
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& n : j["nodes"]) {
    std::string id = n.value("id", "");
    if (id == j.value("node", "")) id += " *";
    long long ago = now_ms - n.value("last_heartbeat", 0LL);
    std::string jobs;
    for (const auto& job : n.value("jobs", nlohmann::json::array()))
      if (job.is_string()) jobs += (jobs.empty() ? "" : ",") + job.get<std::string>();
    std::printf("%-38s %-22s %-8ld %-9s %-12llu %-8llu %-14s %-16s %s\n", id.c_str(), n.value("address", "").c_str(),
                n.value("pid", 0L), n.value("state", "").c_str(),
                static_cast<unsigned long long>(n.value("subscribers", 0ULL)),
                static_cast<unsigned long long>(n.value("lag", 0ULL)),
                (std::to_string(std::max(0LL, ago)) + " ms").c_str(), jobs.empty() ? "-" : jobs.c_str(),
                n.value("host", "").c_str());
  }
  return 0;
}

/// `herald cluster reset`: POST /cluster/reset on a node's admin address.
int cluster_reset_main(std::string admin_url, bool yes) {
  if (!yes) {
    std::cerr << "herald cluster reset: clears every node's registration and presence records in the engine "
                 "(never the history); add --yes to do it\n";
    return 2;
  }
  if (admin_url.find("://") == std::string::npos) admin_url = "http://" + admin_url;
  while (!admin_url.empty() && admin_url.back() == '/') admin_url.pop_back();
  std::string why;
  if (!fetch_document(admin_url + "/cluster/reset", &why, true)) {
    std::cerr << "herald cluster reset: " << admin_url << ": " << why << "\n";
    return 1;
  }
  std::cout << "reset: every live node registers again and re-announces its subscribers within one heartbeat\n";
  return 0;
}

int token_main(TokenRequest& r, const std::string& key_file, const std::string& payload, const std::string& exp) {
  if (!key_file.empty()) {
    std::ifstream in(key_file, std::ios::binary);
    if (!in) {
      std::cerr << "herald token: cannot read " << key_file << "\n";
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    r.key = ss.str();
  }
  if (!payload.empty()) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded()) {
      std::cerr << "herald token: --payload is not JSON\n";
      return 2;
    }
    r.payload = j;
  }
  if (!exp.empty()) {
    auto d = parse_duration(exp);
    if (!d) {
      std::cerr << "herald token: invalid --expires-in\n";
      return 2;
    }
    r.expires_in_seconds = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  }
  std::string why;
  auto token = make_token(r, &why);
  if (!token) {
    std::cerr << "herald token: " << why << "\n";
    return 2;
  }
  std::cout << *token << "\n";
  return 0;
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) {
  using namespace herald;
  CLI::App app{"Herald: a Mercure hub that runs as a cluster"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");

  FlagValues flags;
  std::string config_path, adapter;
  auto* run = app.add_subcommand("run", "Start the hub. Options may also come from MERCURE_<NAME> environment "
                                        "variables, the Mercure Docker image's environment (SERVER_NAME, "
                                        "MERCURE_EXTRA_DIRECTIVES), a YAML file or a Caddyfile; precedence: "
                                        "flag > env > file > default.");
  run->add_option("--config", config_path,
                  "YAML file or Caddyfile (its mercure block) [default: ./mercure.yaml, else ./Caddyfile, when present]");
  run->add_option("--adapter", adapter, "how --config is read: caddyfile or yaml [default: by its name]");
  add_config_flags(*run, flags);

  TokenRequest token;
  std::string key_file, payload, exp;
  auto* tok = app.add_subcommand("token", "Print a signed JWT carrying Mercure claims");
  tok->add_option("--key", token.key, "HMAC secret (HS*)");
  tok->add_option("--key-file", key_file, "file holding the HMAC secret or PEM private key");
  tok->add_option("--alg", token.algorithm, "algorithm [default: HS256]");
  tok->add_option("--publish", token.publish, "topic selector allowed for publishing (repeatable)")
      ->each([&](const std::string&) { token.has_publish = true; });
  tok->add_option("--subscribe", token.subscribe, "topic selector allowed for subscribing (repeatable)")
      ->each([&](const std::string&) { token.has_subscribe = true; });
  tok->add_option("--payload", payload, "JSON value for mercure.payload");
  tok->add_option("--expires-in", exp, "lifetime, e.g. 1h (default: no exp claim)");
  tok->add_option("--kid", token.kid, "key id header");

  std::string admin_url = "http://localhost:2019";
  bool as_json = false;
  auto* cluster = app.add_subcommand("cluster", "Look at the cluster through a node's admin address");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand("status", "Print every node of the cluster, as the node at --admin sees it");
  status->add_option("--admin", admin_url, "the node's admin address [default: http://localhost:2019]");
  status->add_flag("--json", as_json, "print the status document itself");
  bool yes = false;
  auto* reset = cluster->add_subcommand("reset", "Clear the cluster's registry and presence state in the engine "
                                                 "(never the history); live nodes re-register within a heartbeat");
  reset->add_option("--admin", admin_url, "a node's admin address [default: http://localhost:2019]");
  reset->add_flag("--yes", yes, "really do it");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "herald: " << e.what() << " (see herald --help)\n";
    return 2;
  }
  if (*tok) return token_main(token, key_file, payload, exp);
  if (*status) return cluster_status_main(admin_url, as_json);
  if (*reset) return cluster_reset_main(admin_url, yes);
  try {
    Config config = load_config(flags, [](const char* n) { return std::getenv(n); }, config_path, adapter);
    return run_hub(std::move(config));
  } catch (const ConfigError& e) {
    std::cerr << "herald: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "herald: " << e.what() << "\n";
    return 1;
  }
}
