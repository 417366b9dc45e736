// TLS configuration of one side: TLS 1.3 only, certificates from PEM files, peer verification.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include "transport/tcp_host_port.h"
#include "transport/tls.h"

namespace rcpu::transport {
namespace {

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

[[noreturn]] void setup_failed(const std::string& what) { throw TlsSetupError(what + ": " + openssl_reason()); }

}  // namespace

TlsContext::TlsContext(Role role, const TlsSettings& s) : role_(role) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(role == Role::server ? TLS_server_method() : TLS_client_method());
  if (!ctx) setup_failed("cannot create a TLS context");
  // Freed here if a setting below is refused (the destructor does not run for a throwing constructor).
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> owned(ctx, SSL_CTX_free);
  // TLS 1.3 only: its handshake is one round trip, its ciphers all authenticated encryption.
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  // No session tickets: rcpu never resumes a session, and a ticket arriving after the handshake
  // would be the only message that needs a write on the reading side.
  if (role == Role::server) {
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  if (role == Role::server && s.certificate.empty())
    throw TlsSetupError("TLS on the server needs a certificate (--tls-cert) and its key (--tls-key)");
  if (s.certificate.empty() != s.private_key.empty())
    throw TlsSetupError(s.certificate.empty() ? "a TLS private key without its certificate"
                                              : "TLS certificate " + s.certificate + " given without its private key");
  if (!s.certificate.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, s.certificate.c_str()) != 1)
      setup_failed("TLS certificate " + s.certificate);
    if (SSL_CTX_use_PrivateKey_file(ctx, s.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
      setup_failed("TLS private key " + s.private_key);
    if (SSL_CTX_check_private_key(ctx) != 1)
      setup_failed("TLS private key " + s.private_key + " does not belong to " + s.certificate);
  }
  if (role == Role::client && s.trusted_ca.empty())
    throw TlsSetupError("TLS on the client needs the certificate authority to check the server with (RCPU_TLS_CA)");
  if (!s.trusted_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, s.trusted_ca.c_str(), nullptr) != 1)
      setup_failed("TLS certificate authority " + s.trusted_ca);
    // A server given a CA insists on a client certificate: that is what makes it mutual TLS.
    SSL_CTX_set_verify(ctx, role == Role::server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                       nullptr);
    verifies_peer_ = true;
  }
  ctx_ = owned.release();
}

TlsContext::~TlsContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

std::string address_host(const Address& where) {
  if (where.scheme != "tcp") return {};
  return tcp::parse_host_port(where.location).host;
}

}  // namespace rcpu::transport
