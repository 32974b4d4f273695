// Fuzzes the Pulsar frame reader with what a broker (or anything on its port) might send: the
// first byte sets the size of the pieces the rest arrives in. Every input ends in frames, a
// wait for more bytes, or one FrameError; nothing may crash, read out of bounds or loop.
#include <cstdint>
#include <string_view>

#include "transport/pulsar/pulsar_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald::pulsar;
  if (size == 0) return 0;
  std::size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  FrameReader reader;
  for (std::size_t i = 0; i < in.size(); i += piece) {
    reader.feed(in.substr(i, piece));
    while (auto frame = reader.next()) {
      if (frame->metadata) (void)frame->metadata->producer_name().size();
    }
    if (reader.error() != FrameError::kNone) break;
  }
  return 0;
}
