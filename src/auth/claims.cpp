#include "auth/claims.hpp"

#include "auth/base64url.hpp"

namespace herald {
namespace {
constexpr std::size_t kMaxTokenSize = 64 * 1024;
constexpr std::size_t kMaxSelectors = 1000;
/// JSON nesting allowed in a token's header and claims (the reference's parser stops at
/// 10,000; real tokens nest 3 or 4 levels, a mercure.payload a few more). Deeper documents
/// cost memory and time out of proportion to their size (a rendered subscription event
/// grows with the square of the depth), so they are refused before they are parsed.
constexpr std::size_t kMaxJsonDepth = 64;

/// True when `text` nests arrays and objects at most `limit` deep (brackets inside strings
/// do not count). Linear, no allocation; malformed JSON is left to the parser.
bool nesting_within(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

Errc reject(std::string* why, const char* reason) {
  if (why) *why = reason;
  return Errc::unauthorized;
}

Result<std::optional<std::vector<std::string>>> selector_list(const nlohmann::json& m, const char* name,
                                                              std::string* why) {
  auto it = m.find(name);
  if (it == m.end() || it->is_null()) return std::optional<std::vector<std::string>>{};
  if (!it->is_array()) return reject(why, "mercure claim is not an array of strings");
  if (it->size() > kMaxSelectors) return reject(why, "mercure claim holds more than 1000 selectors");
  std::vector<std::string> out;
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_string()) return reject(why, "mercure claim is not an array of strings");
    out.push_back(v.get<std::string>());
  }
  return std::optional<std::vector<std::string>>{std::move(out)};
}

Result<std::optional<std::int64_t>> numeric_date(const nlohmann::json& claims, const char* name, std::string* why) {
  auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (!it->is_number()) return reject(why, "registered claim is not a number");
  double v = it->get<double>();
  if (!(v > -1e15 && v < 1e15)) return reject(why, "registered claim out of range");
  return std::optional<std::int64_t>{static_cast<std::int64_t>(v)};
}
}  // namespace

Result<MercureClaims> extract_mercure_claims(const nlohmann::json& claims, std::string* why) {
  MercureClaims out;
  const nlohmann::json* m = nullptr;
  if (auto it = claims.find("https://mercure.rocks/"); it != claims.end()) m = &*it;
  else if (auto it2 = claims.find("mercure"); it2 != claims.end()) m = &*it2;
  if (m && !m->is_null()) {
    if (!m->is_object()) return reject(why, "mercure claim is not an object");
    auto pub = selector_list(*m, "publish", why);
    if (!pub) return pub.error();
    out.publish = std::move(*pub);
    auto sub = selector_list(*m, "subscribe", why);
    if (!sub) return sub.error();
    out.subscribe = std::move(*sub);
    if (auto p = m->find("payload"); p != m->end()) out.payload = *p;
  }
  return out;
}

Result<MercureClaims> verify_token(std::string_view token, const KeySet& keys, std::int64_t now, std::string* why) {
  if (token.size() > kMaxTokenSize) return reject(why, "token too large");
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return reject(why, "not a compact JWS");
  auto header_raw = base64url_decode(token.substr(0, d1));
  auto payload_raw = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = base64url_decode(token.substr(d2 + 1));
  if (!header_raw || !payload_raw || !signature) return reject(why, "invalid base64url");
  if (!nesting_within(*header_raw, kMaxJsonDepth) || !nesting_within(*payload_raw, kMaxJsonDepth))
    return reject(why, "token JSON nested too deeply");
  auto header = nlohmann::json::parse(*header_raw, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return reject(why, "invalid JOSE header");
  auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) return reject(why, "missing alg");
  auto alg = parse_jwt_alg(alg_it->get<std::string>());
  if (!alg) return reject(why, "unsupported alg");  // includes "none"
  if (header.contains("crit")) return reject(why, "unsupported crit header");
  std::string kid;
  if (auto k = header.find("kid"); k != header.end() && k->is_string()) kid = k->get<std::string>();

  auto snapshot = keys.snapshot();
  if (!snapshot) return reject(why, "no key configured");
  std::string_view signing_input = token.substr(0, d2);
  bool verified = false;
  bool alg_known = false;
  for (const auto& key : *snapshot) {
    if (key.alg() != *alg) continue;
    if (!kid.empty() && !key.kid().empty() && key.kid() != kid) continue;
    alg_known = true;
    if (key.verify(signing_input, *signature)) {
      verified = true;
      break;
    }
  }
  if (!alg_known) return reject(why, "alg does not match the configured algorithm");
  if (!verified) return reject(why, "signature verification failed");

  auto claims = nlohmann::json::parse(*payload_raw, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) return reject(why, "invalid claims");
  auto exp = numeric_date(claims, "exp", why);
  if (!exp) return exp.error();
  auto nbf = numeric_date(claims, "nbf", why);
  if (!nbf) return nbf.error();
  if (*exp && now >= **exp) return reject(why, "token expired");
  if (*nbf && now < **nbf) return reject(why, "token not valid yet");
  auto out = extract_mercure_claims(claims, why);
  if (!out) return out.error();
  out->exp = *exp;
  out->nbf = *nbf;
  return out;
}

}  // namespace herald
