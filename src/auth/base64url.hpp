#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace herald {
/// Decodes unpadded (or padded) base64url. Returns nullopt on any invalid character.
std::optional<std::string> base64url_decode(std::string_view in);
/// Encodes as unpadded base64url.
std::string base64url_encode(std::string_view in);
}  // namespace herald
