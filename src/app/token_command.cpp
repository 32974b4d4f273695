#include "app/token_command.hpp"

#include <chrono>

#include "auth/base64url.hpp"
#include "auth/jwt_key.hpp"

namespace herald {
Result<std::string> make_token(const TokenRequest& r, std::string* why) {
  auto alg = parse_jwt_alg(r.algorithm);
  if (!alg) {
    if (why) *why = "unknown algorithm " + r.algorithm;
    return Errc::invalid_argument;
  }
  nlohmann::json header{{"alg", r.algorithm}, {"typ", "JWT"}};
  if (!r.kid.empty()) header["kid"] = r.kid;
  nlohmann::json mercure = nlohmann::json::object();
  if (r.has_publish) mercure["publish"] = r.publish;
  if (r.has_subscribe) mercure["subscribe"] = r.subscribe;
  if (r.payload) mercure["payload"] = *r.payload;
  nlohmann::json claims{{"mercure", mercure}};
  if (r.expires_in_seconds) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    claims["exp"] = now + *r.expires_in_seconds;
  }
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  auto sig = jwt_sign(*alg, r.key, input, why);
  if (!sig) return sig.error();
  return input + "." + base64url_encode(*sig);
}
}  // namespace herald
