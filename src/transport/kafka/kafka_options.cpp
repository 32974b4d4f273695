#include "transport/kafka/kafka_options.hpp"

#include <cctype>
#include <charconv>

#include "transport/url_params.hpp"

namespace herald {
using url_params::bad;
using url_params::flag;
namespace {

/// host:port (a bracketed IPv6 literal as host allowed), port 1..65535.
void check_broker(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (addr.empty() || colon == std::string::npos || colon == 0 || colon + 1 == addr.size())
    bad("addr \"" + addr + "\" is not host:port");
  std::string port = addr.substr(colon + 1);
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || end != port.data() + port.size() || n == 0 || n > 65535)
    bad("addr \"" + addr + "\" has no valid port (1-65535)");
  if (addr.find_first_of(", \t\r\n") != std::string::npos) bad("addr \"" + addr + "\" must be one host:port per addr");
}

/// Kafka's rule for topic names: 1-249 of [a-zA-Z0-9._-], not "." or "..".
void check_topic(const std::string& t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") bad("topic must be 1 to 249 characters, not \".\" or \"..\"");
  for (char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      bad("topic \"" + t + "\" may only contain letters, digits, '.', '_' and '-'");
}
}  // namespace

KafkaOptions parse_kafka_url(const boost::urls::url_view& url) {
  KafkaOptions o;
  bool has_sasl_mechanism = false;
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "addr") {
      check_broker(v);
      o.brokers.push_back(v);
    } else if (k == "topic") {
      check_topic(v);
      o.topic = v;
    } else if (k == "consumer_group") {
      if (v.empty()) bad("consumer_group must not be empty (leave it out to use the node id)");
      o.consumer_group = v;
    } else if (k == "user") {
      o.user = v;
    } else if (k == "password") {
      o.password = v;
    } else if (k == "sasl_mechanism") {
      if (v != "PLAIN" && v != "SCRAM-SHA-256" && v != "SCRAM-SHA-512")
        bad("sasl_mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
      o.sasl_mechanism = v;
      has_sasl_mechanism = true;
    } else if (k == "tls") {
      o.tls = flag(k, v);
    } else if (k == "tls_ca_file") {
      o.tls_ca_file = v;
    } else if (k == "tls_insecure") {
      o.tls_verify = !flag(k, v);
    } else if (k == "connect_timeout" || k == "publish_timeout" || k == "presence_ttl") {
      Duration d = url_params::duration(k, v, false);
      (k == "connect_timeout" ? o.connect_timeout : k == "publish_timeout" ? o.publish_timeout : o.presence_ttl) = d;
    } else if (k == "linger") {
      o.linger = url_params::duration(k, v, true);
      if (o.linger > std::chrono::seconds(1)) bad("linger must be at most 1s");
    } else {
      bad("unknown parameter \"" + k + "\" for kafka:// (known: addr, topic, consumer_group, user, password, "
          "sasl_mechanism, tls, tls_ca_file, tls_insecure, connect_timeout, publish_timeout, presence_ttl, linger)");
    }
  }
  if (o.brokers.empty()) {
    // kafka://host:port/?topic=... names the broker in the URL itself.
    if (!url.has_authority() || url.host().empty()) bad("missing the Kafka brokers (addr=host:port)");
    std::string host = url.host_address();
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    std::string addr = host + ":" + (url.has_port() && !url.port().empty() ? std::string(url.port()) : "9092");
    check_broker(addr);
    o.brokers.push_back(addr);
  }
  if (o.user.empty() && !o.password.empty()) bad("password is given without user");
  if (o.user.empty() && has_sasl_mechanism) bad("sasl_mechanism is given without user and password");
  if (!o.tls && (!o.tls_ca_file.empty() || !o.tls_verify)) bad("tls_ca_file and tls_insecure need tls=1");
  if (o.presence_ttl != Duration::zero() && o.presence_ttl < std::chrono::seconds(1)) bad("presence_ttl must be at least 1s");
  return o;
}

}  // namespace herald
