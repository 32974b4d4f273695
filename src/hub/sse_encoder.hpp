#pragma once
#include <string>

#include "model/update.hpp"

namespace herald {
/// Serializes an update as one SSE event, exactly like the reference hub:
/// `event:` (if type), `retry:` (if non-zero), `id:`, one `data:` per line of data
/// (split on CRLF, CR or LF), then a blank line. Always LF line endings.
std::string encode_sse(const Update& update);

/// The heartbeat / opening comment.
inline constexpr std::string_view kSseComment = ":\n";
}  // namespace herald
