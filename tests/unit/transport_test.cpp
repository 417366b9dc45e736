// The transport layer: addresses and the registry of transports; the TCP transport (connect
// errors and time-outs, scatter-gather, EOF, SIGPIPE safety, half-closing); the link-emulation
// wrapper.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "transport/address.h"
#include "transport/connect.h"
#include "transport/emulated_link.h"
#include "transport/registry.h"
#include "transport/tcp_host_port.h"

namespace rcpu::transport {
namespace {

using Kind = TransportError::Kind;

struct Pair {
  std::unique_ptr<Listener> listener = listen("127.0.0.1:0");
  std::unique_ptr<Connection> client, server;
  Pair() {
    client = connect(listener->address(), 2000);
    server = listener->accept(2000);
  }
};

// An address that nobody listens on: bind one, note it, close it.
std::string closed_address() {
  auto l = listen("127.0.0.1:0");
  return l->address();
}

// The message of the TransportError(resolve) that `f` throws, or "" when it throws none.
template <class F>
std::string resolve_error(F f) {
  try {
    f();
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, Kind::resolve) << e.what();
    return e.what();
  }
  return "";
}

TEST(TcpHostPort, Parses) {
  EXPECT_EQ(tcp::parse_host_port("127.0.0.1:7000").host, "127.0.0.1");
  EXPECT_EQ(tcp::parse_host_port("127.0.0.1:7000").port, 7000);
  EXPECT_EQ(tcp::parse_host_port("localhost:0").port, 0);
  EXPECT_EQ(tcp::parse_host_port("[::1]:5").host, "::1");
  EXPECT_EQ(tcp::parse_host_port("[::1]:5").str(), "[::1]:5");
  for (const char* bad : {"", "host", ":1", "host:", "host:99999", "host:12a", "[::1]5", "h:-1"})
    EXPECT_THROW(tcp::parse_host_port(bad), TransportError) << bad;
}

TEST(Address, BareMeansTcp) {
  const Address a = parse_address("127.0.0.1:7000");
  EXPECT_EQ(a.scheme, "tcp");
  EXPECT_EQ(a.location, "127.0.0.1:7000");
  EXPECT_EQ(a.str(), "127.0.0.1:7000");  // the default transport's addresses print bare
  EXPECT_EQ(parse_address("localhost:0").str(), "localhost:0");
  EXPECT_EQ(parse_address("[::1]:5").str(), "[::1]:5");
}

TEST(Address, TcpScheme) {
  const Address a = parse_address("tcp://10.0.0.2:7000");
  EXPECT_EQ(a.scheme, "tcp");
  EXPECT_EQ(a.location, "10.0.0.2:7000");
  EXPECT_EQ(a.str(), "10.0.0.2:7000");
  const Address v6 = parse_address("tcp://[::1]:7000");
  EXPECT_EQ(v6.scheme, "tcp");
  EXPECT_EQ(v6.location, "[::1]:7000");
  EXPECT_EQ(parse_address("TCP://host:1").scheme, "tcp");  // schemes are case-insensitive
  // What str() prints parses back to the same address.
  for (const char* text : {"tcp://h:1", "h:1", "tcp://[fe80::1]:9"}) {
    const Address x = parse_address(text);
    EXPECT_EQ(parse_address(x.str()).scheme, x.scheme) << text;
    EXPECT_EQ(parse_address(x.str()).location, x.location) << text;
  }
}

TEST(Address, BadLocationsNameTheText) {
  for (const char* bad : {"", "host", ":1", "host:", "host:99999", "host:12a", "[::1]5", "h:-1", "tcp://", "tcp://host",
                          "tcp://host:99999", "tcp://[::1]5"})
    EXPECT_NE(resolve_error([&] { parse_address(bad); }), "") << bad;
  EXPECT_EQ(resolve_error([] { parse_address("tcp://host:99999"); }), "bad port in 'host:99999'");
  EXPECT_EQ(resolve_error([] { parse_address("nowhere"); }), "bad address 'nowhere' (want host:port)");
}

TEST(Address, BadOrUnknownSchemeSaysWhichAndWhatIsKnown) {
  // Schemes no transport will ever have (RFC 1149), so adding one leaves these tests as they are.
  const std::string known = " (known: " + known_schemes() + ")";
  EXPECT_EQ(resolve_error([] { parse_address("pigeon://coop"); }),
            "unknown transport 'pigeon' in 'pigeon://coop'" + known);
  EXPECT_EQ(resolve_error([] { parse_address("AVIAN-CARRIER://coop:1"); }),
            "unknown transport 'avian-carrier' in 'AVIAN-CARRIER://coop:1'" + known);
  for (const char* bad : {"://host:1", "1tcp://host:1", "t cp://host:1", "tcp:/x://host:1"})
    EXPECT_EQ(resolve_error([&] { parse_address(bad); }),
              std::string("bad address '") + bad + "' (want scheme://location, e.g. tcp://host:port)")
        << bad;
}

TEST(Registry, LooksUpBySchemeAndTcpIsTheDefault) {
  ASSERT_FALSE(transports().empty());
  EXPECT_STREQ(default_transport().scheme, "tcp");
  const Transport* tcp = find_transport("tcp");
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ(tcp, &default_transport());
  EXPECT_EQ(&transport_for("tcp"), tcp);
  EXPECT_EQ(find_transport("pigeon"), nullptr);
  EXPECT_EQ(find_transport(""), nullptr);
  const std::string unknown = "unknown transport 'pigeon' (known: " + known_schemes() + ")";
  EXPECT_EQ(resolve_error([] { transport_for("pigeon"); }), unknown);
  EXPECT_EQ(known_schemes().rfind("tcp", 0), 0u) << known_schemes();  // the default comes first
  // Each scheme once, each named in the known list.
  for (const Transport* t : transports()) {
    EXPECT_EQ(find_transport(t->scheme), t) << t->scheme;
    EXPECT_NE(known_schemes().find(t->scheme), std::string::npos) << t->scheme;
  }
  // An Address built by hand with an unknown scheme fails the same way, before any I/O.
  EXPECT_EQ(resolve_error([] { connect(Address{"pigeon", "x"}, 100); }), unknown);
  EXPECT_EQ(resolve_error([] { listen(Address{"pigeon", "x"}); }), unknown);
}

TEST(Tcp, ConnectsByTcpSchemeAndBareAddress) {
  auto l = listen("tcp://127.0.0.1:0");
  const std::string bound = l->address();
  EXPECT_EQ(bound.rfind("127.0.0.1:", 0), 0u) << bound;
  EXPECT_NE(bound, "127.0.0.1:0");
  for (const std::string& where : {bound, "tcp://" + bound}) {
    auto c = connect(where, 2000);
    auto s = l->accept(2000);
    ASSERT_TRUE(s) << where;
    EXPECT_EQ(c->peer(), bound);
    c->send_all("x", 1);
    char got = 0;
    s->recv_exact(&got, 1);
    EXPECT_EQ(got, 'x');
  }
}

TEST(Tcp, ListensOnAnyFreePort) {
  auto l = listen("127.0.0.1:0");
  EXPECT_NE(l->address(), "127.0.0.1:0");
  EXPECT_EQ(l->accept(10), nullptr);  // time-out, no connection
}

TEST(Tcp, ConnectRefusedSaysWhere) {
  const std::string where = closed_address();
  try {
    connect(where, 1000);
    FAIL() << "connected to a closed port";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, Kind::refused);
    EXPECT_EQ(std::string(e.what()), "connect " + where + ": Connection refused");
  }
}

TEST(Tcp, ConnectTimeoutFromEnvironment) {
  unsetenv("RCPU_CONNECT_TIMEOUT_MS");
  EXPECT_EQ(default_connect_timeout_ms(), 3000);
  setenv("RCPU_CONNECT_TIMEOUT_MS", "250", 1);
  EXPECT_EQ(default_connect_timeout_ms(), 250);
  setenv("RCPU_CONNECT_TIMEOUT_MS", "junk", 1);
  EXPECT_EQ(default_connect_timeout_ms(), 3000);
  unsetenv("RCPU_CONNECT_TIMEOUT_MS");
}

TEST(Tcp, ScatterGatherAndExactReceive) {
  Pair p;
  ASSERT_TRUE(p.server);
  // More buffers than IOV_MAX, of different sizes, including empty ones.
  std::vector<std::vector<std::uint8_t>> bufs(3000);
  std::vector<iovec> iov;
  std::vector<std::uint8_t> expect;
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    bufs[i].assign(i % 7 == 0 ? 0 : (i % 13) * 37 + 1, std::uint8_t(i));
    iov.push_back({bufs[i].data(), bufs[i].size()});
    expect.insert(expect.end(), bufs[i].begin(), bufs[i].end());
  }
  std::vector<std::uint8_t> got(expect.size());
  std::thread reader([&] { p.server->recv_exact(got.data(), got.size()); });
  p.client->send_vec(iov.data(), iov.size());
  reader.join();
  EXPECT_EQ(got, expect);
}

TEST(Tcp, LargeTransferBothWays) {
  Pair p;
  std::vector<std::uint8_t> big(48u << 20);
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = std::uint8_t(i >> 12);
  std::vector<std::uint8_t> got(big.size());
  std::thread t([&] {
    p.server->recv_exact(got.data(), got.size());
    p.server->send_all(got.data(), got.size());
  });
  p.client->send_all(big.data(), big.size());
  std::vector<std::uint8_t> back(big.size());
  p.client->recv_exact(back.data(), back.size());
  t.join();
  EXPECT_TRUE(back == big);
}

// A per-read time-out restarts with every byte; a deadline does not: a peer trickling one byte
// every 20 ms cannot keep a 100-byte read going past the 150 ms deadline.
TEST(Tcp, ReadDeadlineHoldsAgainstATrickle) {
  Pair p;
  p.client->set_timeouts(100, 100);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int i = 0; i < 100 && !stop; ++i) {
      const char b = 'x';
      try {
        p.server->send_all(&b, 1);
      } catch (const TransportError&) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  p.client->set_read_deadline(150);
  char buf[100];
  const auto t0 = std::chrono::steady_clock::now();
  try {
    p.client->recv_exact(buf, sizeof buf);
    ADD_FAILURE() << "100 bytes arrived within the deadline";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, Kind::timeout) << e.what();
  }
  // Well before the two seconds the trickle would take to deliver all 100 bytes.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  stop = true;
  trickle.join();
  // Cleared, reads wait on the per-read time-out alone again.
  p.client->set_read_deadline(0);
  const char b = 'y';
  p.server->send_all(&b, 1);
  char got = 0;
  for (;;) {  // skip what the trickle left
    p.client->recv_exact(&got, 1);
    if (got == 'y') break;
  }
  EXPECT_EQ(got, 'y');
}

TEST(Tcp, ReadTimeoutAndEof) {
  Pair p;
  p.client->set_timeouts(100, 100);
  char c;
  try {
    p.client->recv_exact(&c, 1);
    FAIL();
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, Kind::timeout);
  }
  EXPECT_FALSE(p.client->readable_or_closed());
  p.server.reset();  // peer closes
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(p.client->readable_or_closed());
  try {
    p.client->recv_exact(&c, 1);
    FAIL();
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, Kind::closed);
  }
}

TEST(Tcp, WritingToADeadPeerThrowsInsteadOfSigpipe) {
  // SIGPIPE keeps its default action here: if MSG_NOSIGNAL were missing this test would die.
  Pair p;
  p.server.reset();
  std::vector<std::uint8_t> data(1 << 20);
  EXPECT_THROW(
      {
        for (int i = 0; i < 64; ++i) p.client->send_all(data.data(), data.size());
      },
      TransportError);
}

TEST(Tcp, ShutdownWakesBlockedReaderAndAccept) {
  Pair p;
  std::thread t([&] {
    char c;
    EXPECT_THROW(p.server->recv_exact(&c, 1), TransportError);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  p.server->shutdown();
  t.join();

  auto l = listen("127.0.0.1:0");
  std::thread a([&] { EXPECT_EQ(l->accept(-1), nullptr); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  l->shutdown();
  a.join();
}

TEST(Tcp, HangUpLetsTheLastMessageArrive) {
  Pair p;
  // The client has sent data the server never reads; the server replies and hangs up.
  std::vector<std::uint8_t> junk(100000, 1);
  p.client->send_all(junk.data(), junk.size());
  const char reply[] = "bye";
  p.server->send_all(reply, 3);
  p.server->hang_up(100);
  char got[3];
  p.client->recv_exact(got, 3);
  EXPECT_EQ(0, std::memcmp(got, reply, 3));
}

// A reply broken off midway while the peer is still sending (rcpud's torn tiled call): after
// end_sending the peer's further bytes are taken in, not answered with a reset, so everything
// queued for the peer still arrives, then the end of the stream. (With shutdown() instead, the
// kernel resets the connection on the peer's next byte and drops what was still queued.)
TEST(Tcp, EndSendingDeliversWhatIsQueuedWhileThePeerStillSends) {
  Pair p;
  p.client->set_timeouts(5000, 5000);
  constexpr std::size_t kReply = 8u << 20, kChunk = 64u << 10;
  std::vector<std::uint8_t> reply(kReply);
  for (std::size_t i = 0; i < kReply; ++i) reply[i] = std::uint8_t(i * 7 + 3);
  std::atomic<bool> ended{false};
  std::thread server([&] {
    p.server->send_all(reply.data(), reply.size());
    p.server->end_sending();
    ended = true;
  });
  std::vector<std::uint8_t> got(kReply);
  const std::uint8_t input = 1;
  bool paused = false;
  std::size_t done = 0;
  try {
    for (; done < kReply; done += kChunk) {
      if (ended && !paused) {
        // Let the half-close and the bytes below meet whatever the server still had queued.
        paused = true;
        p.client->send_all(&input, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      p.client->recv_exact(got.data() + done, kChunk);
      p.client->send_all(&input, 1);  // the client goes on sending, as a striped client does
    }
  } catch (const TransportError& e) {
    ADD_FAILURE() << "reply cut off after " << done << " of " << kReply << " bytes: " << e.what();
  }
  server.join();
  ASSERT_EQ(done, kReply);
  EXPECT_TRUE(got == reply);
  std::uint8_t extra;
  try {
    p.client->recv_exact(&extra, 1);
    ADD_FAILURE() << "no end of stream after the reply";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, Kind::closed) << e.what();
  }
}

// ---------------- link emulation (RCPU_LINK_GBPS) ----------------

// A connection that records what reaches it: the bytes and size of every write, the size of every
// read (answered with a counting pattern), and every other call.
class RecordingConnection final : public Connection {
 public:
  std::vector<std::size_t> writes, reads;
  std::vector<std::uint8_t> sent;
  std::vector<std::string> calls;
  std::uint8_t next_byte = 0;

  void send_all(const void* data, std::size_t size) override {
    iovec iov{const_cast<void*>(data), size};
    send_vec(&iov, 1);
  }
  void send_vec(const iovec* iov, std::size_t count) override {
    std::size_t n = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const auto* p = static_cast<const std::uint8_t*>(iov[i].iov_base);
      sent.insert(sent.end(), p, p + iov[i].iov_len);
      n += iov[i].iov_len;
    }
    writes.push_back(n);
  }
  void recv_exact(void* data, std::size_t size) override {
    auto* p = static_cast<std::uint8_t*>(data);
    for (std::size_t i = 0; i < size; ++i) p[i] = next_byte++;
    reads.push_back(size);
  }
  void set_timeouts(int read_ms, int write_ms) override {
    calls.push_back("set_timeouts " + std::to_string(read_ms) + " " + std::to_string(write_ms));
  }
  void set_read_deadline(int ms) override { calls.push_back("set_read_deadline " + std::to_string(ms)); }
  bool readable_or_closed() override {
    calls.push_back("readable_or_closed");
    return true;
  }
  void shutdown() override { calls.push_back("shutdown"); }
  void hang_up(int drain_ms) override { calls.push_back("hang_up " + std::to_string(drain_ms)); }
  void end_sending() override { calls.push_back("end_sending"); }
  void abandon() override { calls.push_back("abandon"); }
  std::string peer() const override { return "recorded:1"; }
};

// So fast that no test waits on it: the tests check what is paced, not how long it takes.
constexpr double kNoWait = 1e15;

TEST(EmulatedLink, PacesSendsInChunksAndDeliversEveryByteInOrder) {
  auto inner = std::make_unique<RecordingConnection>();
  RecordingConnection& rec = *inner;
  Pacer send(kNoWait), recv(kNoWait);
  EmulatedLink link(std::move(inner), send, recv);
  // Buffers smaller and larger than a pacing chunk, empty ones among them.
  std::vector<std::vector<std::uint8_t>> bufs;
  for (std::size_t size : {std::size_t(100), std::size_t(0), kPaceChunk - 50, 3 * kPaceChunk + 7, std::size_t(1),
                           std::size_t(0), kPaceChunk}) {
    bufs.emplace_back(size);
    for (std::size_t i = 0; i < size; ++i) bufs.back()[i] = std::uint8_t(i * 7 + bufs.size());
  }
  std::vector<iovec> iov;
  std::vector<std::uint8_t> expect;
  for (auto& b : bufs) {
    iov.push_back({b.data(), b.size()});
    expect.insert(expect.end(), b.begin(), b.end());
  }
  link.send_vec(iov.data(), iov.size());
  EXPECT_EQ(rec.sent, expect);
  EXPECT_EQ(send.bytes_taken(), expect.size());
  EXPECT_EQ(recv.bytes_taken(), 0u);
  // Every write but the last is exactly one chunk; none is larger.
  ASSERT_FALSE(rec.writes.empty());
  for (std::size_t i = 0; i + 1 < rec.writes.size(); ++i) EXPECT_EQ(rec.writes[i], kPaceChunk) << i;
  EXPECT_LE(rec.writes.back(), kPaceChunk);
  EXPECT_GT(rec.writes.back(), 0u);
  EXPECT_EQ(rec.writes.size(), (expect.size() + kPaceChunk - 1) / kPaceChunk);

  link.send_all(expect.data(), 10);
  EXPECT_EQ(rec.writes.back(), 10u);
  EXPECT_EQ(send.bytes_taken(), expect.size() + 10);
}

TEST(EmulatedLink, PacesReceivesInChunks) {
  auto inner = std::make_unique<RecordingConnection>();
  RecordingConnection& rec = *inner;
  Pacer send(kNoWait), recv(kNoWait);
  EmulatedLink link(std::move(inner), send, recv);
  std::vector<std::uint8_t> got(2 * kPaceChunk + 3);
  link.recv_exact(got.data(), got.size());
  EXPECT_EQ(rec.reads, (std::vector<std::size_t>{kPaceChunk, kPaceChunk, 3}));
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], std::uint8_t(i)) << i;
  EXPECT_EQ(recv.bytes_taken(), got.size());
  EXPECT_EQ(send.bytes_taken(), 0u);
  char header[32];
  link.recv_exact(header, sizeof header);
  EXPECT_EQ(rec.reads.back(), sizeof header);
  EXPECT_EQ(recv.bytes_taken(), got.size() + sizeof header);
}

TEST(EmulatedLink, PassesEverythingElseThrough) {
  auto inner = std::make_unique<RecordingConnection>();
  RecordingConnection& rec = *inner;
  Pacer send(kNoWait), recv(kNoWait);
  EmulatedLink link(std::move(inner), send, recv);
  link.set_timeouts(5, 6);
  link.set_read_deadline(8);
  EXPECT_TRUE(link.readable_or_closed());
  link.shutdown();
  link.hang_up(7);
  link.abandon();
  EXPECT_EQ(link.peer(), "recorded:1");
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"set_timeouts 5 6", "set_read_deadline 8", "readable_or_closed",
                                                 "shutdown", "hang_up 7", "abandon"}));
  EXPECT_EQ(send.bytes_taken() + recv.bytes_taken(), 0u);
}

TEST(EmulatedLink, WrapsARealConnection) {
  Pair p;
  ASSERT_TRUE(p.server);
  Pacer send(kNoWait), recv(kNoWait);
  EmulatedLink link(std::move(p.client), send, recv);
  // More buffers than IOV_MAX, more bytes than a chunk, both ways.
  std::vector<std::vector<std::uint8_t>> bufs(3000);
  std::vector<iovec> iov;
  std::vector<std::uint8_t> expect;
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    bufs[i].assign(i % 7 == 0 ? 0 : (i % 13) * 37 + 1, std::uint8_t(i));
    iov.push_back({bufs[i].data(), bufs[i].size()});
    expect.insert(expect.end(), bufs[i].begin(), bufs[i].end());
  }
  ASSERT_GT(expect.size(), kPaceChunk);
  std::vector<std::uint8_t> got(expect.size()), back(expect.size());
  std::thread echo([&] {
    p.server->recv_exact(got.data(), got.size());
    p.server->send_all(got.data(), got.size());
  });
  link.send_vec(iov.data(), iov.size());
  link.recv_exact(back.data(), back.size());
  echo.join();
  EXPECT_EQ(got, expect);
  EXPECT_EQ(back, expect);
  EXPECT_EQ(send.bytes_taken(), expect.size());
  EXPECT_EQ(recv.bytes_taken(), expect.size());
}

TEST(EmulatedLink, AppliedOnlyWhenRcpuLinkGbpsIsSet) {
  auto plain = std::make_unique<RecordingConnection>();
  Connection* const raw = plain.get();
  auto conn = emulate_link(std::move(plain));
  if (emulated_link_gbps() > 0) {
    EXPECT_NE(dynamic_cast<EmulatedLink*>(conn.get()), nullptr);
  } else {
    EXPECT_EQ(conn.get(), raw);  // off: the connection itself, no wrapper in the way
  }
}

}  // namespace
}  // namespace rcpu::transport
