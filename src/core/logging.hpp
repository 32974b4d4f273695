#pragma once
// Structured logging: one named spdlog logger per module, "event key=value" messages.
// Never pass a token or an update payload to a logger.
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace herald {
enum class LogFormat { text, json };

/// Configures every logger (format and level). Call once at start, before threads start.
void setup_logging(LogFormat format, const std::string& level);

/// The logger of a module ("http", "hub", "transport", ...). Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& module);
}  // namespace herald
