// Fuzzes the form and query decoders: never crash, and what decodes is a list of pairs
// that re-decodes the same once re-encoded.
#include <cstdint>
#include <cstdlib>

#include "http/http_common.hpp"
#include "hub/subscription_document.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto form = http_detail::parse_form(in);
  (void)http_detail::parse_query(in);
  if (!form) return 0;
  std::string again;
  for (const auto& [k, v] : *form) {
    if (!again.empty()) again += '&';
    again += query_escape(k) + "=" + query_escape(v);
  }
  auto round = http_detail::parse_form(again);
  if (!round || *round != *form) std::abort();
  return 0;
}
