// Option table and the three sources (flags, MERCURE_* environment, YAML file).
// Every option is described once in kOptions; the sources only collect raw text,
// and apply_option() converts and checks it, so all three behave the same.
#include "config/config_parse.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include "config/caddy_settings.hpp"
#include "config/caddyfile.hpp"
#include "core/duration.hpp"

namespace herald {
namespace {

enum class Kind { string, boolean, duration, list, integer, ignored };

struct Spec {
  const char* name;
  Kind kind;
  const char* help;
  const char* default_text;
  const char* alias_of = nullptr;  ///< another option this name sets too (legacy/Caddy spelling)
};

// clang-format off
const Spec kOptions[] = {
  {"addr", Kind::string, "address to listen on (host:port, :port; port 0 picks a free port)", ":8080"},
  {"admin_addr", Kind::string, "admin address: /mercure/health/ready, /mercure/health/live, /cluster/status (off disables)", "localhost:2019"},
  {"advertise_addr", Kind::string, "host:port other nodes and operators see for this node (default: the listening address)", ""},
  {"min_nodes", Kind::integer, "readiness fails while fewer nodes than this are alive in the cluster", "1"},
  {"live_grace", Kind::duration, "liveness fails once readiness has failed for this long", "60s"},
  {"drain_delay", Kind::duration, "on SIGTERM: readiness fails at once, subscribers are served this long before the drain starts", "0s"},
  {"drain_timeout", Kind::duration, "on SIGTERM: open streams are closed spread over this long, so clients reconnect elsewhere gradually", "5s"},
  {"jwt_key", Kind::string, "JWT key for publishers and subscribers (HMAC secret or PEM public key)", ""},
  {"jwt_algorithm", Kind::string, "algorithm of jwt_key: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA", "HS256"},
  {"publisher_jwt_key", Kind::string, "publisher JWT key (defaults to jwt_key)", ""},
  {"publisher_jwt_algorithm", Kind::string, "publisher JWT algorithm (defaults to jwt_algorithm)", ""},
  {"subscriber_jwt_key", Kind::string, "subscriber JWT key (defaults to jwt_key)", ""},
  {"subscriber_jwt_algorithm", Kind::string, "subscriber JWT algorithm (defaults to jwt_algorithm)", ""},
  {"publisher_jwks_url", Kind::string, "JWK Set for publishers (file:// or https://); keys chosen by kid", ""},
  {"subscriber_jwks_url", Kind::string, "JWK Set for subscribers (file:// or https://); keys chosen by kid", ""},
  {"jwks_refresh_interval", Kind::duration, "how often JWK Sets are fetched again", "5m"},
  {"allow_anonymous", Kind::boolean, "allow subscribers without a token", "false"},
  {"cors_allowed_origins", Kind::list, "origins allowed by CORS (* for any)", ""},
  {"publish_allowed_origins", Kind::list, "origins allowed to publish with the cookie (* and https://*.example.com allowed)", ""},
  {"cert_file", Kind::string, "TLS certificate chain (PEM) for addr: HTTPS with HTTP/2 (ALPN h2) and HTTP/1.1", ""},
  {"key_file", Kind::string, "TLS private key (PEM) of cert_file", ""},
  {"transport_url", Kind::string, "transport: lmdb://DIR[?size=N&max_age=D&map_size=B&sync=full|none] (durable) or local://[?size=N] (in-memory); bolt://PATH is an alias of lmdb", "lmdb://herald-data"},
  {"id_index_path", Kind::string, "directory of this node's id index, kept for transports that cannot resolve event ids themselves (empty: a temporary one, rebuilt from the log at each start)", ""},
  {"heartbeat_interval", Kind::duration, "interval between SSE heartbeat comments (0s disables)", "40s"},
  {"read_timeout", Kind::duration, "deadline for reading a request (0s disables)", "5s"},
  {"write_timeout", Kind::duration, "maximum lifetime of a subscription connection (0s disables)", "600s"},
  {"dispatch_timeout", Kind::duration, "deadline of each write to a subscriber (0s disables)", "5s"},
  {"subscriptions", Kind::boolean, "dispatch subscription events and serve the subscriptions API", "false"},
  {"cookie_name", Kind::string, "name of the authorization cookie", "mercureAuthorization"},
  {"log_format", Kind::string, "TEXT or JSON (FLUENTD is read as JSON)", "TEXT"},
  {"log_level", Kind::string, "trace, debug, info, warn, error", "info"},
  {"protocol_version_compatibility", Kind::integer, "7 turns on the legacy (protocol 7) behaviours", "0"},
  {"debug", Kind::boolean, "debug logging (never logs tokens or payloads)", "false"},
  {"demo", Kind::boolean, "serve the debug UI, as ui does (the reference hub's demo documents are not served)", "false"},
  {"ui", Kind::boolean, "serve the debug UI at /.well-known/mercure/ui/ (development; on with --dev)", "false"},
  {"compress", Kind::ignored, "accepted for compatibility; responses are not compressed", "false"},
  {"use_forwarded_headers", Kind::boolean, "trust X-Forwarded-For/Forwarded for client addresses", "false"},
  {"metrics", Kind::ignored, "accepted for compatibility; metrics are always served at admin_addr's /metrics", "false"},
  {"metrics_enabled", Kind::ignored, "accepted for compatibility; metrics are always served at admin_addr's /metrics", "false"},
  {"topic_selector_cache", Kind::integer, "entries in each shard's topic-match cache (0 disables)", "100000"},
  {"subscriber_queue_size", Kind::integer, "updates buffered per subscriber before it is disconnected as too slow", "1000"},
  {"subscriber_queue_bytes", Kind::integer, "bytes of updates buffered per subscriber before it is disconnected as too slow (one update is always taken, however large)", "8388608"},
  {"max_body_size", Kind::integer, "maximum publish request body in bytes", "10485760"},
  {"shards", Kind::integer, "event loops (threads) serving connections; 0 = one per core", "0"},
  {"dev", Kind::boolean, "development mode: generate a key, allow anonymous subscribers and CORS from anywhere, print tokens", "false"},
  {"license", Kind::string, "accepted for compatibility with the Mercure HA hub (MERCURE_LICENSE): Herald needs no license; noted at start", ""},
  // Spellings of the Caddy-based hub's environment and directives, accepted as aliases.
  {"publisher_jwt_alg", Kind::string, "alias of publisher_jwt_algorithm", "", "publisher_jwt_algorithm"},
  {"subscriber_jwt_alg", Kind::string, "alias of subscriber_jwt_algorithm", "", "subscriber_jwt_algorithm"},
  {"heartbeat", Kind::duration, "alias of heartbeat_interval", "", "heartbeat_interval"},
  {"anonymous", Kind::boolean, "alias of allow_anonymous", "", "allow_anonymous"},
  {"cors_origins", Kind::list, "alias of cors_allowed_origins", "", "cors_allowed_origins"},
  {"publish_origins", Kind::list, "alias of publish_allowed_origins", "", "publish_allowed_origins"},
  {"tcsz", Kind::integer, "alias of topic_selector_cache", "", "topic_selector_cache"},
};
// Options of the reference hub that Herald refuses rather than silently ignoring,
// because ignoring them would change security or reachability.
const std::pair<const char*, const char*> kRefused[] = {
  {"acme_hosts", "ACME is not supported; give cert_file and key_file (or put Herald behind a TLS proxy)"},
  {"acme_cert_dir", "ACME is not supported; give cert_file and key_file (or put Herald behind a TLS proxy)"},
  {"acme_http01_addr", "ACME is not supported; give cert_file and key_file (or put Herald behind a TLS proxy)"},
};
// clang-format on

const Spec* find_spec(std::string_view name) {
  for (const auto& s : kOptions)
    if (name == s.name) return &s;
  return nullptr;
}

std::string flag_name(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_list(std::string_view s, std::string_view seps) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find_first_of(seps, i);
    if (j == std::string_view::npos) j = s.size();
    auto item = trim(s.substr(i, j - i));
    if (!item.empty()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

/// Raw text of an option from one source. Lists keep their separator convention.
struct Raw {
  std::string text;
  std::vector<std::string> list;  ///< set for YAML sequences and split lists
  bool is_list = false;
  std::string origin;             ///< "flag --x", "environment MERCURE_X", "file.yaml"
};

[[noreturn]] void fail(const std::string& option, const Raw& raw, const std::string& why) {
  throw ConfigError("invalid " + option + " (from " + raw.origin + "): " + why);
}

bool parse_bool(const std::string& option, const Raw& raw) {
  auto v = upper(trim(raw.text));
  if (v == "1" || v == "TRUE" || v == "YES" || v == "ON" || v.empty()) return true;
  if (v == "0" || v == "FALSE" || v == "NO" || v == "OFF") return false;
  fail(option, raw, "expected true or false, got \"" + raw.text + "\"");
}

Duration parse_dur(const std::string& option, const Raw& raw) {
  auto d = parse_duration(trim(raw.text));
  if (!d) fail(option, raw, "expected a duration such as 40s, 1m30s or 500ms, got \"" + raw.text + "\"");
  return *d;
}

long long parse_int(const std::string& option, const Raw& raw) {
  auto t = trim(raw.text);
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 15)
    fail(option, raw, "expected a non-negative integer, got \"" + raw.text + "\"");
  return std::stoll(t);
}

void apply_option(Config& c, const std::string& name, const Raw& raw, std::vector<std::string>& set) {
  const Spec* spec = find_spec(name);
  std::string target = spec->alias_of ? spec->alias_of : spec->name;
  if (std::find(set.begin(), set.end(), target) != set.end()) return;  // a higher source won
  set.push_back(target);
  const Spec* t = find_spec(target);
  std::vector<std::string> list = raw.is_list ? raw.list : std::vector<std::string>{};
  if (t->kind == Kind::ignored) return;
  if (target == "addr") c.addr = trim(raw.text);
  else if (target == "admin_addr") {
    c.admin_addr = trim(raw.text);
    c.admin_addr_given = true;
  } else if (target == "advertise_addr") c.advertise_addr = trim(raw.text);
  else if (target == "min_nodes") c.min_nodes = static_cast<std::size_t>(parse_int(target, raw));
  else if (target == "live_grace") c.live_grace = parse_dur(target, raw);
  else if (target == "drain_delay") c.drain_delay = parse_dur(target, raw);
  else if (target == "drain_timeout") c.drain_timeout = parse_dur(target, raw);
  else if (target == "jwt_key") c.jwt_key = raw.text;
  else if (target == "jwt_algorithm") c.jwt_algorithm = trim(raw.text);
  else if (target == "publisher_jwt_key") c.publisher.key = raw.text;
  else if (target == "publisher_jwt_algorithm") c.publisher.algorithm = trim(raw.text);
  else if (target == "subscriber_jwt_key") c.subscriber.key = raw.text;
  else if (target == "subscriber_jwt_algorithm") c.subscriber.algorithm = trim(raw.text);
  else if (target == "publisher_jwks_url") c.publisher.jwks_url = trim(raw.text);
  else if (target == "subscriber_jwks_url") c.subscriber.jwks_url = trim(raw.text);
  else if (target == "jwks_refresh_interval") c.jwks_refresh_interval = parse_dur(target, raw);
  else if (target == "allow_anonymous") c.allow_anonymous = parse_bool(target, raw);
  else if (target == "cors_allowed_origins") c.cors_allowed_origins = list;
  else if (target == "publish_allowed_origins") c.publish_allowed_origins = list;
  else if (target == "transport_url") c.transport_url = trim(raw.text);
  else if (target == "cert_file") c.cert_file = trim(raw.text);
  else if (target == "key_file") c.key_file = trim(raw.text);
  else if (target == "id_index_path") c.id_index_path = trim(raw.text);
  else if (target == "heartbeat_interval") c.heartbeat_interval = parse_dur(target, raw);
  else if (target == "read_timeout") c.read_timeout = parse_dur(target, raw);
  else if (target == "write_timeout") c.write_timeout = parse_dur(target, raw);
  else if (target == "dispatch_timeout") c.dispatch_timeout = parse_dur(target, raw);
  else if (target == "subscriptions") c.subscriptions = parse_bool(target, raw);
  else if (target == "cookie_name") c.cookie_name = trim(raw.text);
  else if (target == "log_format") c.log_format = upper(trim(raw.text));
  else if (target == "log_level") c.log_level = trim(raw.text);
  else if (target == "protocol_version_compatibility") c.protocol_version_compatibility = static_cast<int>(parse_int(target, raw));
  else if (target == "debug") c.debug = parse_bool(target, raw);
  else if (target == "use_forwarded_headers") c.use_forwarded_headers = parse_bool(target, raw);
  else if (target == "topic_selector_cache") c.topic_selector_cache = static_cast<std::size_t>(parse_int(target, raw));
  else if (target == "subscriber_queue_size") c.subscriber_queue_size = static_cast<std::size_t>(parse_int(target, raw));
  else if (target == "subscriber_queue_bytes") c.subscriber_queue_bytes = static_cast<std::size_t>(parse_int(target, raw));
  else if (target == "max_body_size") c.max_body_size = static_cast<std::size_t>(parse_int(target, raw));
  else if (target == "shards") c.shards = static_cast<unsigned>(parse_int(target, raw));
  else if (target == "dev") c.dev = parse_bool(target, raw);
  else if (target == "ui") c.ui = parse_bool(target, raw);
  else if (target == "demo") c.demo = parse_bool(target, raw);
  else if (target == "license" && !trim(raw.text).empty())
    c.notices.push_back("license (from " + raw.origin + ") ignored: Herald needs no license");
}

void check_refused(const std::string& name, const std::string& origin) {
  for (const auto& [refused, why] : kRefused)
    if (name == refused) throw ConfigError("unsupported " + name + " (from " + origin + "): " + why);
}

bool valid_algorithm(const std::string& a) {
  static const char* kAlgs[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  return std::any_of(std::begin(kAlgs), std::end(kAlgs), [&](const char* x) { return a == x; });
}

std::string read_key_file_if_path(const std::string& option, std::string key) {
  // A key given as "@/path/to/key.pem" or "file:///path" is read from the file.
  std::string path;
  if (key.rfind("@", 0) == 0) path = key.substr(1);
  else if (key.rfind("file://", 0) == 0) path = key.substr(7);
  if (path.empty()) return key;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("invalid " + option + ": cannot read key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void validate(Config& c) {
  // Specific settings win over the shared ones, whatever source each came from.
  for (auto* k : {&c.publisher, &c.subscriber}) {
    if (k->key.empty()) k->key = c.jwt_key;
    if (k->algorithm.empty()) k->algorithm = c.jwt_algorithm.empty() ? "HS256" : c.jwt_algorithm;
  }
  if (!valid_algorithm(c.publisher.algorithm))
    throw ConfigError("invalid publisher_jwt_algorithm: unknown algorithm \"" + c.publisher.algorithm + "\"");
  if (!valid_algorithm(c.subscriber.algorithm))
    throw ConfigError("invalid subscriber_jwt_algorithm: unknown algorithm \"" + c.subscriber.algorithm + "\"");
  c.publisher.key = read_key_file_if_path("publisher_jwt_key", c.publisher.key);
  c.subscriber.key = read_key_file_if_path("subscriber_jwt_key", c.subscriber.key);
  if (c.log_format == "FLUENTD") c.log_format = "JSON";
  if (c.log_format != "TEXT" && c.log_format != "JSON")
    throw ConfigError("invalid log_format: expected TEXT or JSON, got \"" + c.log_format + "\"");
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"};
  if (std::none_of(std::begin(kLevels), std::end(kLevels), [&](const char* l) { return c.log_level == l; }))
    throw ConfigError("invalid log_level: expected trace, debug, info, warn or error, got \"" + c.log_level + "\"");
  if (c.log_level == "warning") c.log_level = "warn";
  if (c.debug) c.log_level = "debug";
  if (c.demo) c.ui = true;  // the reference's demo mode includes its UI
  if (c.protocol_version_compatibility != 0 && c.protocol_version_compatibility != 7 &&
      c.protocol_version_compatibility != 8)
    throw ConfigError("invalid protocol_version_compatibility: expected 7 or 8");
  if (c.cookie_name.empty() || c.cookie_name.find_first_of(" ;=,\t") != std::string::npos)
    throw ConfigError("invalid cookie_name: \"" + c.cookie_name + "\" is not a cookie name");
  if (c.subscriber_queue_size == 0) throw ConfigError("invalid subscriber_queue_size: must be at least 1");
  if (c.subscriber_queue_bytes == 0) throw ConfigError("invalid subscriber_queue_bytes: must be at least 1");
  if (c.max_body_size == 0) throw ConfigError("invalid max_body_size: must be at least 1");
  if (c.shards > 256) throw ConfigError("invalid shards: at most 256");
  for (auto& o : c.publish_allowed_origins)
    std::transform(o.begin(), o.end(), o.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (c.cert_file.empty() != c.key_file.empty())
    throw ConfigError(std::string("missing ") + (c.cert_file.empty() ? "cert_file" : "key_file") +
                      ": TLS needs both cert_file and key_file");
  for (const auto* f : {&c.cert_file, &c.key_file})
    if (!f->empty() && !std::ifstream(*f))
      throw ConfigError(std::string("invalid ") + (f == &c.cert_file ? "cert_file" : "key_file") + ": cannot read " + *f);
  if (c.addr.empty() || c.addr.find(':') == std::string::npos)
    throw ConfigError("invalid addr: expected host:port or :port, got \"" + c.addr + "\"");
  if (!c.dev && c.publisher.key.empty() && c.publisher.jwks_url.empty())
    throw ConfigError("missing publisher_jwt_key: set jwt_key, publisher_jwt_key or publisher_jwks_url (or run with --dev)");
  for (const auto* url : {&c.publisher.jwks_url, &c.subscriber.jwks_url})
    if (!url->empty() && url->rfind("file://", 0) != 0 && url->rfind("https://", 0) != 0 &&
        url->rfind("http://", 0) != 0)
      throw ConfigError(std::string("invalid ") + (url == &c.publisher.jwks_url ? "publisher" : "subscriber") +
                        "_jwks_url: expected a file://, https:// or http:// URL");
}

void load_yaml_options(const YAML::Node& root, const std::string& path, std::map<std::string, Raw>& out);

void load_yaml(const std::string& path, std::map<std::string, Raw>& out) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError("invalid config: cannot read " + path);
  } catch (const YAML::Exception& e) {
    throw ConfigError("invalid config: " + path + ": " + e.msg + " at line " + std::to_string(e.mark.line + 1));
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError("invalid config: " + path + " must be a mapping of option: value");
  try {
    load_yaml_options(root, path, out);
  } catch (const YAML::Exception& e) {
    // A value yaml-cpp cannot convert (the fuzzer found a mapping used as a key): still a
    // configuration error, one line, exit 2.
    throw ConfigError("invalid config: " + path + ": " + e.msg + " at line " + std::to_string(e.mark.line + 1));
  }
}

void load_yaml_options(const YAML::Node& root, const std::string& path, std::map<std::string, Raw>& out) {
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) throw ConfigError("invalid config: " + path + ": option names must be strings");
    auto name = kv.first.as<std::string>();
    std::string origin = path;
    check_refused(name, origin);
    if (!find_spec(name)) throw ConfigError("unknown option " + name + " in " + path);
    Raw raw;
    raw.origin = path;
    const YAML::Node& v = kv.second;
    if (v.IsSequence()) {
      raw.is_list = true;
      for (const auto& item : v) {
        if (!item.IsScalar()) throw ConfigError("invalid " + name + " in " + path + ": list items must be strings");
        raw.list.push_back(item.as<std::string>());
      }
    } else if (v.IsScalar()) {
      raw.text = v.as<std::string>();
      raw.is_list = true;
      raw.list = split_list(raw.text, " ,");
    } else if (v.IsNull()) {
      raw.text = "";
    } else {
      throw ConfigError("invalid " + name + " in " + path + ": expected a value");
    }
    out[name] = std::move(raw);
  }
}

/// Applies what a Caddyfile or the image's environment set, in their order.
void apply_caddy(Config& c, const CaddySettings& caddy, std::vector<std::string>& set) {
  for (const auto& s : caddy.settings) {
    check_refused(s.option, s.origin);
    std::string text;
    for (const auto& v : s.values) text += (text.empty() ? "" : " ") + v;
    apply_option(c, s.option, Raw{text, s.values, true, s.origin}, set);
  }
  c.notices.insert(c.notices.end(), caddy.notices.begin(), caddy.notices.end());
}

bool is_caddyfile(const std::string& path, const std::string& adapter) {
  if (!adapter.empty()) return adapter == "caddyfile";
  std::string name = std::filesystem::path(path).filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return name.find("caddyfile") != std::string::npos;
}

CaddySettings load_caddyfile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("invalid config: cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return settings_from_caddyfile(parse_caddyfile(text.str(), path, env), path);
}

}  // namespace

const std::vector<OptionInfo>& config_options() {
  static const std::vector<OptionInfo> infos = [] {
    std::vector<OptionInfo> v;
    for (const auto& s : kOptions) v.push_back({s.name, s.help, s.default_text, s.kind == Kind::boolean || s.kind == Kind::ignored});
    return v;
  }();
  return infos;
}

void add_config_flags(CLI::App& app, FlagValues& out) {
  for (const auto& s : kOptions) {
    std::string flag = "--" + flag_name(s.name);
    std::string help = s.help;
    if (*s.default_text) help += " [default: " + std::string(s.default_text) + "]";
    help += " (env MERCURE_" + upper(s.name) + ")";
    if (s.kind == Kind::boolean || s.kind == Kind::ignored) {
      app.add_option_function<std::string>(flag, [&out, name = std::string(s.name)](const std::string& v) { out[name] = v; }, help)
          ->expected(0, 1)
          ->default_str("true");
    } else {
      app.add_option_function<std::string>(flag, [&out, name = std::string(s.name)](const std::string& v) { out[name] = v; }, help);
    }
  }
}

Config load_config(const FlagValues& flags, const EnvLookup& env, const std::string& config_path,
                   const std::string& adapter) {
  Config c;
  std::vector<std::string> set;
  // 1. flags
  for (const auto& [name, value] : flags) {
    Raw raw{value, split_list(value, ","), true, "flag --" + flag_name(name)};
    if (!find_spec(name)) throw ConfigError("unknown option --" + flag_name(name));
    apply_option(c, name, raw, set);
  }
  // 2. environment
  for (const auto& s : kOptions) {
    std::string var = "MERCURE_" + upper(s.name);
    if (const char* v = env(var.c_str())) {
      Raw raw{v, split_list(v, " "), true, "environment " + var};
      apply_option(c, s.name, raw, set);
    }
  }
  for (const auto& [refused, why] : kRefused) {
    std::string var = "MERCURE_" + upper(refused);
    if (const char* v = env(var.c_str()); v && *v) check_refused(refused, "environment " + var);
  }
  // 3. file: a Caddyfile reads the image's environment through its own placeholders;
  // without one, the environment is read as the image's Caddyfile would read it.
  if (!adapter.empty() && adapter != "caddyfile" && adapter != "yaml")
    throw ConfigError("invalid adapter: expected caddyfile or yaml, got \"" + adapter + "\"");
  std::string path = config_path;
  if (path.empty() && std::filesystem::exists("mercure.yaml")) path = "mercure.yaml";
  if (path.empty() && std::filesystem::exists("Caddyfile")) path = "Caddyfile";
  bool caddyfile = !path.empty() && is_caddyfile(path, adapter);
  if (!caddyfile) apply_caddy(c, settings_from_image_env(env), set);
  if (caddyfile) {
    apply_caddy(c, load_caddyfile(path, env), set);
  } else if (!path.empty()) {
    std::map<std::string, Raw> file_values;
    load_yaml(path, file_values);
    for (const auto& [name, raw] : file_values) apply_option(c, name, raw, set);
  }
  validate(c);
  return c;
}

}  // namespace herald
