#include "auth/jwks.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace herald {

Result<std::vector<JwtKey>> parse_jwks(std::string_view document, JwtAlg fallback, std::string* why) {
  auto doc = nlohmann::json::parse(document, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    if (why) *why = "not a JWK Set (expected {\"keys\": [...]})";
    return Errc::invalid_argument;
  }
  std::vector<JwtKey> keys;
  for (const auto& jwk : doc["keys"]) {
    auto key = JwtKey::from_jwk(jwk, fallback, nullptr);
    if (key) keys.push_back(std::move(*key));
  }
  if (keys.empty()) {
    if (why) *why = "the JWK Set holds no usable signature key";
    return Errc::invalid_argument;
  }
  return keys;
}

Result<std::string> read_file_url(const std::string& url, std::string* why) {
  std::string path = url.rfind("file://", 0) == 0 ? url.substr(7) : url;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (why) *why = "cannot read " + path;
    return Errc::not_found;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace herald
