#include "core/logging.hpp"

#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace herald {
namespace {
std::mutex g_mutex;
spdlog::sink_ptr g_sink;
std::string g_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v";
spdlog::level::level_enum g_level = spdlog::level::info;

/// %*: the log message escaped for the inside of a JSON string.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 15], kHex[c & 15]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

std::unique_ptr<spdlog::formatter> make_formatter() {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<JsonMessage>('*').set_pattern(g_pattern);
  return f;
}

spdlog::sink_ptr sink_locked() {
  if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return g_sink;
}
}  // namespace

void setup_logging(LogFormat format, const std::string& level) {
  std::lock_guard lock(g_mutex);
  if (format == LogFormat::json) {
    // %* is the message escaped as a JSON string body (messages carry quotes: reason="...").
    g_pattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%*"})";
  }
  g_level = spdlog::level::from_str(level);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->set_formatter(make_formatter());
    l->set_level(g_level);
  });
}

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(module)) return existing;
  auto l = std::make_shared<spdlog::logger>(module, sink_locked());
  l->set_formatter(make_formatter());
  l->set_level(g_level);
  l->flush_on(spdlog::level::info);
  spdlog::register_logger(l);
  return l;
}
}  // namespace herald
