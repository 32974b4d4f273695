#pragma once
// Where a request's token comes from, in the reference hub's order: the Authorization
// header, then the `authorization` query parameter, then the cookie. A malformed source
// of higher priority is an error even when a lower one is valid.
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"

namespace herald {

enum class TokenOrigin { none, header, query, cookie };

struct FoundToken {
  std::string token;
  TokenOrigin origin = TokenOrigin::none;
};

struct TokenSources {
  std::vector<std::string_view> authorization_headers;
  std::vector<std::string> authorization_params;  ///< decoded `authorization` query values
  std::vector<std::string_view> cookie_headers;
};

/// Finds the token. Errc::unauthorized when a source is malformed; origin none when absent.
/// `query_allowed` is false in protocol 7 compatibility (no query parameter then).
Result<FoundToken> find_token(const TokenSources& sources, std::string_view cookie_name, bool query_allowed);

/// The value of cookie `name` in a Cookie header, or empty.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

/// True if `origin` (scheme://host[:port]) is allowed by `allowed` (`*`, exact, or one `*` wildcard).
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin);

/// Reduces a Referer URL to scheme://host[:port], or empty when it is not a URL.
std::string referer_origin(std::string_view referer);

}  // namespace herald
