#include <gtest/gtest.h>

#include "hub/subscription_document.hpp"

namespace herald {
namespace {

TEST(SubscriptionDocument, QueryEscapeIsGos) {
  EXPECT_EQ(query_escape("https://example.com/a b?c=d&e"), "https%3A%2F%2Fexample.com%2Fa+b%3Fc%3Dd%26e");
  EXPECT_EQ(query_escape("urn:uuid:1-2_3.4~5"), "urn%3Auuid%3A1-2_3.4~5");
  EXPECT_EQ(query_escape("{id}"), "%7Bid%7D");
  EXPECT_EQ(query_unescape("a+b%2Fc"), "a b/c");
  EXPECT_FALSE(query_unescape("%zz").has_value());
}

TEST(SubscriptionDocument, EventDocumentMatchesTheReferenceByteForByte) {
  SubscriptionView s{"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6", "https://example.com/books/{id}",
                     R"({"user":"https://example.com/users/dunglas","remoteAddr":"127.0.0.1"})", true};
  EXPECT_EQ(subscription_event_document(s),
            "{\n"
            "  \"@context\": \"https://mercure.rocks/\",\n"
            "  \"id\": \"/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D/"
            "urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
            "  \"type\": \"Subscription\",\n"
            "  \"subscriber\": \"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6\",\n"
            "  \"topic\": \"https://example.com/books/{id}\",\n"
            "  \"active\": true,\n"
            "  \"payload\": {\n"
            "    \"remoteAddr\": \"127.0.0.1\",\n"
            "    \"user\": \"https://example.com/users/dunglas\"\n"
            "  }\n"
            "}");
}

TEST(SubscriptionDocument, InactiveWithoutPayloadAndHtmlCharactersEscaped) {
  SubscriptionView s{"urn:uuid:1", "https://example.com/?a=1&b=<2>", "", false};
  EXPECT_EQ(subscription_event_document(s),
            "{\n"
            "  \"@context\": \"https://mercure.rocks/\",\n"
            "  \"id\": \"/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%3Fa%3D1%26b%3D%3C2%3E/"
            "urn%3Auuid%3A1\",\n"
            "  \"type\": \"Subscription\",\n"
            "  \"subscriber\": \"urn:uuid:1\",\n"
            "  \"topic\": \"https://example.com/?a=1\\u0026b=\\u003c2\\u003e\",\n"
            "  \"active\": false\n"
            "}");
}

TEST(SubscriptionDocument, CollectionAndSingle) {
  std::vector<SubscriberInfo> subscribers = {{"urn:uuid:a", {"t1", "t2"}, ""}, {"urn:uuid:b", {"t1"}, "42"}};
  auto all = subscriptions_of(subscribers, std::nullopt);
  ASSERT_EQ(all.size(), 3u);
  auto t1 = subscriptions_of(subscribers, std::string("t1"));
  ASSERT_EQ(t1.size(), 2u);
  EXPECT_EQ(subscription_collection_document("/.well-known/mercure/subscriptions/t2", "urn:uuid:last",
                                             subscriptions_of(subscribers, std::string("t2"))),
            "{\n"
            "  \"@context\": \"https://mercure.rocks/\",\n"
            "  \"id\": \"/.well-known/mercure/subscriptions/t2\",\n"
            "  \"type\": \"Subscriptions\",\n"
            "  \"lastEventID\": \"urn:uuid:last\",\n"
            "  \"subscriptions\": [\n"
            "    {\n"
            "      \"id\": \"/.well-known/mercure/subscriptions/t2/urn%3Auuid%3Aa\",\n"
            "      \"type\": \"Subscription\",\n"
            "      \"subscriber\": \"urn:uuid:a\",\n"
            "      \"topic\": \"t2\",\n"
            "      \"active\": true\n"
            "    }\n"
            "  ]\n"
            "}");
  EXPECT_EQ(subscription_collection_document("/x", "earliest", {}),
            "{\n  \"@context\": \"https://mercure.rocks/\",\n  \"id\": \"/x\",\n  \"type\": \"Subscriptions\",\n"
            "  \"lastEventID\": \"earliest\",\n  \"subscriptions\": []\n}");
  EXPECT_EQ(subscription_single_document(t1[1], "earliest"),
            "{\n"
            "  \"@context\": \"https://mercure.rocks/\",\n"
            "  \"id\": \"/.well-known/mercure/subscriptions/t1/urn%3Auuid%3Ab\",\n"
            "  \"type\": \"Subscription\",\n"
            "  \"subscriber\": \"urn:uuid:b\",\n"
            "  \"topic\": \"t1\",\n"
            "  \"active\": true,\n"
            "  \"payload\": 42,\n"
            "  \"lastEventID\": \"earliest\"\n"
            "}");
}
}  // namespace
}  // namespace herald
