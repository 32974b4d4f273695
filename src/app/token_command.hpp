#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.hpp"

namespace herald {
struct TokenRequest {
  std::string key;        ///< HMAC secret or PEM private key
  std::string algorithm = "HS256";
  std::vector<std::string> publish;
  std::vector<std::string> subscribe;
  bool has_publish = false;
  bool has_subscribe = false;
  std::optional<nlohmann::json> payload;
  std::optional<long long> expires_in_seconds;
  std::string kid;
};
/// Builds a signed JWT carrying the Mercure claims. `why` explains an error.
Result<std::string> make_token(const TokenRequest& request, std::string* why);
}  // namespace herald
