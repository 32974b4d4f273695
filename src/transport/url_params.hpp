#pragma once
// Reading a transport URL's query parameters, shared by the cluster transports: each error is
// one ConfigError line "invalid transport_url: ...", naming the parameter, never a password.
#include <cstdint>
#include <string>

#include "core/duration.hpp"

namespace herald::url_params {

[[noreturn]] void bad(const std::string& what);
/// An integer in [0, max].
std::uint64_t number(const std::string& key, const std::string& value, std::uint64_t max);
/// "1"/"true" or "0"/"false"/"".
bool flag(const std::string& key, const std::string& value);
/// A duration such as 5s; zero allowed only with `zero_ok`.
Duration duration(const std::string& key, const std::string& value, bool zero_ok);

}  // namespace herald::url_params
