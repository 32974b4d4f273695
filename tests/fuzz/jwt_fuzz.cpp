// Fuzzes JWT parsing and verification (an HS256 key): never crash, never throw, and every
// refusal carries a reason for the log. The claims extractor also runs on any input that
// is a JSON object, signed or not.
#include <cstdint>
#include <cstdlib>

#include "auth/claims.hpp"
#include "auth/jwks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald;
  static KeySet keys = [] {
    std::string why;
    auto k = JwtKey::from_config("!ChangeThisMercureHubJWTSecretKey!", JwtAlg::HS256, &why);
    if (!k) std::abort();
    return KeySet({*k});
  }();
  std::string_view token(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto r = verify_token(token, keys, 1700000000, &why);
  if (!r && why.empty()) std::abort();  // every refusal says why
  // Claims extraction on the decoded payload as JSON, whatever its signature.
  auto j = nlohmann::json::parse(token, nullptr, false);
  if (!j.is_discarded() && j.is_object()) (void)extract_mercure_claims(j, &why);
  return 0;
}
