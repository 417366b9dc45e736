// TLS 1.3 (OpenSSL) over any connection: a Connection wrapper, like link emulation, so the control
// connection and every striped data connection are encrypted the same way whatever the transport
// under them (docs/security.md "Deploying with TLS").
//
// Reads and writes may run at the same time on one connection (a striped call sends tiles while it
// receives results), which one OpenSSL object does not allow from two threads. So OpenSSL only ever
// sees memory buffers, under a lock held for the encryption or decryption of a chunk and never
// across a blocking read or write; the wrapped connection's reads and writes happen outside it.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "transport/address.h"
#include "transport/transport.h"

namespace rcpu::transport {

// The files of one side of TLS, PEM encoded.
struct TlsSettings {
  std::string certificate;  // our certificate chain (the server's: required; a client's: mutual TLS)
  std::string private_key;  // its private key
  // Certificates the peer's must chain to. A client always checks the server's; a server given
  // this requires every client to present one (mutual TLS).
  std::string trusted_ca;
};

// A file that cannot be read, a key that does not match its certificate, a missing setting: the
// message names the file and what OpenSSL said.
struct TlsSetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One side's TLS configuration (an OpenSSL SSL_CTX), shared by all its connections.
class TlsContext {
 public:
  enum class Role { client, server };
  TlsContext(Role role, const TlsSettings& settings);  // throws TlsSetupError
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  Role role() const { return role_; }
  bool verifies_peer() const { return verifies_peer_; }
  void* native() const { return ctx_; }  // the SSL_CTX

 private:
  Role role_;
  bool verifies_peer_ = false;
  void* ctx_ = nullptr;
};

// `inner` wrapped in TLS under `context`. The TLS handshake runs on the first read or write, so it
// happens under whatever time-outs or deadline the caller has set; its failure is a
// TransportError(handshake) "TLS handshake with PEER: CAUSE". A client checks that the server's
// certificate names `server_name` (a host name or an IP address; address_host() of where it
// connected, unless the user named another).
std::unique_ptr<Connection> tls_wrap(std::unique_ptr<Connection> inner, std::shared_ptr<const TlsContext> context,
                                     const std::string& server_name = {});

// The host a certificate must name for `where`: "gpu-node-1" of "gpu-node-1:7000", "::1" of
// "[::1]:7000". Empty for a transport without host names.
std::string address_host(const Address& where);

}  // namespace rcpu::transport
