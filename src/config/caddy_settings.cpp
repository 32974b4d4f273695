// Caddy directives → Herald options. The table below is the whole vocabulary of the
// reference hub's `mercure {}` block (v0.14–v0.24.2); anything else in it is an error, as
// it is for Caddy.
#include "config/caddy_settings.hpp"

#include <algorithm>
#include <set>

#include "core/config_error.hpp"

namespace herald {
namespace {

std::string where(const std::string& origin, int line) {
  return line > 0 ? origin + ":" + std::to_string(line) : origin;
}

[[noreturn]] void fail(const std::string& origin, int line, const std::string& why) {
  throw ConfigError("invalid Caddyfile " + where(origin, line) + ": " + why);
}

enum class Arity { flag, one, list };

struct MercureDirective {
  const char* name;
  const char* option;  ///< Herald's option, or nullptr when accepted and not needed
  Arity arity;
};

// clang-format off
const MercureDirective kDirectives[] = {
  {"publisher_jwks_url", "publisher_jwks_url", Arity::one},
  {"subscriber_jwks_url", "subscriber_jwks_url", Arity::one},
  {"anonymous", "allow_anonymous", Arity::flag},
  {"subscriptions", "subscriptions", Arity::flag},
  {"cors_origins", "cors_allowed_origins", Arity::list},
  {"publish_origins", "publish_allowed_origins", Arity::list},
  {"cookie_name", "cookie_name", Arity::one},
  {"heartbeat", "heartbeat_interval", Arity::one},
  {"write_timeout", "write_timeout", Arity::one},
  {"dispatch_timeout", "dispatch_timeout", Arity::one},
  {"transport_url", "transport_url", Arity::one},
  {"protocol_version_compatibility", "protocol_version_compatibility", Arity::one},
  {"ui", "ui", Arity::flag},
  {"demo", "demo", Arity::flag},
  {"license", "license", Arity::one},
  {"debug", "debug", Arity::flag},
  // Accepted, nothing to do in Herald (its caches and health are not configured this way).
  {"subscriber_list_cache_size", nullptr, Arity::list},
  {"name", nullptr, Arity::list},
  {"cache", nullptr, Arity::list},
  {"cache_shard_size", nullptr, Arity::list},
  {"max_entries_per_shard", nullptr, Arity::list},
  {"shard_count", nullptr, Arity::list},
};
// clang-format on

void add(CaddySettings& out, std::string option, std::vector<std::string> values, const std::string& origin) {
  out.settings.push_back({std::move(option), std::move(values), origin});
}

/// `publisher_jwt <key> [<alg>]`; an empty key (an unset {env.X}) sets nothing.
void add_jwt(const CaddyDirective& d, const std::string& role, const std::string& origin, CaddySettings& out) {
  if (d.args.empty() || d.args.size() > 2) fail(origin, d.line, d.name + " expects <key> [<algorithm>]");
  if (!d.args[0].empty()) add(out, role + "_jwt_key", {d.args[0]}, where(origin, d.line));
  if (d.args.size() == 2 && !d.args[1].empty()) add(out, role + "_jwt_algorithm", {d.args[1]}, where(origin, d.line));
}

/// `transport local` or `transport bolt { path P; size N; bucket_name B; cleanup_frequency F }`.
void add_transport(const CaddyDirective& d, const std::string& origin, CaddySettings& out) {
  if (d.args.size() != 1) fail(origin, d.line, "transport expects a name (bolt or local)");
  const std::string& kind = d.args[0];
  if (kind == "local") {
    add(out, "transport_url", {"local://"}, where(origin, d.line));
    return;
  }
  if (kind != "bolt")
    fail(origin, d.line, "transport " + kind + " is not a block Herald reads: give the engine as transport_url (redis://, postgres://, kafka://)");
  std::string path = "mercure.db", query;
  for (const auto& p : d.block) {
    if (p.args.size() != 1) fail(origin, p.line, "transport bolt: " + p.name + " expects one value");
    if (p.name == "path") path = p.args[0];
    else if (p.name == "size" || p.name == "bucket_name" || p.name == "cleanup_frequency")
      query += (query.empty() ? "?" : "&") + p.name + "=" + p.args[0];
    else fail(origin, p.line, "transport bolt: unknown setting " + p.name);
  }
  add(out, "transport_url", {"bolt://" + path + query}, where(origin, d.line));
}

const CaddyDirective* find_mercure(const std::vector<CaddyDirective>& directives) {
  for (const auto& d : directives) {
    if (d.name == "mercure") return &d;
    if (d.name == "route" || d.name == "handle" || d.name == "handle_path")
      if (const auto* inner = find_mercure(d.block)) return inner;
  }
  return nullptr;
}

/// Site directives other than mercure and tls, by name (route/handle blocks looked into).
void ignored_names(const std::vector<CaddyDirective>& directives, std::set<std::string>& names) {
  for (const auto& d : directives) {
    if (d.name == "mercure" || d.name == "tls") continue;
    if (d.name == "route" || d.name == "handle" || d.name == "handle_path") ignored_names(d.block, names);
    else names.insert(d.name);
  }
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// `tls <cert> <key>`; other forms (internal, an email for ACME) are noted and ignored.
bool add_tls(const std::vector<CaddyDirective>& directives, const std::string& origin, CaddySettings& out) {
  for (const auto& d : directives) {
    if (d.name != "tls") continue;
    if (d.args.size() == 2) {
      add(out, "cert_file", {d.args[0]}, where(origin, d.line));
      add(out, "key_file", {d.args[1]}, where(origin, d.line));
      return true;
    }
    out.notices.push_back("tls at " + where(origin, d.line) +
                          " ignored: Herald makes no certificates (give tls <cert_file> <key_file>)");
  }
  return false;
}

void add_global(const std::vector<CaddyDirective>& global, const std::string& origin, CaddySettings& out) {
  std::set<std::string> ignored;
  for (const auto& g : global) {
    if (g.name == "debug") add(out, "debug", {}, where(origin, g.line));
    else if (g.name == "admin" && !g.args.empty()) add(out, "admin_addr", {g.args[0]}, where(origin, g.line));
    else ignored.insert(g.name);
  }
  if (!ignored.empty()) out.notices.push_back("global options ignored (Herald is not Caddy): " + joined(ignored));
}

}  // namespace

void add_mercure_directives(const std::vector<CaddyDirective>& directives, const std::string& origin,
                            CaddySettings& out) {
  for (const auto& d : directives) {
    if (d.name == "publisher_jwt" || d.name == "subscriber_jwt") {
      add_jwt(d, d.name.substr(0, d.name.find('_')), origin, out);
      continue;
    }
    if (d.name == "transport") {
      add_transport(d, origin, out);
      continue;
    }
    if (d.name == "topic_selector_cache") {  // `<size>` (a second, legacy number is ignored)
      if (d.args.empty()) fail(origin, d.line, "topic_selector_cache expects a size");
      add(out, "topic_selector_cache", {d.args[0]}, where(origin, d.line));
      continue;
    }
    auto it = std::find_if(std::begin(kDirectives), std::end(kDirectives),
                           [&](const MercureDirective& m) { return d.name == m.name; });
    if (it == std::end(kDirectives)) fail(origin, d.line, "unknown mercure directive " + d.name);
    if (!d.block.empty()) fail(origin, d.line, d.name + " takes no block");
    if (it->arity == Arity::one && d.args.size() != 1) fail(origin, d.line, d.name + " expects one value");
    if (it->arity == Arity::flag && d.args.size() > 1) fail(origin, d.line, d.name + " expects at most one value");
    if (it->option) add(out, it->option, d.args, where(origin, d.line));
  }
}

std::string listen_addr_for_site(const std::vector<std::string>& addresses, bool tls, const std::string& origin,
                                 std::vector<std::string>& notices) {
  if (addresses.empty()) fail(origin, 0, "a site needs an address (\":80\", \"localhost\", \"example.com\")");
  std::string a = addresses.front();
  if (addresses.size() > 1) notices.push_back("site addresses after " + a + " ignored: Herald listens on one address");
  std::string scheme;
  if (auto p = a.find("://"); p != std::string::npos) {
    scheme = a.substr(0, p);
    a = a.substr(p + 3);
  }
  if (scheme != "" && scheme != "http" && scheme != "https") fail(origin, 0, "site address scheme " + scheme + " is not http or https");
  if (auto slash = a.find('/'); slash != std::string::npos) a = a.substr(0, slash);
  std::string host = a, port;
  auto colon = a.rfind(':');
  if (colon != std::string::npos && a.find(']', colon) == std::string::npos) {
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
  }
  if (!port.empty() && port.find_first_not_of("0123456789") != std::string::npos)
    fail(origin, 0, "site address " + addresses.front() + " has a bad port");
  if (port.empty()) port = (scheme == "https" || (scheme.empty() && tls)) ? "443" : "80";
  if (!host.empty() && !tls && scheme != "http")
    notices.push_back("site " + addresses.front() + " is served in plain HTTP on port " + port +
                      ": Herald does no automatic HTTPS (give tls <cert_file> <key_file>)");
  return ":" + port;
}

CaddySettings settings_from_caddyfile(const Caddyfile& file, const std::string& origin) {
  CaddySettings out;
  add_global(file.global, origin, out);
  const CaddySite* site = nullptr;
  const CaddyDirective* mercure = nullptr;
  for (const auto& s : file.sites) {
    if ((mercure = find_mercure(s.directives))) {
      site = &s;
      break;
    }
  }
  if (!site) fail(origin, 0, "no site has a mercure directive");
  add_mercure_directives(mercure->block, origin, out);
  bool tls = add_tls(site->directives, origin, out);
  add(out, "addr", {listen_addr_for_site(site->addresses, tls, where(origin, site->line), out.notices)},
      where(origin, site->line));
  std::set<std::string> ignored;
  ignored_names(site->directives, ignored);
  if (!ignored.empty())
    out.notices.push_back("Caddyfile directives ignored (Herald reads mercure, tls and the site address): " + joined(ignored));
  if (file.sites.size() > 1) out.notices.push_back("Caddyfile sites other than " + site->addresses.front() + " ignored");
  return out;
}

CaddySettings settings_from_image_env(const CaddyEnv& env) {
  CaddySettings out;
  auto text = [&](const char* name) -> std::string {
    const char* v = env(name);
    return v ? v : "";
  };
  if (auto g = text("GLOBAL_OPTIONS"); !g.empty())
    add_global(parse_caddy_directives(g, "environment GLOBAL_OPTIONS", env), "environment GLOBAL_OPTIONS", out);
  if (auto extra = text("MERCURE_EXTRA_DIRECTIVES"); !extra.empty())
    add_mercure_directives(parse_caddy_directives(extra, "environment MERCURE_EXTRA_DIRECTIVES", env),
                           "environment MERCURE_EXTRA_DIRECTIVES", out);
  bool tls = false;
  if (auto server = text("CADDY_SERVER_EXTRA_DIRECTIVES"); !server.empty()) {
    std::string origin = "environment CADDY_SERVER_EXTRA_DIRECTIVES";
    auto directives = parse_caddy_directives(server, origin, env);
    tls = add_tls(directives, origin, out);
    std::set<std::string> ignored;
    ignored_names(directives, ignored);
    if (!ignored.empty()) out.notices.push_back(origin + ": directives ignored (Herald reads tls): " + joined(ignored));
  }
  if (!text("CADDY_EXTRA_CONFIG").empty())
    out.notices.push_back("environment CADDY_EXTRA_CONFIG ignored: Herald serves only the Mercure hub");
  if (const char* name = env("SERVER_NAME")) {
    std::string origin = "environment SERVER_NAME";
    std::vector<std::string> addresses;
    std::string s = name;
    for (std::size_t from = 0; from <= s.size();) {
      auto comma = s.find_first_of(", ", from);
      auto part = s.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
      if (!part.empty()) addresses.push_back(part);
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    if (!addresses.empty()) add(out, "addr", {listen_addr_for_site(addresses, tls, origin, out.notices)}, origin);
  }
  return out;
}

}  // namespace herald
