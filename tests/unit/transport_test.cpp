// The TCP transport: addresses, connect errors and time-outs, scatter-gather, EOF, SIGPIPE safety.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "transport/tcp.h"

namespace rcpu::transport {
namespace {

using Kind = TransportError::Kind;

struct Pair {
  std::unique_ptr<Listener> listener = tcp_listen(Endpoint{"127.0.0.1", 0});
  std::unique_ptr<Connection> client, server;
  Pair() {
    client = tcp_connect(Endpoint{"127.0.0.1", listener->port()}, 2000);
    server = listener->accept(2000);
  }
};

// A port that nobody listens on: bind one, note it, close it.
std::uint16_t closed_port() {
  auto l = tcp_listen(Endpoint{"127.0.0.1", 0});
  return l->port();
}

TEST(Endpoint, Parses) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:7000").host, "127.0.0.1");
  EXPECT_EQ(parse_endpoint("127.0.0.1:7000").port, 7000);
  EXPECT_EQ(parse_endpoint("localhost:0").port, 0);
  EXPECT_EQ(parse_endpoint("[::1]:5").host, "::1");
  EXPECT_EQ(parse_endpoint("[::1]:5").str(), "[::1]:5");
  for (const char* bad : {"", "host", ":1", "host:", "host:99999", "host:12a", "[::1]5", "h:-1"})
    EXPECT_THROW(parse_endpoint(bad), TransportError) << bad;
}

TEST(Tcp, ListensOnAnyFreePort) {
  auto l = tcp_listen(Endpoint{"127.0.0.1", 0});
  EXPECT_NE(l->port(), 0);
  EXPECT_EQ(l->accept(10), nullptr);  // time-out, no connection
}

TEST(Tcp, ConnectRefusedSaysWhere) {
  const std::uint16_t port = closed_port();
  try {
    tcp_connect(Endpoint{"127.0.0.1", port}, 1000);
    FAIL() << "connected to a closed port";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, Kind::refused);
    EXPECT_EQ(std::string(e.what()), "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
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

  auto l = tcp_listen(Endpoint{"127.0.0.1", 0});
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

}  // namespace
}  // namespace rcpu::transport
