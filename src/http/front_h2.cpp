// HTTP/2 (nghttp2, server side) over TLS or in clear text. Each stream's request goes to an
// inner HTTP/1.1 session of the shard (front.hpp); its response comes back as the stream's
// HEADERS and DATA. An SSE stream is one HTTP/2 stream, so a browser multiplexes all of its
// EventSources on one connection. Flow control: a stream's reader stops taking the inner
// session's bytes while kMaxBuffered wait for the client's window, so a slow HTTP/2 reader
// meets the same queue limits and dispatch_timeout as a slow HTTP/1.1 one.
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "core/logging.hpp"
#include "http/front.hpp"

namespace herald::http_detail {
namespace {
constexpr std::size_t kMaxBuffered = 256 * 1024;   ///< response bytes waiting per stream
constexpr std::size_t kHeaderLimit = 64 * 1024;    ///< request header bytes per stream
constexpr std::uint32_t kMaxStreams = 256;         ///< concurrent streams per connection
constexpr std::uint64_t kNonPublishBodyLimit = 64 * 1024;
/// Request bodies a connection may hold before their streams end (many streams each sending
/// up to max_body_size would otherwise multiply it): past it, the stream is reset.
constexpr std::size_t kConnectionBodyBudget = 16u << 20;

tcp::socket& lowest(tcp::socket& s) { return s; }
tcp::socket& lowest(TlsStream& s) { return s.next_layer(); }

/// One HTTP/2 stream: the request as it arrives, then its inner session and response bytes.
struct H2Stream {
  explicit H2Stream(std::int32_t stream_id, const asio::any_io_executor& ex) : id(stream_id), wake(ex) {}
  std::int32_t id;
  std::string method, path, authority;
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t header_bytes = 0;
  std::string body;
  std::size_t body_declared = 0;  ///< bytes received (may exceed what is kept)
  bool started = false;           ///< the request went to an inner session
  bool refused = false;           ///< reset for the connection's body budget
  std::optional<tcp::socket> inner;
  std::string out;                ///< response body bytes not yet taken by nghttp2
  std::size_t out_offset = 0;
  bool out_done = false;          ///< the inner response is complete
  bool deferred = false;          ///< the data provider waits for `out`
  bool closed = false;            ///< nghttp2 closed the stream
  asio::steady_timer wake;        ///< the pump waits here while `out` is full

  std::size_t buffered() const { return out.size() - out_offset; }
};

bool hop_by_hop(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade" || name == "te" || name == "host" || name == "content-length";
}

/// The stream's request as HTTP/1.1 bytes for the inner session (one exchange: close).
std::string http1_request(const H2Stream& s, std::size_t body_limit) {
  std::string out = s.method + " " + (s.path.empty() ? std::string("*") : s.path) + " HTTP/1.1\r\n";
  out += "Host: " + s.authority + "\r\n";
  std::string cookies;
  for (const auto& [name, value] : s.headers) {
    if (name == "cookie") {
      cookies += (cookies.empty() ? "" : "; ") + value;  // RFC 9113 §8.2.3: joined again
      continue;
    }
    if (hop_by_hop(name)) continue;
    out += name + ": " + value + "\r\n";
  }
  if (!cookies.empty()) out += "cookie: " + cookies + "\r\n";
  // A body over the limit is not kept: the declared length makes the session answer 413.
  out += "Content-Length: " + std::to_string(s.body_declared) + "\r\nConnection: close\r\n\r\n";
  if (s.body_declared <= body_limit) out += s.body;
  return out;
}

template <class Socket>
class H2Connection : public std::enable_shared_from_this<H2Connection<Socket>> {
 public:
  H2Connection(Context ctx, Socket& socket, std::string remote)
      : ctx_(ctx), socket_(socket), remote_(std::move(remote)), idle_(lowest(socket).get_executor()) {}
  ~H2Connection() {
    if (session_) nghttp2_session_del(session_);
  }

  Task<void> run(std::string preread) {
    if (!start()) co_return;
    if (!preread.empty() && !receive(reinterpret_cast<const std::uint8_t*>(preread.data()), preread.size())) {
      close();
      co_return;
    }
    flush();
    std::array<std::uint8_t, 16384> buf;
    while (!closing_ && (nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_))) {
      arm_idle_timer();
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      idle_.cancel();
      if (ec || !receive(buf.data(), n)) break;
      flush();
    }
    // What is queued (a GOAWAY after a protocol error) goes out before the close; the
    // writer's dispatch_timeout deadline bounds the wait.
    co_await writer_done();
    close();
    co_await writer_done();  // the writer holds the socket until its aborted write returns
  }

  /// Completes once no write is in flight (polled: the writer posts its end on this thread).
  Task<void> writer_done() {
    asio::steady_timer t(lowest(socket_).get_executor());
    while (writing_) {
      t.expires_after(std::chrono::milliseconds(5));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  /// Closes the connection and every inner session (shutdown, or the end of the connection).
  void close() {
    closing_ = true;
    boost::system::error_code ec;
    lowest(socket_).close(ec);
    for (auto& [id, s] : streams_) close_inner(*s);
  }

 private:
  bool start() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    int rv = nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return false;
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxStreams},
                                         {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kHeaderLimit}};
    return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) == 0;
  }

  bool receive(const std::uint8_t* data, std::size_t n) {
    auto rv = nghttp2_session_mem_recv(session_, data, n);
    if (rv < 0) {
      static const auto log = logger("http");
      log->debug("h2_protocol_error remote={} error=\"{}\"", remote_, nghttp2_strerror(static_cast<int>(rv)));
      flush();  // the GOAWAY nghttp2 queued
      return false;
    }
    return true;
  }

  /// Connection idle (no stream open) for read_timeout: closed, as an idle HTTP/1.1 keep-alive.
  void arm_idle_timer() {
    if (!streams_.empty() || ctx_.config.read_timeout <= Duration::zero()) return;
    idle_.expires_after(ctx_.config.read_timeout);
    idle_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec && self->streams_.empty()) self->close();
    });
  }

  /// Writes what nghttp2 has to send; one writer at a time, each write within dispatch_timeout.
  void flush() {
    if (writing_ || closing_) return;
    writing_ = true;
    asio::co_spawn(lowest(socket_).get_executor(), write_loop(this->shared_from_this()), asio::detached);
  }

  static Task<void> write_loop(std::shared_ptr<H2Connection> self) {
    std::string out;
    asio::steady_timer deadline(lowest(self->socket_).get_executor());
    while (!self->closing_) {
      out.clear();
      while (out.size() < 64 * 1024) {
        const std::uint8_t* data = nullptr;
        auto n = nghttp2_session_mem_send(self->session_, &data);
        if (n <= 0) break;
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      if (out.empty()) break;
      if (self->ctx_.config.dispatch_timeout > Duration::zero()) {
        deadline.expires_after(self->ctx_.config.dispatch_timeout);
        deadline.async_wait([s = self.get()](boost::system::error_code ec) {
          if (!ec) s->close();  // the client stopped reading
        });
      }
      auto [ec, n] = co_await asio::async_write(self->socket_, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
      deadline.cancel();
      if (ec) {
        self->close();
        break;
      }
    }
    self->writing_ = false;
    if (!self->closing_ && !nghttp2_session_want_read(self->session_) && !nghttp2_session_want_write(self->session_))
      self->close();
  }

  H2Stream* stream_of(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  void close_inner(H2Stream& s) {
    s.closed = true;
    if (s.inner) {
      boost::system::error_code ec;
      s.inner->close(ec);
    }
    s.wake.cancel();
  }

  // ---- nghttp2 callbacks (the shard's thread, inside mem_recv / mem_send)
  static H2Connection* self_of(void* user) { return static_cast<H2Connection*>(user); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = self_of(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    self->streams_[frame->hd.stream_id] =
        std::make_shared<H2Stream>(frame->hd.stream_id, lowest(self->socket_).get_executor());
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    auto* s = self_of(user)->stream_of(frame->hd.stream_id);
    if (!s || s->started) return 0;  // trailers are dropped
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > kHeaderLimit) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the stream is reset
    std::string n(reinterpret_cast<const char*>(name), namelen), v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") s->method = std::move(v);
    else if (n == ":path") s->path = std::move(v);
    else if (n == ":authority") s->authority = std::move(v);
    else if (n == "host" && s->authority.empty()) s->authority = std::move(v);
    else if (!n.empty() && n[0] != ':') s->headers.emplace_back(std::move(n), std::move(v));
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t len,
                           void* user) {
    auto* self = self_of(user);
    auto* s = self->stream_of(id);
    if (!s) return 0;
    if (s->refused) return 0;
    s->body_declared += len;
    std::size_t limit = s->method == "POST" ? self->ctx_.config.max_body_size : kNonPublishBodyLimit;
    std::size_t budget = std::max<std::size_t>(kConnectionBodyBudget, self->ctx_.config.max_body_size + 1);
    if (s->body_declared > limit) {  // over the limit: the session answers 413 from the length alone
      self->body_bytes_ -= s->body.size();
      s->body.clear();
    } else if (self->body_bytes_ + len > budget) {
      self->body_bytes_ -= s->body.size();
      s->body.clear();
      s->refused = true;
      nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_ENHANCE_YOUR_CALM);
    } else {
      s->body.append(reinterpret_cast<const char*>(data), len);
      self->body_bytes_ += len;
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = self_of(user);
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      auto it = self->streams_.find(frame->hd.stream_id);
      if (it != self->streams_.end() && !it->second->started && !it->second->refused) self->start_exchange(it->second);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
    auto* self = self_of(user);
    auto it = self->streams_.find(id);
    if (it == self->streams_.end()) return 0;
    if (!it->second->started) self->body_bytes_ -= it->second->body.size();
    self->close_inner(*it->second);  // a stream the client cancels ends its inner session
    self->streams_.erase(it);
    if (self->streams_.empty()) self->arm_idle_timer();
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* s = static_cast<H2Stream*>(source->ptr);
    std::size_t n = std::min(s->buffered(), length);
    if (n == 0 && !s->out_done) {
      s->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    std::memcpy(buf, s->out.data() + s->out_offset, n);
    s->out_offset += n;
    if (s->out_offset == s->out.size()) {
      s->out.clear();
      s->out_offset = 0;
    }
    if (s->out_done && s->buffered() == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
    s->wake.cancel();  // room again for the pump
    return static_cast<ssize_t>(n);
  }

  // ---- one exchange: the request to an inner session, its response back
  void start_exchange(const std::shared_ptr<H2Stream>& s) {
    s->started = true;
    body_bytes_ -= s->body.size();  // the pump takes the body into its request
    try {
      s->inner.emplace(open_inner_session(ctx_, remote_));
    } catch (const std::exception&) {  // out of descriptors: the client may retry
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_REFUSED_STREAM);
      return;
    }
    asio::co_spawn(lowest(socket_).get_executor(), pump(this->shared_from_this(), s), asio::detached);
  }

  void submit_response(H2Stream& s, const http::response_header<>& head, bool has_body) {
    std::vector<std::string> storage;  // names and values stay alive until submitted
    storage.reserve(2 * 64);
    std::vector<nghttp2_nv> nva;
    auto add = [&](std::string name, std::string value) {
      storage.push_back(std::move(name));
      storage.push_back(std::move(value));
      const auto& n = storage[storage.size() - 2];
      const auto& v = storage.back();
      nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    };
    add(":status", std::to_string(head.result_int()));
    for (const auto& f : head) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (hop_by_hop(name) && name != "content-length") continue;
      if (storage.size() >= 2 * 63) break;
      add(std::move(name), std::string(f.value()));
    }
    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = read_body;
    nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), has_body ? &provider : nullptr);
  }

  static Task<void> pump(std::shared_ptr<H2Connection> self, std::shared_ptr<H2Stream> s) {
    auto request = http1_request(*s, s->method == "POST" ? self->ctx_.config.max_body_size : kNonPublishBodyLimit);
    s->body.clear();
    s->body.shrink_to_fit();
    auto [wec, wn] = co_await asio::async_write(*s->inner, asio::buffer(request), asio::as_tuple(asio::use_awaitable));
    request.clear();
    request.shrink_to_fit();
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(kHeaderLimit);
    if (s->method == "HEAD") parser.skip(true);
    boost::system::error_code ec = wec;
    if (!ec) std::tie(ec, std::ignore) = co_await http::async_read_header(*s->inner, buf, parser, asio::as_tuple(asio::use_awaitable));
    if (s->closed || self->closing_) co_return;
    if (ec) {
      nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
      self->flush();
      co_return;
    }
    bool has_body = !parser.is_done();
    self->submit_response(*s, parser.get().base(), has_body);
    self->flush();
    std::array<char, 16384> tmp;
    while (has_body && !parser.is_done() && !s->closed && !self->closing_) {
      if (s->buffered() >= kMaxBuffered) {  // the client's window is shut: wait for read_body
        s->wake.expires_at(asio::steady_timer::time_point::max());
        co_await s->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      parser.get().body().data = tmp.data();
      parser.get().body().size = tmp.size();
      auto [rec, rn] = co_await http::async_read_some(*s->inner, buf, parser, asio::as_tuple(asio::use_awaitable));
      if (s->closed || self->closing_) co_return;
      std::size_t got = tmp.size() - parser.get().body().size;
      s->out.append(tmp.data(), got);
      if (rec && rec != http::error::need_buffer) {  // the inner session ended mid-response
        nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        self->flush();
        co_return;
      }
      if (s->deferred && got > 0) {
        s->deferred = false;
        nghttp2_session_resume_data(self->session_, s->id);
      }
      self->flush();
    }
    if (s->closed || self->closing_) co_return;
    boost::system::error_code ignored;
    s->inner->close(ignored);  // the exchange is over: the inner session need not linger
    s->out_done = true;
    if (s->deferred) {
      s->deferred = false;
      nghttp2_session_resume_data(self->session_, s->id);
    }
    self->flush();
  }

  Context ctx_;
  Socket& socket_;
  std::string remote_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  std::size_t body_bytes_ = 0;  ///< request bodies held by streams not yet started
  asio::steady_timer idle_;
  bool writing_ = false;
  bool closing_ = false;
};

template <class Socket>
Task<void> serve(Context ctx, Socket& socket, std::string remote, std::string preread) {
  auto conn = std::make_shared<H2Connection<Socket>>(ctx, socket, std::move(remote));
  TrackedConnection tracked(ctx.shard, [weak = std::weak_ptr(conn)] {
    if (auto c = weak.lock()) c->close();
  });
  co_await conn->run(std::move(preread));
}

}  // namespace

Task<void> run_h2_over_tls(Context ctx, TlsStream& stream, std::string remote) {
  co_await serve(ctx, stream, std::move(remote), {});
}

Task<void> run_h2c_connection(Context ctx, tcp::socket socket, std::string remote, std::string preread) {
  co_await serve(ctx, socket, std::move(remote), std::move(preread));
}

}  // namespace herald::http_detail
