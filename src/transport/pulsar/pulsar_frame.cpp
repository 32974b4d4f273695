#include "transport/pulsar/pulsar_frame.hpp"

#include <array>

namespace herald::pulsar {
namespace {
constexpr std::uint16_t kMagicCrc32c = 0x0e01;
constexpr std::uint16_t kMagicBrokerEntryMetadata = 0x0e02;

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli
    table[i] = c;
  }
  return table;
}
constexpr auto kCrc32cTable = make_crc32c_table();

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
std::uint32_t get_u32(std::string_view s, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}
std::uint16_t get_u16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) << 8 | static_cast<unsigned char>(s[at + 1]));
}
}  // namespace

std::uint32_t crc32c(std::uint32_t crc, std::string_view data) {
  crc = ~crc;
  for (unsigned char c : data) crc = kCrc32cTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string encode_command(const proto::BaseCommand& command) {
  std::string body = command.SerializeAsString();
  std::string out;
  out.reserve(8 + body.size());
  put_u32(out, static_cast<std::uint32_t>(4 + body.size()));
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  out += body;
  return out;
}

std::string encode_payload_command(const proto::BaseCommand& command, const proto::MessageMetadata& metadata,
                                   std::string_view payload) {
  std::string cmd = command.SerializeAsString();
  std::string meta = metadata.SerializeAsString();
  std::string checked;  // metadataSize · metadata · payload: what the checksum covers
  checked.reserve(4 + meta.size() + payload.size());
  put_u32(checked, static_cast<std::uint32_t>(meta.size()));
  checked += meta;
  checked.append(payload);
  std::string out;
  out.reserve(8 + cmd.size() + 6 + checked.size());
  put_u32(out, static_cast<std::uint32_t>(4 + cmd.size() + 6 + checked.size()));
  put_u32(out, static_cast<std::uint32_t>(cmd.size()));
  out += cmd;
  put_u16(out, kMagicCrc32c);
  put_u32(out, crc32c(0, checked));
  out += checked;
  return out;
}

std::optional<Frame> FrameReader::next() {
  if (error_ != FrameError::kNone) return std::nullopt;
  std::string_view in(buffer_);
  in.remove_prefix(consumed_);
  if (in.size() < 4) return std::nullopt;
  std::uint32_t total = get_u32(in, 0);
  if (total > kMaxFrameSize) return fail(FrameError::kTooLarge);
  if (total < 4) return fail(FrameError::kMalformed);
  if (in.size() < 4 + static_cast<std::size_t>(total)) return std::nullopt;
  std::string_view frame = in.substr(4, total);
  std::uint32_t command_size = get_u32(frame, 0);
  if (command_size > total - 4) return fail(FrameError::kMalformed);
  Frame out;
  if (!out.command.ParsePartialFromArray(frame.data() + 4, static_cast<int>(command_size)) || !out.command.has_type())
    return fail(FrameError::kMalformed);
  std::string_view rest = frame.substr(4 + command_size);
  if (!rest.empty()) {
    if (rest.size() >= 6 && get_u16(rest, 0) == kMagicBrokerEntryMetadata) {
      std::uint32_t size = get_u32(rest, 2);
      if (size > rest.size() - 6) return fail(FrameError::kMalformed);
      rest.remove_prefix(6 + size);  // broker entry metadata: not asked for, skipped
    }
    if (rest.size() < 10 || get_u16(rest, 0) != kMagicCrc32c) return fail(FrameError::kMalformed);
    std::uint32_t checksum = get_u32(rest, 2);
    std::string_view checked = rest.substr(6);
    if (crc32c(0, checked) != checksum) return fail(FrameError::kBadChecksum);
    std::uint32_t meta_size = get_u32(checked, 0);
    if (meta_size > checked.size() - 4) return fail(FrameError::kMalformed);
    out.metadata.emplace();
    if (!out.metadata->ParsePartialFromArray(checked.data() + 4, static_cast<int>(meta_size)))
      return fail(FrameError::kMalformed);
    out.payload.assign(checked.substr(4 + meta_size));
  }
  consumed_ += 4 + total;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 64 * 1024 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return out;
}

const char* describe(FrameError error) {
  switch (error) {
    case FrameError::kNone: return "none";
    case FrameError::kTooLarge: return "a frame larger than the broker's maximum message size";
    case FrameError::kMalformed: return "a malformed frame";
    case FrameError::kBadChecksum: return "a message whose CRC32-C checksum does not match";
  }
  return "unknown";
}

const char* server_error_name(std::int32_t code) {
  static constexpr const char* kNames[] = {
      "UnknownError", "MetadataError", "PersistenceError", "AuthenticationError", "AuthorizationError",
      "ConsumerBusy", "ServiceNotReady", "ProducerBlockedQuotaExceededError",
      "ProducerBlockedQuotaExceededException", "ChecksumError", "UnsupportedVersionError", "TopicNotFound",
      "SubscriptionNotFound", "ConsumerNotFound", "TooManyRequests", "TopicTerminatedError", "ProducerBusy",
      "InvalidTopicName", "IncompatibleSchema", "ConsumerAssignError", "TransactionCoordinatorNotFound",
      "InvalidTxnStatus", "NotAllowedError", "TransactionConflict", "TransactionNotFound", "ProducerFenced"};
  if (code < 0 || static_cast<std::size_t>(code) >= std::size(kNames)) return "UnknownError";
  return kNames[code];
}

}  // namespace herald::pulsar
