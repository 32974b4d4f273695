#include "support/kafka_broker.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace herald::test {

KafkaBroker::KafkaBroker(int brokers) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::string script = std::string(HERALD_SOURCE_DIR) + "/tests/kafka/kafka_cluster.py";
  std::string count = std::to_string(brokers);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[1]);
    ::close(out[0]);
    ::execlp("python3", "python3", script.c_str(), "--brokers", count.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  std::string first = read_line(180);
  auto j = nlohmann::json::parse(first, nullptr, false);
  if (!j.is_object() || !j.contains("bootstrap")) throw std::runtime_error("kafka fixture failed: " + first);
  bootstrap_ = j["bootstrap"].get<std::string>();
}

KafkaBroker::~KafkaBroker() {
  if (to_child_ >= 0) ::close(to_child_);  // end of input: the fixture stops its brokers
  for (int i = 0; i < 300; ++i) {        // bounded: 30 s, then it is killed
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (from_child_ >= 0) ::close(from_child_);
}

std::string KafkaBroker::url(const std::string& topic, const std::string& query) const {
  std::string addrs;
  std::size_t start = 0;
  while (start <= bootstrap_.size()) {
    auto comma = bootstrap_.find(',', start);
    std::string one = bootstrap_.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    addrs += (addrs.empty() ? "addr=" : "&addr=") + one;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return "kafka://kafka/?" + addrs + "&topic=" + topic + (query.empty() ? "" : "&" + query);
}

void KafkaBroker::command(const std::string& line) {
  std::string text = line + "\n";
  if (::write(to_child_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("kafka fixture: write failed");
  std::string answer = read_line(120);
  if (answer != "ok") throw std::runtime_error("kafka fixture: " + line + ": " + answer);
}

std::string KafkaBroker::read_line(int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("kafka fixture: no answer within " + std::to_string(timeout_seconds) + " s");
    pollfd p{from_child_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::read(from_child_, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error("kafka fixture exited: " + buffer_);
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace herald::test
