#pragma once
#include <chrono>
#include <optional>
#include <string_view>

namespace herald {
using Duration = std::chrono::nanoseconds;

/// Parses a Go-style duration ("40s", "1m30s", "250ms", "1.5h", "0").
/// A bare number is read as seconds. Returns nullopt on malformed input or a negative value.
std::optional<Duration> parse_duration(std::string_view text);

/// Formats a duration the way Go prints it for the common cases ("40s", "1m30s", "250ms", "0s").
std::string format_duration(Duration d);
}  // namespace herald
