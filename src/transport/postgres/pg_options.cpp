#include "transport/postgres/pg_options.hpp"

#include <boost/url/parse.hpp>
#include <libpq-fe.h>

#include "transport/url_params.hpp"

namespace herald {
namespace {

using url_params::bad;
using url_params::number;
Duration parse_positive(const std::string& key, const std::string& v, bool zero_ok) {
  return url_params::duration(key, v, zero_ok);
}

/// The libpq pairs a postgres:// URL names (host, port, user, password, dbname). Parameters
/// are left to the caller.
std::vector<std::pair<std::string, std::string>> connection_pairs(const boost::urls::url_view& url,
                                                                  const char* what) {
  std::vector<std::pair<std::string, std::string>> out;
  if (url.scheme() != "postgres" && url.scheme() != "postgresql")
    bad(std::string(what) + " must start with postgres:// or postgresql://");
  if (!url.has_authority() || url.host().empty()) bad(std::string("missing the PostgreSQL host in ") + what);
  out.emplace_back("host", url.host_address());
  if (url.has_port()) {
    if (url.port().empty()) bad(std::string("the PostgreSQL port in ") + what + " is empty or not a number");
    auto port = number("port", std::string(url.port()), 65535);
    if (port == 0) bad("port must be between 1 and 65535");
    out.emplace_back("port", std::to_string(port));
  }
  if (url.has_userinfo()) {
    if (!url.user().empty()) out.emplace_back("user", url.user());
    if (url.has_password()) out.emplace_back("password", url.password());
  }
  std::string db = url.path();
  while (!db.empty() && db.front() == '/') db.erase(0, 1);
  if (db.find('/') != std::string::npos) bad(std::string("the database name in ") + what + " must not contain '/'");
  if (!db.empty()) out.emplace_back("dbname", db);
  return out;
}

/// Whether libpq knows `key` as a connection parameter (PQconndefaults lists them all).
bool libpq_knows(const std::string& key) {
  PQconninfoOption* options = PQconndefaults();
  bool known = false;
  for (auto* o = options; o && o->keyword; ++o)
    if (key == o->keyword) known = true;
  PQconninfoFree(options);
  return known;
}

std::string value_of(const std::vector<std::pair<std::string, std::string>>& pairs, const char* key,
                     const char* fallback) {
  for (const auto& [k, v] : pairs)
    if (k == key) return v;
  return fallback;
}

}  // namespace

PgOptions parse_pg_url(const boost::urls::url_view& url) {
  PgOptions o;
  o.conninfo = connection_pairs(url, "transport_url");
  std::string listen_url;
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "size") o.size = number(k, v, std::uint64_t(1) << 62);
    else if (k == "events_size") o.events_size = number(k, v, std::uint64_t(1) << 32);
    else if (k == "batch_max") o.batch_max = std::max<std::uint64_t>(1, number(k, v, 100000));
    else if (k == "table") o.table = v;
    else if (k == "listen_url") listen_url = v;
    else if (k == "max_age") o.max_age = parse_positive(k, v, true);
    else if (k == "presence_ttl") o.presence_ttl = parse_positive(k, v, false);
    else if (k == "poll_interval") o.poll_interval = parse_positive(k, v, false);
    else if (k == "connect_timeout") {
      // Herald's own (a duration) and libpq's (whole seconds) under one name: both are set.
      o.connect_timeout = parse_positive(k, v, false);
      auto s = std::chrono::duration_cast<std::chrono::seconds>(o.connect_timeout).count();
      o.conninfo.emplace_back("connect_timeout", std::to_string(std::max<long long>(2, s)));
    } else if (k == "host" || k == "port" || k == "user" || k == "password" || k == "dbname") {
      bad("give " + k + " in the URL itself, not as a parameter");
    } else if (!libpq_knows(k)) {
      bad("unknown parameter \"" + k + "\" for postgres:// (Herald's: size, max_age, events_size, table, "
          "listen_url, presence_ttl, poll_interval, connect_timeout, batch_max; or any libpq connection parameter)");
    } else {
      o.conninfo.emplace_back(k, v);  // libpq checks the value when connecting
    }
  }
  // Herald's statements are short: JIT compilation only ever costs them time.
  bool has_options = false;
  for (const auto& [k, v] : o.conninfo) has_options = has_options || k == "options";
  if (!has_options) o.conninfo.emplace_back("options", "-c jit=off");
  if (o.table.empty() || o.table.size() > 40 || o.table.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
                                                    std::string::npos || (o.table[0] >= '0' && o.table[0] <= '9'))
    bad("table must be 1 to 40 lower-case letters, digits or '_', not starting with a digit");
  if (o.presence_ttl < std::chrono::seconds(1)) bad("presence_ttl must be at least 1s");
  if (!listen_url.empty()) {
    auto parsed = boost::urls::parse_uri(listen_url);
    if (!parsed) bad("listen_url is not a URL");
    o.listen_conninfo = connection_pairs(*parsed, "listen_url");
    for (auto param : parsed->params()) o.listen_conninfo.emplace_back(param.key, param.value);
  } else {
    o.listen_conninfo = o.conninfo;
  }
  o.host_for_logs = value_of(o.conninfo, "host", "") + ":" + value_of(o.conninfo, "port", "5432") + "/" +
                    value_of(o.conninfo, "dbname", value_of(o.conninfo, "user", "").c_str());
  return o;
}

}  // namespace herald
