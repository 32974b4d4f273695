#pragma once
// Pulsar's wire framing (protocol specification, "Framing"): every frame is
//   totalSize (u32 BE, the bytes after it) · commandSize (u32 BE) · BaseCommand (protobuf)
// and a payload command (SEND, MESSAGE) goes on with
//   [0x0e02 · u32 size · BrokerEntryMetadata: only when the client asked for it]
//   0x0e01 · CRC32-C (u32 BE) of everything after it · metadataSize (u32 BE) · MessageMetadata · payload.
// Pure functions and a reader that splits a byte stream into frames: no I/O, so the tests and
// the fuzz target drive them with bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "transport/pulsar/pulsar_api.pb.h"  // generated from pulsar_api.proto

namespace herald::pulsar {

namespace proto = herald::pulsar_proto;

/// BaseCommand.type values Herald sends or handles.
enum class CommandType : std::int32_t {
  kConnect = 2,
  kConnected = 3,
  kSubscribe = 4,
  kProducer = 5,
  kSend = 6,
  kSendReceipt = 7,
  kSendError = 8,
  kMessage = 9,
  kAck = 10,
  kFlow = 11,
  kSuccess = 13,
  kError = 14,
  kCloseProducer = 15,
  kCloseConsumer = 16,
  kProducerSuccess = 17,
  kPing = 18,
  kPong = 19,
  kLookup = 23,
  kLookupResponse = 24,
  kReachedEndOfTopic = 27,
  kGetLastMessageId = 29,
  kGetLastMessageIdResponse = 30,
};

/// A BaseCommand of `type`, its body to be filled in.
inline proto::BaseCommand make_command(CommandType type) {
  proto::BaseCommand c;
  c.set_type(static_cast<std::int32_t>(type));
  return c;
}

/// The largest frame accepted from the broker: its default maxMessageSize (5 MiB) plus room
/// for the command and the metadata.
constexpr std::size_t kMaxFrameSize = 5 * 1024 * 1024 + 64 * 1024;

/// CRC32-C (Castagnoli), continuing from `crc` (0 to start): crc32c(crc32c(0, a), b) is the
/// checksum of a then b.
std::uint32_t crc32c(std::uint32_t crc, std::string_view data);

/// A command frame without payload.
std::string encode_command(const proto::BaseCommand& command);
/// A payload command frame (SEND), checksummed.
std::string encode_payload_command(const proto::BaseCommand& command, const proto::MessageMetadata& metadata,
                                   std::string_view payload);

/// One frame from the broker.
struct Frame {
  proto::BaseCommand command;
  std::optional<proto::MessageMetadata> metadata;  ///< payload commands only
  std::string payload;
};

/// Why the reader stopped: the connection is then unusable and is closed (the transport
/// reconnects and resumes from the last message it delivered).
enum class FrameError { kNone, kTooLarge, kMalformed, kBadChecksum };
const char* describe(FrameError error);

/// Splits the bytes read from a connection into frames. Not thread-safe; one per connection.
class FrameReader {
 public:
  /// Appends bytes read from the socket.
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  /// The next complete frame; nullopt when more bytes are needed or after an error (error()
  /// says which; once set it stays).
  std::optional<Frame> next();
  FrameError error() const { return error_; }
  /// Bytes received and not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::optional<Frame> fail(FrameError e) {
    error_ = e;
    return std::nullopt;
  }
  std::string buffer_;
  std::size_t consumed_ = 0;
  FrameError error_ = FrameError::kNone;
};

/// The broker's error code as a log word (ServerError in the specification).
const char* server_error_name(std::int32_t code);

}  // namespace herald::pulsar
