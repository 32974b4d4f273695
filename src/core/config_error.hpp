#pragma once
#include <stdexcept>
#include <string>

namespace herald {

/// Thrown for any configuration error: what() is one line naming the option.
/// A configuration error: one line (control characters of quoted values are escaped, so
/// a value holding a newline cannot break the "one line, exit 2" contract or forge log lines).
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& what) : std::runtime_error(one_line(what)) {}

 private:
  static std::string one_line(const std::string& s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
      if (c >= 0x20 && c != 0x7f) {
        out.push_back(static_cast<char>(c));
      } else {
        out += "\\x";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
    return out;
  }
};

}  // namespace herald
