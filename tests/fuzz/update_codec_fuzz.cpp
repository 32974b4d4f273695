// Fuzzes the stored update codec (LMDB records, Redis stream fields): decoding arbitrary
// bytes never crashes, and whatever decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "transport/update_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = decode_stored_update(in);
  if (!d) return 0;
  std::string again = encode_stored_update(*d->update, d->stored_at_ms);
  auto d2 = decode_stored_update(again);
  if (!d2 || encode_stored_update(*d2->update, d2->stored_at_ms) != again) std::abort();
  (void)id_index_key(d->update->id);
  return 0;
}
