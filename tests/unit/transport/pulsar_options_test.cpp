// The Pulsar transport URL in the Mercure HA hub's form, and its errors.
#include "transport/pulsar/pulsar_options.hpp"

#include <boost/url/parse.hpp>
#include <gtest/gtest.h>

#include "core/config_error.hpp"

namespace herald {
namespace {

PulsarOptions parse(const std::string& url) { return parse_pulsar_url(*boost::urls::parse_uri(url)); }

TEST(PulsarOptions, TheMercureHaHubsUrlWorksUnchanged) {
  auto o = parse("pulsar://localhost:6650?topic=mercure-ha&subscription_name=node-1");
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 6650);
  EXPECT_FALSE(o.tls);
  EXPECT_EQ(o.topic, "persistent://public/default/mercure-ha");  // a short name lives in public/default
  EXPECT_EQ(o.subscription_name, "node-1");
  EXPECT_TRUE(o.token.empty());
}

TEST(PulsarOptions, DefaultsTlsFullTopicNamesAndToken) {
  auto d = parse("pulsar://pulsar.example");
  EXPECT_EQ(d.port, 6650);
  EXPECT_EQ(d.topic, "persistent://public/default/mercure");
  EXPECT_TRUE(d.subscription_name.empty()) << "empty: the node id is used";
  auto s = parse("pulsar+ssl://pulsar.example?topic=persistent%3A%2F%2Facme%2Fhubs%2Fevents&tls_ca_file=/ca.pem&token=abc.def.ghi");
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.port, 6651);
  EXPECT_EQ(s.topic, "persistent://acme/hubs/events");
  EXPECT_EQ(s.tls_ca_file, "/ca.pem");
  EXPECT_EQ(s.token, "abc.def.ghi");
  auto t = parse("pulsar://127.0.0.1:16650/?publish_timeout=3s&connect_timeout=2s&presence_ttl=5s");
  EXPECT_EQ(t.port, 16650);
  EXPECT_EQ(t.publish_timeout, std::chrono::seconds(3));
  EXPECT_EQ(t.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(t.presence_ttl, std::chrono::seconds(5));
}

TEST(PulsarOptions, BadUrlsAreOneLineConfigErrorsThatNeverShowTheToken) {
  const char* bad[] = {
      "pulsar://",                                              // no host
      "pulsar://h:6650/some/path",                              // a path
      "pulsar://h?topic=",                                      // empty topic
      "pulsar://h?topic=a/b",                                   // a short name with '/'
      "pulsar://h?topic=non-persistent%3A%2F%2Fpublic%2Fdefault%2Ft",  // not stored: no history
      "pulsar://h?topic=persistent%3A%2F%2Fpublic%2Ft",         // tenant/namespace/topic incomplete
      "pulsar://h?subscription_name=",                          // empty subscription
      "pulsar://h?subscription_name=a%20b",                     // a space
      "pulsar://h?token=",                                      // empty token
      "pulsar://h?tls_ca_file=/ca.pem",                         // a CA without TLS
      "pulsar://h?publish_timeout=soon",                        // a bad duration
      "pulsar://h?presence_ttl=100ms",                          // too short
      "pulsar://h?stream=x&token=s3cr3t-token",                 // an unknown parameter
      "pulsar://user:s3cr3t-token@h",                           // credentials in the user part
  };
  for (const char* url : bad) {
    try {
      parse(url);
      ADD_FAILURE() << "accepted: " << url;
    } catch (const ConfigError& e) {
      std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_EQ(what.rfind("invalid transport_url: ", 0), 0u) << what;
      EXPECT_EQ(what.find("s3cr3t-token"), std::string::npos) << "the token leaked: " << what;
    }
  }
}

}  // namespace
}  // namespace herald
