// TLS under the protocol (transport/tls.h): both directions at once intact, nothing readable on the
// wire, untrusted or misnamed certificates refused, mutual TLS, and rcpud refusing (and counting)
// clients that do not speak TLS while it serves those that do. Certificates: build/test-tls
// (tests/tls/make_test_certs.sh).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "client/core/remote_connection.h"
#include "protocol/messages.h"
#include "protocol/wire.h"
#include "security/handshake_proof.h"
#include "security/random.h"
#include "server/core/server.h"
#include "server/kinds.h"
#include "transport/connect.h"
#include "transport/tls.h"

namespace rcpu {
namespace {

using transport::TlsContext;
using transport::TlsSettings;
using transport::TransportError;

// The build's certificates (RCPU_TEST_TLS_DIR, compiled in), or those the environment names.
std::string cert(const std::string& name) {
  const char* dir = std::getenv("RCPU_TEST_TLS_DIR");
  return std::string(dir ? dir : RCPU_TEST_TLS_DIR) + "/" + name;
}

std::shared_ptr<const TlsContext> server_context(const std::string& name = "server", const std::string& ca = {}) {
  return std::make_shared<const TlsContext>(
      TlsContext::Role::server, TlsSettings{cert(name + ".pem"), cert(name + ".key"), ca.empty() ? "" : cert(ca)});
}

std::shared_ptr<const TlsContext> client_context(const std::string& ca = "ca.pem", const std::string& name = {}) {
  return std::make_shared<const TlsContext>(
      TlsContext::Role::client,
      TlsSettings{name.empty() ? "" : cert(name + ".pem"), name.empty() ? "" : cert(name + ".key"), cert(ca)});
}

// A TLS connection pair over loopback TCP: the server half is accepted and wrapped in a thread.
struct Pair {
  std::unique_ptr<transport::Connection> client, server;
};
Pair tls_pair(std::shared_ptr<const TlsContext> srv, std::shared_ptr<const TlsContext> cli,
              const std::string& server_name = "127.0.0.1") {
  auto listener = transport::listen("127.0.0.1:0");
  Pair p;
  p.client = transport::tls_wrap(transport::connect(listener->address(), 2000), cli, server_name);
  p.server = transport::tls_wrap(listener->accept(2000), srv);
  p.client->set_timeouts(5000, 5000);
  p.server->set_timeouts(5000, 5000);
  return p;
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::uint8_t(i * 31 + seed + (i >> 12));
  return v;
}

// Sends `out` while receiving `expect_in` on the same connection, as a striped call does.
void duplex(transport::Connection& c, const std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& expect_in,
            bool& intact) {
  std::string send_error;
  std::thread sender([&] {
    try {
      for (std::size_t at = 0; at < out.size(); at += 1 << 20)
        c.send_all(out.data() + at, std::min<std::size_t>(1 << 20, out.size() - at));
    } catch (const std::exception& e) {
      send_error = e.what();
    }
  });
  std::vector<std::uint8_t> in(expect_in.size());
  try {
    for (std::size_t at = 0; at < in.size(); at += 300007)
      c.recv_exact(in.data() + at, std::min<std::size_t>(300007, in.size() - at));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "receiving: " << e.what();
  }
  sender.join();
  EXPECT_EQ(send_error, "");
  intact = in == expect_in;
}

TEST(Tls, CarriesBothDirectionsAtOnceIntact) {
  Pair p = tls_pair(server_context(), client_context());
  const std::vector<std::uint8_t> up = pattern(24 << 20, 1), down = pattern(24 << 20, 2);
  bool server_ok = false, client_ok = false;
  std::thread s([&] { duplex(*p.server, down, up, server_ok); });
  duplex(*p.client, up, down, client_ok);
  s.join();
  EXPECT_TRUE(server_ok);
  EXPECT_TRUE(client_ok);
  EXPECT_EQ(p.client->verified_peer(), "rcpud-test");  // the client checked the server's certificate
  EXPECT_EQ(p.server->verified_peer(), "");            // and the server asked for none
}

// A relay between client and server that keeps every byte it forwards.
class Tap {
 public:
  explicit Tap(const std::string& target) : target_(target) {
    listener_ = transport::listen("127.0.0.1:0");
    thread_ = std::thread([this] { relay(); });
  }
  ~Tap() { finish(); }
  std::string address() const { return listener_->address(); }
  // After the client closed: every byte it sent.
  const std::vector<std::uint8_t>& finish() {
    if (thread_.joinable()) thread_.join();
    return seen_;
  }

 private:
  // Forwards whatever arrives, one byte at a time on the client side (the Connection interface
  // reads exact counts), until the client closes.
  void relay() {
    auto from = listener_->accept(5000);
    auto to = transport::connect(target_, 2000);
    from->set_timeouts(200, 5000);
    to->set_timeouts(200, 5000);
    std::atomic<bool> done{false};
    std::thread back([&] {
      std::uint8_t b;
      while (!done.load()) {
        try {
          to->recv_exact(&b, 1);
          from->send_all(&b, 1);
        } catch (const TransportError& e) {
          if (e.kind != TransportError::Kind::timeout) break;
        }
      }
    });
    std::uint8_t b;
    int quiet = 0;
    while (quiet < 10) {
      try {
        from->recv_exact(&b, 1);
        seen_.push_back(b);
        to->send_all(&b, 1);
        quiet = 0;
      } catch (const TransportError& e) {
        if (e.kind != TransportError::Kind::timeout) break;
        ++quiet;
      }
    }
    done.store(true);
    back.join();
  }
  std::string target_;
  std::unique_ptr<transport::Listener> listener_;
  std::thread thread_;
  std::vector<std::uint8_t> seen_;
};

TEST(Tls, NothingReadableOnTheWire) {
  auto listener = transport::listen("127.0.0.1:0");
  std::vector<std::uint8_t> got;
  const std::string marker = "RCPU-PLAINTEXT-MARKER-";
  std::string text;
  while (text.size() < 64 * 1024) text += marker;
  std::thread server([&] {
    auto c = transport::tls_wrap(listener->accept(5000), server_context());
    c->set_timeouts(5000, 5000);
    got.resize(text.size());
    c->recv_exact(got.data(), got.size());
    c->send_all("ok", 2);
  });
  {
    Tap tap(listener->address());
    auto c = transport::tls_wrap(transport::connect(tap.address(), 2000), client_context(), "127.0.0.1");
    c->set_timeouts(5000, 5000);
    c->send_all(text.data(), text.size());
    char ok[2];
    c->recv_exact(ok, 2);
    server.join();
    c.reset();
    const std::vector<std::uint8_t>& wire = tap.finish();
    EXPECT_GT(wire.size(), text.size());
    EXPECT_EQ(std::search(wire.begin(), wire.end(), marker.begin(), marker.end()), wire.end())
        << "plaintext seen on the wire";
  }
  EXPECT_EQ(std::string(got.begin(), got.end()), text);
}

TEST(Tls, RefusesAServerOutsideTheTrustedAuthority) {
  auto listener = transport::listen("127.0.0.1:0");
  std::string server_error;
  std::thread server([&] {
    try {
      auto c = transport::tls_wrap(listener->accept(5000), server_context("rogue-server"));
      c->set_timeouts(5000, 5000);
      char b;
      c->recv_exact(&b, 1);
    } catch (const TransportError& e) {
      server_error = e.what();
    }
  });
  auto c = transport::tls_wrap(transport::connect(listener->address(), 2000), client_context(), "127.0.0.1");
  c->set_timeouts(5000, 5000);
  try {
    c->send_all("x", 1);
    FAIL() << "a server certificate from another authority was accepted";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind, TransportError::Kind::handshake);
    EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();
  }
  c.reset();
  server.join();
  EXPECT_NE(server_error.find("TLS handshake"), std::string::npos) << server_error;  // the alert reached it
}

TEST(Tls, RefusesACertificateForAnotherName) {
  auto listener = transport::listen("127.0.0.1:0");
  std::thread server([&] {
    try {
      auto c = transport::tls_wrap(listener->accept(5000), server_context());
      c->set_timeouts(5000, 5000);
      char b;
      c->recv_exact(&b, 1);
    } catch (const TransportError&) {
    }
  });
  auto c = transport::tls_wrap(transport::connect(listener->address(), 2000), client_context(), "gpu-node-9");
  c->set_timeouts(5000, 5000);
  EXPECT_THROW(c->send_all("x", 1), TransportError);
  c.reset();
  server.join();
}

// Mutual TLS: the server takes only clients whose certificate its authority signed.
TEST(Tls, MutualTlsNamesTheClientAndRefusesOthers) {
  for (const std::string who : {"client", "rogue-client", ""}) {
    auto listener = transport::listen("127.0.0.1:0");
    std::string server_saw, server_error;
    std::thread server([&] {
      try {
        auto c = transport::tls_wrap(listener->accept(5000), server_context("server", "ca.pem"));
        c->set_timeouts(5000, 5000);
        char b;
        c->recv_exact(&b, 1);
        server_saw = c->verified_peer();
        c->send_all("y", 1);
      } catch (const TransportError& e) {
        server_error = e.what();
      }
    });
    auto c =
        transport::tls_wrap(transport::connect(listener->address(), 2000), client_context("ca.pem", who), "127.0.0.1");
    c->set_timeouts(5000, 5000);
    bool answered = false;
    try {
      c->send_all("x", 1);
      char b;
      c->recv_exact(&b, 1);  // a refused client learns it here: TLS 1.3 checks its certificate last
      answered = true;
    } catch (const TransportError&) {
    }
    server.join();
    if (who == "client") {
      EXPECT_TRUE(answered);
      EXPECT_EQ(server_saw, "alice");
    } else {
      EXPECT_FALSE(answered) << "client '" << who << "' was let in";
      EXPECT_NE(server_error.find("TLS handshake"), std::string::npos) << who << ": " << server_error;
    }
  }
}

TEST(Tls, SetupErrorsNameTheFile) {
  try {
    TlsContext(TlsContext::Role::server, TlsSettings{"/nonexistent/cert.pem", cert("server.key"), ""});
    FAIL();
  } catch (const transport::TlsSetupError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos) << e.what();
  }
  try {
    TlsContext(TlsContext::Role::server, TlsSettings{cert("server.pem"), cert("client.key"), ""});
    FAIL();
  } catch (const transport::TlsSetupError& e) {
    EXPECT_NE(std::string(e.what()).find("client.key"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TlsContext(TlsContext::Role::client, TlsSettings{}), transport::TlsSetupError);
  EXPECT_THROW(TlsContext(TlsContext::Role::server, TlsSettings{}), transport::TlsSetupError);
}

struct RunningServer {
  explicit RunningServer(server::ServerOptions o)
      : srv((o.listen = "127.0.0.1:0", o), backend::make_cpu_backend({}), server::server_kinds()),
        thread([this] { srv.run(); }) {}
  ~RunningServer() {
    srv.stop();
    thread.join();
  }
  server::Server srv;
  std::thread thread;
};

// rcpud under --tls-cert: a client in the clear is refused and counted as a failed authentication;
// a TLS client (with the shared key, as usual) is served meanwhile.
TEST(Tls, ServerRefusesClientsInTheClearAndServesTlsClients) {
  server::ServerOptions o;
  o.tls = TlsSettings{cert("server.pem"), cert("server.key"), ""};
  RunningServer s(o);
  auto plain = transport::connect(s.srv.endpoint(), 2000);
  plain->set_timeouts(5000, 5000);
  EXPECT_ANY_THROW(client::client_handshake(*plain, s.srv.endpoint(), protocol::kCapLevel3));
  plain.reset();

  auto tls = transport::tls_wrap(transport::connect(s.srv.endpoint(), 2000), client_context(), "127.0.0.1");
  tls->set_timeouts(5000, 5000);
  const protocol::HelloOk ok = client::client_handshake(*tls, s.srv.endpoint(), protocol::kCapLevel3);
  EXPECT_EQ(ok.backend, "cpu");
  for (int i = 0; i < 100 && s.srv.counters().auth_failures() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(s.srv.counters().auth_failures(), 1u);
  EXPECT_EQ(s.srv.counters().sessions(), 1u);
}

// --tls-client-ca: the certificate is the credential (AuthMethod::tls_certificate, no key).
TEST(Tls, ClientCertificateAuthenticatesWithoutAKey) {
  server::ServerOptions o;
  o.tls = TlsSettings{cert("server.pem"), cert("server.key"), cert("ca.pem")};
  RunningServer s(o);
  EXPECT_TRUE(s.srv.auth().tls_certificate);
  EXPECT_FALSE(s.srv.auth().shared_key);
  auto c =
      transport::tls_wrap(transport::connect(s.srv.endpoint(), 2000), client_context("ca.pem", "client"), "127.0.0.1");
  c->set_timeouts(5000, 5000);
  protocol::Hello hello;
  hello.opcode_hash = protocol::opcode_table_hash();
  hello.capabilities = protocol::kCapLevel3;
  hello.instance = security::random_string(security::kInstanceBytes);
  hello.auth_method = protocol::AuthMethod::tls_certificate;
  protocol::send_message(*c, protocol::Kind::hello, 0, 0, hello);
  EXPECT_EQ(protocol::recv_header(*c).kind, protocol::Kind::hello_ok);
}

TEST(Tls, CertificateMethodNeedsAVerifiedCertificate) {
  server::AuthPolicy policy;
  policy.shared_key = false;
  policy.tls_certificate = true;
  auto listener = transport::listen("127.0.0.1:0");
  auto c = transport::connect(listener->address(), 2000);
  auto accepted = listener->accept(2000);
  protocol::Hello hello;
  hello.auth_method = protocol::AuthMethod::tls_certificate;
  const server::AuthOutcome out = server::authenticate_client(*accepted, protocol::FrameHeader{}, hello, policy);
  EXPECT_FALSE(out.principal);
  EXPECT_NE(out.why.find("no verified TLS client certificate"), std::string::npos) << out.why;
  EXPECT_THROW(server::make_auth_policy({"tls"}, {}, "", false, false), std::runtime_error);
}

}  // namespace
}  // namespace rcpu
