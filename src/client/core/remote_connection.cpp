#include "client/core/remote_connection.h"

#include <unistd.h>

#include <cstdlib>

#include "client/core/credentials.h"
#include "client/core/tls_settings.h"
#include "protocol/archive.h"
#include "protocol/messages.h"
#include "protocol/wire.h"
#include "security/handshake_proof.h"
#include "security/munge_credential.h"
#include "security/random.h"

namespace rcpu::client {

using namespace rcpu::protocol;

namespace {

// The client's half of the shared-key handshake, after HELLO went out and AUTH_CHALLENGE came in:
// checks the server's proof (a server without the key cannot make it), then sends the client's.
void answer_challenge(transport::Connection& conn, const FrameHeader& h, const security::HandshakeTranscript& sent,
                      const security::SharedKey& key, const std::string& where) {
  const AuthChallenge challenge = recv_body<AuthChallenge>(conn, h);
  if (challenge.nonce.size() != security::kNonceBytes)
    throw ProtocolError(ErrorCode::bad_frame, "server " + where + " sent a malformed AUTH_CHALLENGE");
  security::HandshakeTranscript t = sent;
  t.server_nonce = challenge.nonce;
  if (!security::equal_in_constant_time(challenge.proof, security::server_proof(key, t)))
    throw ProtocolError(ErrorCode::auth_failed, "server " + where + " could not prove it holds key '" + key.id +
                                                    "': this client's key and the server's differ (RCPU_KEY_FILE must "
                                                    "be a copy of the server's key file) or it is not your rcpud "
                                                    "(RCPU_SERVER)");
  send_message(conn, Kind::auth_proof, h.request_id, 0, AuthProof{security::client_proof(key, t)});
}

// The client's half of the MUNGE handshake: a credential from the local munged carrying the
// server's nonce and this process's instance.
void answer_with_munge(transport::Connection& conn, const FrameHeader& h, const std::string& instance,
                       const std::string& socket, const std::string& where) {
  const AuthChallenge challenge = recv_body<AuthChallenge>(conn, h);
  if (challenge.nonce.size() != security::kNonceBytes)
    throw ProtocolError(ErrorCode::bad_frame, "server " + where + " sent a malformed AUTH_CHALLENGE");
  std::string credential;
  try {
    credential = security::munge_encode_credential(security::munge_payload(challenge.nonce, instance), socket);
  } catch (const security::MungeError& e) {
    throw ProtocolError(ErrorCode::auth_failed, std::string(e.what()) + " (RCPU_AUTH=munge; is munged running?)");
  }
  send_message(conn, Kind::auth_proof, h.request_id, 0, AuthProof{credential});
}

}  // namespace

int io_timeout_ms() {
  if (const char* env = std::getenv("RCPU_IO_TIMEOUT_MS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == 0 && v >= 0 && v < (1L << 30)) return int(v);
  }
  return 600000;
}

HelloOk client_handshake(transport::Connection& conn, const std::string& where, std::uint64_t capabilities) {
  const ClientCredentials& credentials = client_credentials();
  if (!credentials.error.empty()) throw ProtocolError(ErrorCode::auth_failed, credentials.error);
  if (credentials.tls_certificate && !client_tls().context)
    throw ProtocolError(ErrorCode::auth_failed,
                        "RCPU_AUTH=tls needs TLS: set RCPU_TLS_CA to the authority that "
                        "signed the server's certificate");
  Hello hello;
  hello.opcode_hash = opcode_table_hash();
  hello.capabilities = capabilities;
  hello.client = "rcpu 0.1.0 pid " + std::to_string(::getpid());
  hello.instance = process_instance();
  security::HandshakeTranscript transcript;
  if (credentials.munge) {
    hello.auth_method = AuthMethod::munge;
  } else if (credentials.tls_certificate) {
    hello.auth_method = AuthMethod::tls_certificate;
  } else if (credentials.key) {
    transcript = {credentials.key->id, security::random_string(security::kNonceBytes), {}, hello.instance};
    const std::vector<std::uint8_t> offer = encode(SharedKeyHello{transcript.key_id, transcript.client_nonce});
    hello.auth_method = AuthMethod::shared_key;
    hello.auth.assign(offer.begin(), offer.end());
  }
  send_message(conn, Kind::hello, 0, 0, hello);

  FrameHeader h = recv_header(conn);
  if (credentials.munge && h.kind == Kind::auth_challenge) {
    answer_with_munge(conn, h, hello.instance, credentials.munge_socket, where);
    h = recv_header(conn);
  } else if (credentials.key) {
    if (h.kind == Kind::hello_ok)
      throw ProtocolError(ErrorCode::auth_failed,
                          "server " + where + " accepted us without proving it holds our key: not trusted");
    if (h.kind == Kind::auth_challenge) {
      answer_challenge(conn, h, transcript, *credentials.key, where);
      h = recv_header(conn);
    }
  }
  if (h.kind == Kind::error) {
    const ErrorReply e = recv_body<ErrorReply>(conn, h);
    throw ProtocolError(e.code, "server " + where + " rejected the connection: " + e.message);
  }
  if (h.kind != Kind::hello_ok)
    throw ProtocolError(ErrorCode::bad_frame, std::string("expected HELLO_OK, got ") + kind_name(h.kind));
  return recv_body<HelloOk>(conn, h);
}

std::unique_ptr<RemoteConnection> RemoteConnection::open(const transport::Address& where, int connect_timeout_ms,
                                                         int io_ms) {
  const ClientTls& tls = client_tls();
  if (!tls.error.empty()) throw ProtocolError(ErrorCode::auth_failed, tls.error);
  auto rc = std::unique_ptr<RemoteConnection>(new RemoteConnection);
  rc->conn_ = transport::connect(where, connect_timeout_ms);
  if (tls.context)
    rc->conn_ = transport::tls_wrap(std::move(rc->conn_), tls.context,
                                    tls.server_name.empty() ? transport::address_host(where) : tls.server_name);
  // The handshake answer must come as quickly as a connect: a server that accepts and says nothing
  // is as unusable as one that refuses.
  rc->conn_->set_timeouts(connect_timeout_ms, connect_timeout_ms);
  // And the whole handshake within a few of those, however its bytes trickle in.
  rc->conn_->set_read_deadline(connect_timeout_ms > 0 ? 4 * connect_timeout_ms : 0);

  HelloOk ok;
  try {
    ok = client_handshake(*rc->conn_, where.str(), kCapLevel3 | kCapTiles | kCapLapack);
  } catch (const transport::TransportError& e) {
    // The two ways a TLS mismatch shows: say what to check.
    if (e.kind == transport::TransportError::Kind::handshake)
      throw transport::TransportError(e.kind, std::string(e.what()) +
                                                  " (RCPU_TLS_CA must be the authority of the server's certificate, "
                                                  "and the server must run with --tls-cert)");
    if (!tls.context && e.kind == transport::TransportError::Kind::closed)
      throw transport::TransportError(
          e.kind, std::string(e.what()) + " during the handshake (if rcpud runs with --tls-cert, set RCPU_TLS_CA)");
    throw;
  }
  rc->info_.endpoint = where.str();
  rc->info_.server_version = ok.server_version;
  rc->info_.backend = ok.backend;
  rc->info_.max_request_bytes = ok.max_request_bytes;
  rc->info_.capabilities = ok.capabilities;
  rc->conn_->set_read_deadline(0);
  rc->conn_->set_timeouts(io_ms, io_ms);
  return rc;
}

}  // namespace rcpu::client
