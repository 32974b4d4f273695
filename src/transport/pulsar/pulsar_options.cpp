#include "transport/pulsar/pulsar_options.hpp"

#include <cctype>

#include "transport/url_params.hpp"

namespace herald {
using url_params::bad;
namespace {

/// Pulsar's rule for a name part (tenant, namespace, local topic name): letters, digits and
/// - _ = : . (no '/'), not empty.
bool valid_part(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '=' && c != ':' && c != '.')
      return false;
  return true;
}
}  // namespace

std::string pulsar_topic_name(const std::string& name) {
  static const std::string kPersistent = "persistent://";
  if (name.rfind("non-persistent://", 0) == 0) bad("topic must be persistent: history needs stored messages");
  if (name.rfind(kPersistent, 0) != 0) {
    if (!valid_part(name))
      bad("topic \"" + name + "\" may only contain letters, digits, '-', '_', '=', ':' and '.' "
          "(or be a full persistent://tenant/namespace/topic name)");
    return kPersistent + "public/default/" + name;
  }
  std::string rest = name.substr(kPersistent.size());
  auto a = rest.find('/'), b = a == std::string::npos ? a : rest.find('/', a + 1);
  if (b == std::string::npos || rest.find('/', b + 1) != std::string::npos || !valid_part(rest.substr(0, a)) ||
      !valid_part(rest.substr(a + 1, b - a - 1)) || !valid_part(rest.substr(b + 1)))
    bad("topic \"" + name + "\" is not persistent://tenant/namespace/topic");
  return name;
}

PulsarOptions parse_pulsar_url(const boost::urls::url_view& url) {
  PulsarOptions o;
  std::string scheme(url.scheme());
  if (scheme != "pulsar" && scheme != "pulsar+ssl") bad("the scheme must be pulsar:// or pulsar+ssl://");
  o.tls = scheme == "pulsar+ssl";
  if (!url.has_authority() || url.host().empty()) bad("missing the Pulsar broker (pulsar://host:6650)");
  if (url.has_userinfo()) bad("credentials go in token=, not in the URL's user part");
  o.host = url.host_address();
  o.port = o.tls ? 6651 : 6650;
  if (url.has_port() && !url.port().empty()) {
    if (url.port_number() == 0) bad("the port must be 1-65535");
    o.port = url.port_number();
  }
  if (!url.path().empty() && url.path() != "/") bad("the URL takes no path: the topic goes in topic=");
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "topic") {
      o.topic = pulsar_topic_name(v);
    } else if (k == "subscription_name") {
      if (!valid_part(v))
        bad("subscription_name must be letters, digits, '-', '_', '=', ':' or '.' (leave it out to use the node id)");
      o.subscription_name = v;
    } else if (k == "token") {
      if (v.empty()) bad("token must not be empty");
      o.token = v;
    } else if (k == "tls_ca_file") {
      o.tls_ca_file = v;
    } else if (k == "connect_timeout" || k == "publish_timeout" || k == "presence_ttl") {
      Duration d = url_params::duration(k, v, false);
      (k == "connect_timeout" ? o.connect_timeout : k == "publish_timeout" ? o.publish_timeout : o.presence_ttl) = d;
    } else {
      bad("unknown parameter \"" + k + "\" for pulsar:// (known: topic, subscription_name, token, tls_ca_file, "
          "connect_timeout, publish_timeout, presence_ttl)");
    }
  }
  if (!o.tls && !o.tls_ca_file.empty()) bad("tls_ca_file needs pulsar+ssl://");
  if (o.presence_ttl != Duration::zero() && o.presence_ttl < std::chrono::seconds(1)) bad("presence_ttl must be at least 1s");
  return o;
}

}  // namespace herald
