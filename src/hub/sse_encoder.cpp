#include "hub/sse_encoder.hpp"

namespace herald {

std::string encode_sse(const Update& u) {
  std::string out;
  out.reserve(u.data.size() + u.id.size() + u.type.size() + 32);
  if (!u.type.empty()) out.append("event: ").append(u.type).append("\n");
  if (u.retry != 0) out.append("retry: ").append(std::to_string(u.retry)).append("\n");
  out.append("id: ").append(u.id).append("\n");
  std::string_view data = u.data;
  std::size_t i = 0;
  for (;;) {
    std::size_t j = data.find_first_of("\r\n", i);
    out.append("data: ");
    if (j == std::string_view::npos) {
      out.append(data.substr(i)).append("\n");
      break;
    }
    out.append(data.substr(i, j - i)).append("\n");
    i = (data[j] == '\r' && j + 1 < data.size() && data[j + 1] == '\n') ? j + 2 : j + 1;
    if (i == data.size()) {
      // Trailing line break: Go's split yields a final empty line.
      out.append("data: \n");
      break;
    }
  }
  out.append("\n");
  return out;
}

}  // namespace herald
