// Pulsar's framing: commands and checksummed payload commands, split from a byte stream
// however it arrives; corrupt or oversized frames stop the reader with a reason.
#include "transport/pulsar/pulsar_frame.hpp"

#include <gtest/gtest.h>

namespace herald::pulsar {
namespace {

proto::BaseCommand ping() {
  auto c = make_command(CommandType::kPing);
  c.mutable_ping();
  return c;
}

/// A MESSAGE as the broker sends it: consumer 7, message (3, 12), payload `data`.
std::string message_frame(const std::string& data) {
  proto::BaseCommand c;
  c.set_type(static_cast<int>(CommandType::kMessage));
  auto* m = c.mutable_message();
  m->set_consumer_id(7);
  m->mutable_message_id()->set_ledgerid(3);
  m->mutable_message_id()->set_entryid(12);
  proto::MessageMetadata meta;
  meta.set_producer_name("node-a");
  meta.set_sequence_id(41);
  meta.set_publish_time(1700000000000);
  return encode_payload_command(c, meta, data);
}

std::uint32_t u32_at(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

TEST(PulsarCrc32c, MatchesTheCastagnoliCheckValueAndContinues) {
  EXPECT_EQ(crc32c(0, "123456789"), 0xE3069283u);  // the standard check value of CRC-32C
  EXPECT_EQ(crc32c(0, ""), 0u);
  EXPECT_EQ(crc32c(crc32c(0, "12345"), "6789"), 0xE3069283u);
}

TEST(PulsarFrame, ACommandFrameIsSizedAndReadBack) {
  std::string bytes = encode_command(ping());
  EXPECT_EQ(u32_at(bytes, 0), bytes.size() - 4);
  EXPECT_EQ(u32_at(bytes, 4), bytes.size() - 8);
  FrameReader r;
  r.feed(bytes);
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->command.type(), static_cast<int>(CommandType::kPing));
  EXPECT_FALSE(f->metadata);
  EXPECT_FALSE(r.next());
  EXPECT_EQ(r.error(), FrameError::kNone);
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(PulsarFrame, APayloadFrameCarriesTheMagicAChecksumTheMetadataAndThePayload) {
  std::string bytes = message_frame("hello\nworld");
  std::uint32_t command_size = u32_at(bytes, 4);
  std::size_t at = 8 + command_size;
  EXPECT_EQ(static_cast<unsigned char>(bytes[at]), 0x0e);
  EXPECT_EQ(static_cast<unsigned char>(bytes[at + 1]), 0x01);
  EXPECT_EQ(u32_at(bytes, at + 2), crc32c(0, std::string_view(bytes).substr(at + 6)));
  FrameReader r;
  r.feed(bytes);
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->command.message().consumer_id(), 7u);
  EXPECT_EQ(f->command.message().message_id().ledgerid(), 3u);
  EXPECT_EQ(f->command.message().message_id().entryid(), 12u);
  ASSERT_TRUE(f->metadata);
  EXPECT_EQ(f->metadata->producer_name(), "node-a");
  EXPECT_EQ(f->metadata->sequence_id(), 41u);
  EXPECT_EQ(f->payload, "hello\nworld");
}

TEST(PulsarFrame, FramesArriveInAnyPiecesAndSeveralAtOnce) {
  std::string stream = encode_command(ping()) + message_frame("one") + message_frame(std::string(70000, 'x')) +
                       encode_command(ping());
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, stream.size()}) {
    FrameReader r;
    std::vector<Frame> got;
    for (std::size_t i = 0; i < stream.size(); i += piece) {
      r.feed(std::string_view(stream).substr(i, piece));
      while (auto f = r.next()) got.push_back(std::move(*f));
    }
    ASSERT_EQ(got.size(), 4u) << "pieces of " << piece;
    EXPECT_EQ(got[1].payload, "one");
    EXPECT_EQ(got[2].payload.size(), 70000u);
    EXPECT_EQ(got[3].command.type(), static_cast<int>(CommandType::kPing));
    EXPECT_EQ(r.error(), FrameError::kNone);
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(PulsarFrame, ACorruptPayloadIsRefusedByItsChecksum) {
  std::string bytes = message_frame("payload");
  bytes[bytes.size() - 2] ^= 0x20;
  FrameReader r;
  r.feed(bytes);
  EXPECT_FALSE(r.next());
  EXPECT_EQ(r.error(), FrameError::kBadChecksum);
  r.feed(encode_command(ping()));
  EXPECT_FALSE(r.next()) << "after an error the connection is done";
}

TEST(PulsarFrame, OversizedAndMalformedFramesStopTheReader) {
  FrameReader big;
  big.feed(std::string("\x7f\xff\xff\xff", 4));
  EXPECT_FALSE(big.next());
  EXPECT_EQ(big.error(), FrameError::kTooLarge);

  std::string bad_size = encode_command(ping());
  bad_size[7] = static_cast<char>(bad_size[7] + 50);  // commandSize past the frame
  FrameReader r1;
  r1.feed(bad_size);
  EXPECT_FALSE(r1.next());
  EXPECT_EQ(r1.error(), FrameError::kMalformed);

  FrameReader r2;  // a frame of garbage where the command should be
  r2.feed(std::string("\x00\x00\x00\x08\x00\x00\x00\x04\xff\xff\xff\xff", 12));
  EXPECT_FALSE(r2.next());
  EXPECT_EQ(r2.error(), FrameError::kMalformed);

  std::string no_magic = message_frame("p");
  std::size_t at = 8 + u32_at(no_magic, 4);
  no_magic[at + 1] = 0x05;
  FrameReader r3;
  r3.feed(no_magic);
  EXPECT_FALSE(r3.next());
  EXPECT_EQ(r3.error(), FrameError::kMalformed);
}

TEST(PulsarFrame, BrokerEntryMetadataIsSkippedAndUnknownCommandTypesStillParse) {
  std::string plain = message_frame("body");
  std::size_t at = 8 + u32_at(plain, 4);
  std::string entry_meta("\x0e\x02\x00\x00\x00\x03\x08\x01\x10", 9);  // 0x0e02, size 3, 3 bytes
  std::string with = plain.substr(0, at) + entry_meta + plain.substr(at);
  std::uint32_t total = static_cast<std::uint32_t>(with.size() - 4);
  with[0] = static_cast<char>(total >> 24);
  with[1] = static_cast<char>(total >> 16);
  with[2] = static_cast<char>(total >> 8);
  with[3] = static_cast<char>(total);
  proto::BaseCommand future;
  future.set_type(68);  // a command this client does not know (TOPIC_MIGRATED)
  FrameReader r;
  r.feed(with + encode_command(future));
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "body");
  auto g = r.next();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->command.type(), 68);
}

TEST(PulsarFrame, AFrameFromAnIndependentEncoderIsRead) {
  // A MESSAGE then a PING, encoded by a separate Python script from the specification (the
  // seed of the pulsar_frame fuzz corpus, without its first byte): framing, varints and the
  // CRC32-C agree with an implementation that shares no code with this one.
  const char* hex =
      "000000360000000c08094a08080712040803100c0e012e97a591000000110a066e6f64652d6110291880d095ffbc31"
      "646174613a2068656c6c6f00000009000000050812920100";
  std::string bytes;
  for (const char* p = hex; p[0] && p[1]; p += 2) bytes.push_back(static_cast<char>(std::stoi(std::string(p, 2), nullptr, 16)));
  FrameReader r;
  r.feed(bytes);
  auto f = r.next();
  ASSERT_TRUE(f) << describe(r.error());
  EXPECT_EQ(f->command.type(), static_cast<int>(CommandType::kMessage));
  EXPECT_EQ(f->command.message().message_id().entryid(), 12u);
  ASSERT_TRUE(f->metadata);
  EXPECT_EQ(f->metadata->publish_time(), 1700000000000u);
  EXPECT_EQ(f->payload, "data: hello");
  auto g = r.next();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->command.type(), static_cast<int>(CommandType::kPing));
  // And this encoder writes the same bytes for the same message.
  proto::BaseCommand c;
  c.set_type(static_cast<int>(CommandType::kMessage));
  c.mutable_message()->set_consumer_id(7);
  c.mutable_message()->mutable_message_id()->set_ledgerid(3);
  c.mutable_message()->mutable_message_id()->set_entryid(12);
  proto::MessageMetadata meta;
  meta.set_producer_name("node-a");
  meta.set_sequence_id(41);
  meta.set_publish_time(1700000000000);
  EXPECT_EQ(encode_payload_command(c, meta, "data: hello"), bytes.substr(0, bytes.size() - 13));
}

TEST(PulsarFrame, ServerErrorsHaveNames) {
  EXPECT_STREQ(server_error_name(3), "AuthenticationError");
  EXPECT_STREQ(server_error_name(6), "ServiceNotReady");
  EXPECT_STREQ(server_error_name(25), "ProducerFenced");
  EXPECT_STREQ(server_error_name(999), "UnknownError");
  EXPECT_STREQ(server_error_name(-1), "UnknownError");
}

}  // namespace
}  // namespace herald::pulsar
