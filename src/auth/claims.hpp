#pragma once
// JWS verification (pinned algorithm, exp/nbf) and the Mercure claims a token grants.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/jwks.hpp"
#include "core/errors.hpp"

namespace herald {

/// What a verified token grants. `publish`/`subscribe` are nullopt when the claim is absent or null.
struct MercureClaims {
  std::optional<std::vector<std::string>> publish;
  std::optional<std::vector<std::string>> subscribe;
  std::optional<nlohmann::json> payload;
  std::optional<std::int64_t> exp;  ///< seconds since the epoch
  std::optional<std::int64_t> nbf;  ///< seconds since the epoch
};

/// Verifies a compact JWS with the keys of `keys` (only keys whose algorithm equals the
/// token's `alg`; with a `kid`, only the key with that kid), then checks `exp` and `nbf`
/// against `now` (seconds since the epoch, no leeway) and extracts the Mercure claims
/// (the namespaced "https://mercure.rocks/" claim replaces "mercure" when present).
/// Any failure is Errc::unauthorized; `why` receives a short reason for the logs
/// (never the token). Thread-safe; never throws.
Result<MercureClaims> verify_token(std::string_view token, const KeySet& keys, std::int64_t now, std::string* why);

/// Extracts the Mercure claims from a verified claims object (exposed for tests).
Result<MercureClaims> extract_mercure_claims(const nlohmann::json& claims, std::string* why);

}  // namespace herald
