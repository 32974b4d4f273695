// GET/HEAD /.well-known/mercure: the SSE stream.
//
// Order matters: authenticate, validate topics, register the subscriber on the shard (and
// replay history), and only then send the response headers and the opening ":" comment,
// because clients publish as soon as EventSource.onopen fires.
//
// The writer drains the subscriber's queue, sends heartbeats and ends the stream at its
// deadline: a coroutine while busy; while idle, nothing but an entry on the shard's timer
// wheel. A watcher (a plain handler) waits on the socket only to notice that the client went
// away. Both run on the shard's thread.
#include <sys/socket.h>
#include <sys/uio.h>

#include <random>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>

#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "hub/presence.hpp"
#include "hub/sse_encoder.hpp"
#include "http/http_common.hpp"

namespace herald::http_detail {
namespace {
constexpr std::size_t kMaxTopics = 1000;
constexpr std::size_t kMaxFramesPerWrite = 256;
/// A direct (fan-out) write carries at most this many frames, and past the first frame at
/// most this many bytes: what the kernel does not take is copied aside.
constexpr std::size_t kMaxDirectFrames = 256;
constexpr std::size_t kMaxDirectBytes = 256 * 1024;
using Clock = std::chrono::steady_clock;

/// The stream's socket, bound to the shard's io_context (smaller than a type-erased one).
using StreamSocket = asio::basic_stream_socket<tcp, ShardExecutor>;

/// Takes the connection over from the session's socket (which has no operation pending).
StreamSocket adopt(tcp::socket& from, ShardExecutor executor) {
  boost::system::error_code ec;
  auto protocol = from.local_endpoint(ec).protocol();
  if (ec) protocol = tcp::v4();
  auto fd = from.release(ec);
  StreamSocket socket(executor);
  if (!ec) socket.assign(protocol, fd, ec);
  return socket;
}

struct Stream;
/// Runs a busy period of the stream's writer (write_step) on the shard.
void spawn_writer(std::shared_ptr<Stream> stream);

/// An open SSE stream: the socket, the writer's state, and the stream's one deadline on the
/// shard's timer wheel (the dispatch_timeout of a write in flight, or, while the writer is
/// parked, the next heartbeat or the connection's end). An idle stream has no coroutine and
/// no Asio timer: the client watch's pending wait owns it (see BENCHMARKS.md, idle memory).
/// Shard thread only.
struct Stream final : Subscriber::Sink, TimerWheel::Entry, std::enable_shared_from_this<Stream> {
  Stream(StreamSocket s, Hub& h, Shard& sh, const Config& c) : socket(std::move(s)), hub(h), shard(sh), config(c) {
    metrics().open_connections.add(1);  // the session that handed the socket over ends
  }
  ~Stream() {
    shard.timers().cancel(*this);
    metrics().open_connections.add(-1);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  StreamSocket socket;
  Hub& hub;
  Shard& shard;
  const Config& config;
  std::shared_ptr<Subscriber> sub;
  std::string unsent;  ///< the rest of a partly sent direct write (already framed)
  Clock::time_point last_write = Clock::now();
  Clock::time_point end = Clock::time_point::max();  ///< the connection's planned end (max: none)
  bool chunked = true;
  bool timed_out = false;  ///< a write missed its dispatch_timeout deadline
  bool writing = false;    ///< a write is in flight (the wheel entry is its deadline)
  bool parked = false;     ///< the writer waits (the wheel entry is its wake-up, if any)

  /// The direct write of Subscriber::write_now: one non-blocking sendmsg of the leading
  /// frames (up to kMaxDirectFrames and, past the first, kMaxDirectBytes) as one chunk.
  /// What the kernel does not take is kept in `unsent` for the writer to finish.
  std::size_t write_now(std::span<const Frame* const> frames) override {
    if (writing || !unsent.empty() || !socket.is_open() || frames.empty()) return 0;
    std::size_t count = 0, payload = 0;
    while (count < frames.size() && count < kMaxDirectFrames &&
           (count == 0 || payload + (*frames[count])->size() <= kMaxDirectBytes))
      payload += (*frames[count++])->size();
    char head[24];
    iovec iov[kMaxDirectFrames + 2];
    std::size_t n = 0;
    if (chunked) {
      int len = std::snprintf(head, sizeof head, "%zx\r\n", payload);
      iov[n++] = {head, static_cast<std::size_t>(len)};
    }
    for (std::size_t i = 0; i < count; ++i)
      iov[n++] = {const_cast<char*>((*frames[i])->data()), (*frames[i])->size()};
    if (chunked) iov[n++] = {const_cast<char*>("\r\n"), 2};
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += iov[i].iov_len;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    ssize_t sent = ::sendmsg(socket.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) return 0;  // EAGAIN or an error: queue them; the writer finds out
    last_write = Clock::now();
    if (static_cast<std::size_t>(sent) == total) return count;
    std::size_t skip = static_cast<std::size_t>(sent);
    for (std::size_t i = 0; i < n; ++i) {
      if (skip >= iov[i].iov_len) {
        skip -= iov[i].iov_len;
        continue;
      }
      unsent.append(static_cast<const char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip);
      skip = 0;
    }
    wake();
    return count;
  }
  void abort() override {
    abort_socket();
    wake();
  }
  void wake() override {
    if (!parked) return;
    shard.timers().cancel(*this);
    resume();
  }
  void abort_socket() {
    boost::system::error_code ec;
    socket.cancel(ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

 private:
  void on_due() override {
    if (writing) {  // the write in flight missed its dispatch_timeout
      timed_out = true;
      abort_socket();
      return;
    }
    if (parked) resume();  // a heartbeat or the end is due
  }
  /// Restarts the parked writer (its wheel entry is no longer scheduled).
  void resume() {
    parked = false;
    spawn_writer(shared_from_this());  // the client watch holds the stream while it is parked
  }
};

/// Starts a write's dispatch_timeout deadline (none when `timeout` is zero).
void begin_write(Stream& stream, Duration timeout) {
  stream.writing = true;
  if (timeout > Duration::zero()) stream.shard.timers().schedule(stream, Clock::now() + timeout);
}
void end_write(Stream& stream) {
  stream.writing = false;
  stream.last_write = Clock::now();
  stream.shard.timers().cancel(stream);
}

/// The allocator of the client watch's wait, the one operation an idle stream keeps pending:
/// plain operator new, sized to the operation. Asio's default recycling allocator hands such
/// an operation whatever block the thread freed last (an accept's, 321 bytes), and streams are
/// many: see BENCHMARKS.md, idle memory.
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() noexcept = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }
  friend bool operator==(const ExactAllocator&, const ExactAllocator&) noexcept { return true; }
  friend bool operator!=(const ExactAllocator&, const ExactAllocator&) noexcept { return false; }
};

double random_fraction() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.8, 1.0)(gen);
}

/// Writes `buffers` with the dispatch_timeout deadline. False on failure or timeout.
Task<bool> write_with_deadline(std::shared_ptr<Stream> stream, std::vector<asio::const_buffer> buffers,
                               Duration timeout) {
  begin_write(*stream, timeout);
  auto [ec, n] = co_await asio::async_write(stream->socket, buffers, asio::as_tuple(asio::use_awaitable));
  end_write(*stream);
  co_return !ec;
}

/// Frames the payload as one HTTP chunk when the stream is chunked.
std::vector<asio::const_buffer> framed(const Stream& stream, std::string& chunk_header,
                                       const std::vector<asio::const_buffer>& payload) {
  std::size_t total = 0;
  for (const auto& b : payload) total += b.size();
  std::vector<asio::const_buffer> out;
  out.reserve(payload.size() + 2);
  if (stream.chunked) {
    char hex[32];
    int len = std::snprintf(hex, sizeof hex, "%zx\r\n", total);
    chunk_header.assign(hex, static_cast<std::size_t>(len));
    out.emplace_back(asio::buffer(chunk_header));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  if (stream.chunked) out.emplace_back(asio::buffer("\r\n", 2));
  return out;
}

/// Waits until the client closes (or sends something), then closes the subscriber.
/// It waits for readability instead of holding a read buffer, and it is a plain handler
/// rather than a coroutine: an idle stream then costs one small pending operation here
/// instead of a coroutine frame (streams are many; see BENCHMARKS.md, idle memory). This
/// wait owns the stream while its writer is parked.
void watch_client(std::shared_ptr<Stream> stream) {
  auto& socket = stream->socket;
  socket.async_wait(tcp::socket::wait_read,
                    asio::bind_allocator(ExactAllocator<void>(), [stream = std::move(stream)](boost::system::error_code ec) mutable {
                      if (!ec) {
                        static thread_local char scratch[256];  // what a client sends on a stream is discarded
                        boost::system::error_code rec;
                        std::size_t n = stream->socket.read_some(asio::buffer(scratch), rec);
                        if (rec == asio::error::would_block || (!rec && n > 0)) {
                          watch_client(std::move(stream));
                          return;
                        }
                      }
                      // EOF, reset or cancelled: the client went away (or the stream is ending).
                      stream->sub->close();
                    }));
}

std::string build_headers(const Request& req, const Config& config, const std::optional<std::string>& last_event_id,
                          bool chunked) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  add_common_headers(res.base(), req, config);
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "private, no-cache, no-store, must-revalidate, max-age=0");
  res.set(http::field::pragma, "no-cache");
  res.set("Expire", "0");
  res.set(http::field::connection, "keep-alive");
  res.set("X-Accel-Buffering", "no");
  if (last_event_id) res.set("Last-Event-Id", *last_event_id);
  if (chunked) res.set(http::field::transfer_encoding, "chunked");
  std::ostringstream out;
  out << res.base();
  return out.str();
}
/// Ends a stream: closes the subscriber, removes it from its shard, announces it gone.
Task<void> finish_stream(std::shared_ptr<Stream> stream, bool clean_end) {
  auto sub = stream->sub;
  sub->sink = nullptr;
  sub->open = false;
  stream->parked = false;
  sub->close();
  stream->shard.unsubscribe(sub);
  if (stream->config.subscriptions) {
    SubscriberInfo info = subscriber_info(*sub);
    co_await announce_subscriptions(stream->hub.backend(), std::move(info), false);
  }
  boost::system::error_code ec;
  stream->socket.shutdown(tcp::socket::shutdown_both, ec);
  stream->socket.close(ec);
  static const auto log = logger("subscribe");  // looked up once: the registry takes a lock
  if (stream->timed_out) metrics().slow_disconnected.inc();
  if (stream->timed_out)
    log->info("subscriber_write_timeout subscriber={} reason=\"a write took longer than dispatch_timeout\"", sub->id.urn());
  if (log->should_log(spdlog::level::debug)) log->debug("unsubscribed subscriber={} clean={}", sub->id.urn(), clean_end);
}

Task<void> write_step(std::shared_ptr<Stream> stream);

/// An exception it did not expect ends the stream with a log line and the same cleanup as a
/// normal end (never a silent ghost subscriber).
void spawn_writer(std::shared_ptr<Stream> stream) {
  auto executor = stream->socket.get_executor();
  asio::co_spawn(executor, write_step(stream), [stream](std::exception_ptr e) {
    if (!e) return;
    logger("subscribe")->error("stream_failed subscriber={} error=\"{}\"", stream->sub->id.urn(), describe_exception(e));
    auto executor = stream->socket.get_executor();
    asio::co_spawn(executor, finish_stream(stream, false), [](std::exception_ptr) {});
  });
}

Clock::time_point next_heartbeat(const Config& config, const Stream& stream) {
  return config.heartbeat_interval > Duration::zero() ? stream.last_write + config.heartbeat_interval
                                                      : Clock::time_point::max();
}

/// Parks an idle stream: no operation of its own, only its entry on the shard's timer wheel
/// for the next heartbeat or the connection's end. Sink::wake (a queued frame, a partial
/// direct write, the replay moving on), abort (close) or the wheel spawn the writer again.
void park_writer(Stream& stream) {
  stream.parked = true;
  stream.shard.timers().schedule(stream, std::min(next_heartbeat(stream.config, stream), stream.end));
}

/// One busy period of an open stream's writer: drains the queue (and finishes partial
/// direct writes), pages a replay at the client's pace, sends a heartbeat when one is due,
/// then parks the stream again, or ends it at its deadline, on close or on a failed write.
Task<void> write_step(std::shared_ptr<Stream> stream) {
  const Config& config = stream->config;
  Subscriber& sub = *stream->sub;
  std::string chunk_header;
  std::vector<Frame> inflight;
  std::vector<asio::const_buffer> payload;
  bool clean_end = false;
  while (!sub.closed()) {
    auto& queue = sub.queue();
    if (!stream->unsent.empty()) {
      // Finish a direct write the kernel only partly took, before anything queued after it.
      std::string rest = std::move(stream->unsent);
      stream->unsent.clear();
      std::vector<asio::const_buffer> buffers{asio::buffer(rest)};
      if (!co_await write_with_deadline(stream, std::move(buffers), config.dispatch_timeout)) break;
      continue;
    }
    if (queue.empty() && sub.replaying) {
      co_await stream->shard.replay_next(stream->sub);  // the client has read the previous page
      continue;
    }
    if (!queue.empty()) {
      inflight.clear();
      payload.clear();
      while (!queue.empty() && inflight.size() < kMaxFramesPerWrite) {
        inflight.push_back(queue.take_front());
        payload.emplace_back(asio::buffer(*inflight.back()));
      }
      if (!co_await write_with_deadline(stream, framed(*stream, chunk_header, payload), config.dispatch_timeout)) break;
      continue;
    }
    auto t = Clock::now();
    if (t >= stream->end) {
      clean_end = true;
      break;
    }
    if (t >= next_heartbeat(config, *stream)) {
      payload.assign({asio::buffer(kSseComment.data(), kSseComment.size())});
      if (!co_await write_with_deadline(stream, framed(*stream, chunk_header, payload), config.dispatch_timeout)) break;
      continue;
    }
    park_writer(*stream);
    co_return;
  }
  // End the stream: a terminal chunk when it ended cleanly or at shutdown, so the client
  // sees a complete response and reconnects.
  if ((clean_end || stream->shard.stopping()) && stream->chunked && stream->socket.is_open()) {
    std::vector<asio::const_buffer> last{asio::buffer("0\r\n\r\n", 5)};
    co_await write_with_deadline(stream, std::move(last), std::chrono::seconds(1));
  }
  co_await finish_stream(stream, clean_end);
}

/// Hands an open stream to its writer and its client watcher.
void start_stream(std::shared_ptr<Stream> stream) {
  stream->sub->open = true;
  watch_client(stream);
  spawn_writer(std::move(stream));
}

/// How far open_stream got (for the cleanup after an unexpected exception).
struct OpenProgress {
  bool announced = false;     ///< the connect went to presence: finish_stream withdraws it
  bool registered = false;    ///< the subscriber is in the shard's index
  bool headers_sent = false;  ///< the response started: no 500 can follow
  bool unavailable = false;   ///< the backend could not resolve the cursor: 503, the client retries
};

Task<void> open_stream(Context ctx, std::shared_ptr<Stream> stream, std::shared_ptr<Subscriber> sub,
                       const Request& req, std::optional<std::string> cursor,
                       const std::optional<MercureClaims>& claims, OpenProgress& progress);
}  // namespace

Task<std::optional<Response>> handle_subscribe(Context ctx, tcp::socket& socket, const Request& req, Params query,
                                               std::string remote_addr) {
  static const auto log = logger("subscribe");  // looked up once: the registry takes a lock
  const Config& config = ctx.config;

  if (ctx.hub.draining()) {
    // Graceful drain: this node takes no new subscriptions; the client retries elsewhere.
    auto res = make_response(req, config, http::status::service_unavailable, "Service Unavailable: the node is draining\n");
    res.set(http::field::retry_after, "1");
    res.keep_alive(false);
    co_return res;
  }
  std::optional<MercureClaims> claims;
  if (ctx.auth.enabled(Role::subscriber)) {
    std::string why;
    auto auth = ctx.auth.authenticate(Role::subscriber, token_sources(req, query), false, {}, {}, &why);
    if (!auth || (!*auth && !config.allow_anonymous)) {
      log->info("subscribe_unauthorized reason=\"{}\"", auth ? "no token" : why);
      co_return make_response(req, config, http::status::unauthorized, "Unauthorized\n");
    }
    claims = std::move(*auth);
  }

  auto topics = values(query, "topic");
  if (topics.empty()) co_return make_response(req, config, http::status::bad_request, "Missing \"topic\" parameter.\n");
  if (topics.size() > kMaxTopics)
    co_return make_response(req, config, http::status::bad_request, "Too many \"topic\" parameters.\n");

  // Reconnection cursor: the header, then lastEventID (compat 7: the Last-Event-ID parameter).
  std::optional<std::string> cursor;
  if (auto h = req.find("Last-Event-ID"); h != req.end() && !h->value().empty()) cursor = std::string(h->value());
  if (!cursor) {
    auto v = values(query, config.protocol_version_compatibility == 7 ? "Last-Event-ID" : "lastEventID");
    if (!v.empty() && !v.front().empty()) cursor = v.front();
  }

  auto stream = std::make_shared<Stream>(adopt(socket, ctx.shard.context().get_executor()), ctx.hub, ctx.shard, config);
  boost::system::error_code nbec;
  stream->socket.non_blocking(true, nbec);
  stream->chunked = req.version() >= 11;
  auto sub = std::make_shared<Subscriber>(config.subscriber_queue_size, config.subscriber_queue_bytes);
  stream->sub = sub;
  sub->id = Uuid::random_v4();
  sub->topics = std::move(topics);
  sub->remote_addr = std::move(remote_addr);
  if (claims) {
    sub->may_see = claims->subscribe.value_or(std::vector<std::string>{});
    sub->payload = claims->payload;
  }
  sub->sink = stream.get();  // cleared before the stream goes away (finish_stream, or below)

  OpenProgress progress;
  std::exception_ptr failure;
  try {
    co_await open_stream(ctx, stream, sub, req, std::move(cursor), claims, progress);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure || progress.unavailable) {
    // Unexpected (500), or the backend failed (503): answer when the headers are not out
    // yet, log, and undo what was done.
    if (failure) log->error("subscribe_failed subscriber={} error=\"{}\"", sub->id.urn(), describe_exception(failure));
    else log->warn("subscribe_unavailable subscriber={} reason=\"the transport could not resolve the cursor\"", sub->id.urn());
    if (progress.registered) ctx.shard.unsubscribe(sub);
    if (!progress.headers_sent) {
      auto res = failure ? make_response(req, config, http::status::internal_server_error, "Internal Server Error\n")
                         : make_response(req, config, http::status::service_unavailable, "transport unavailable\n");
      res.keep_alive(false);
      begin_write(*stream, config.dispatch_timeout);
      co_await http::async_write(stream->socket, res, asio::as_tuple(asio::use_awaitable));
      end_write(*stream);
    }
    if (progress.announced) {
      co_await finish_stream(stream, false);  // withdraws what was announced
    } else {
      sub->sink = nullptr;  // the stream goes away with this frame
      boost::system::error_code ec;
      stream->socket.shutdown(tcp::socket::shutdown_both, ec);
      stream->socket.close(ec);
    }
  }
  co_return std::nullopt;
}

namespace {
/// The part of a subscription that runs once the socket belongs to the stream: announce,
/// register (and replay), send the headers, hand over to the writer. `progress` says how far
/// it got, for the caller's cleanup when something throws.
Task<void> open_stream(Context ctx, std::shared_ptr<Stream> stream, std::shared_ptr<Subscriber> sub,
                       const Request& req, std::optional<std::string> cursor,
                       const std::optional<MercureClaims>& claims, OpenProgress& progress) {
  static const auto log = logger("subscribe");
  const Config& config = ctx.config;
  // The connect event goes out before the subscriber is registered, so it never sees its own.
  if (config.subscriptions) {
    SubscriberInfo info = subscriber_info(*sub);
    progress.announced = true;
    Seq own_event = co_await announce_subscriptions(ctx.hub.backend(), std::move(info), true);
    // Without a cursor the subscription starts after its own connect event. With one, the
    // replay starts at the cursor: what was published since must not be skipped (the own
    // event is replayed only to a subscriber of the subscription topics, as in the reference).
    if (!cursor) sub->last_seq = own_event;
  }
  progress.registered = true;
  auto subscribed = co_await ctx.shard.subscribe(sub, cursor);
  if (!subscribed) {
    progress.unavailable = true;
    co_return;
  }
  const ReplayOutcome& outcome = *subscribed;
  if (log->should_log(spdlog::level::debug))
    log->debug("subscribed subscriber={} topics={} remote={}", sub->id.urn(), sub->topics.size(), sub->remote_addr);

  std::optional<std::string> reply_cursor;
  if (cursor) reply_cursor = outcome.cursor_found && *cursor != "earliest" ? *cursor : std::string("earliest");

  // Connection lifetime: a random 80-100% of write_timeout (minus dispatch_timeout), and
  // never past a random 80-100% of the time left until the token's exp.
  auto now = Clock::now();
  auto& end = stream->end;
  if (config.write_timeout > Duration::zero()) {
    auto d = std::chrono::duration_cast<Duration>(config.write_timeout * random_fraction()) - config.dispatch_timeout;
    end = now + std::max(d, Duration(std::chrono::milliseconds(100)));
  }
  if (claims && claims->exp) {
    auto left = std::chrono::seconds(*claims->exp) - std::chrono::duration_cast<std::chrono::seconds>(
                                                         std::chrono::system_clock::now().time_since_epoch());
    auto cap = now + std::chrono::duration_cast<Duration>(left * random_fraction());
    if (cap < end) end = cap;
  }

  std::string head = build_headers(req, config, reply_cursor, stream->chunked);
  std::string chunk_header;
  bool ok;
  {
    std::vector<asio::const_buffer> opening{asio::buffer(kSseComment.data(), kSseComment.size())};
    auto buffers = framed(*stream, chunk_header, opening);
    buffers.insert(buffers.begin(), asio::buffer(head));
    if (req.method() == http::verb::head) buffers = {asio::buffer(head)};
    progress.headers_sent = true;
    ok = co_await write_with_deadline(stream, std::move(buffers), config.dispatch_timeout);
  }
  if (!ok || req.method() == http::verb::head) {
    progress.registered = progress.announced = false;  // finish_stream undoes both
    co_await finish_stream(stream, false);
    co_return;
  }
  // Streams live long and are many: the stream continues on its own (a writer that holds a
  // coroutine only while busy), and this coroutine (with the request, the session and their
  // buffers) ends here.
  start_stream(stream);
}

}  // namespace

}  // namespace herald::http_detail
