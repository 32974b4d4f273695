// Blocking fetch of a JWK Set (start-up and the refresh thread; never on a shard), and the
// CLI's requests to a node's admin address.
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "auth/jwks.hpp"
#include "http/server.hpp"

namespace herald {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr std::uint64_t kMaxDocument = 1024 * 1024;

template <class Stream>
Result<std::string> get(Stream& stream, const std::string& host, const std::string& target, std::string* why,
                        http::verb verb) {
  http::request<http::empty_body> req{verb, target, 11};
  if (verb == http::verb::post) req.content_length(0);
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "herald");
  req.set(http::field::accept, "application/json, application/jwk-set+json");
  boost::system::error_code ec;
  http::write(stream, req, ec);
  if (ec) {
    if (why) *why = "request failed: " + ec.message();
    return Errc::transport_failure;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxDocument);
  http::read(stream, buffer, parser, ec);
  if (ec) {
    if (why) *why = "response failed: " + ec.message();
    return Errc::transport_failure;
  }
  if (parser.get().result() != http::status::ok) {
    if (why) *why = "HTTP status " + std::to_string(parser.get().result_int());
    return Errc::transport_failure;
  }
  return parser.get().body();
}
}  // namespace

Result<std::string> fetch_document(const std::string& text, std::string* why, bool post) {
  auto verb = post ? http::verb::post : http::verb::get;
  if (text.rfind("file://", 0) == 0) return read_file_url(text, why);
  auto url = boost::urls::parse_uri(text);
  if (!url) {
    if (why) *why = "not a URL";
    return Errc::invalid_argument;
  }
  bool tls = url->scheme() == "https";
  std::string host = url->host();
  std::string port = url->has_port() ? std::string(url->port()) : (tls ? "443" : "80");
  std::string target = url->encoded_target().empty() ? "/" : std::string(url->encoded_target());
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) {
    if (why) *why = "cannot resolve " + host + ": " + ec.message();
    return Errc::transport_failure;
  }
  if (!tls) {
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(endpoints, ec);
    if (ec) {
      if (why) *why = "cannot connect to " + host + ": " + ec.message();
      return Errc::transport_failure;
    }
    return get(stream, host, target, why, verb);
  }
  asio::ssl::context ssl(asio::ssl::context::tls_client);
  ssl.set_default_verify_paths();
  ssl.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, ssl);
  SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  stream.set_verify_callback(asio::ssl::host_name_verification(host));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(endpoints, ec);
  if (!ec) stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    if (why) *why = "TLS connection to " + host + " failed: " + ec.message();
    return Errc::transport_failure;
  }
  return get(stream, host, target, why, verb);
}

}  // namespace herald
