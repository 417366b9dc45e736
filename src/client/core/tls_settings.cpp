#include "client/core/tls_settings.h"

#include <cstdlib>

namespace rcpu::client {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

ClientTls read_client_tls() {
  ClientTls t;
  transport::TlsSettings s;
  s.trusted_ca = env("RCPU_TLS_CA");
  s.certificate = env("RCPU_TLS_CERT");
  s.private_key = env("RCPU_TLS_KEY");
  t.server_name = env("RCPU_TLS_SERVER_NAME");
  t.client_certificate = !s.certificate.empty();
  if (s.trusted_ca.empty()) {
    if (!s.certificate.empty() || !s.private_key.empty())
      t.error =
          "RCPU_TLS_CERT/RCPU_TLS_KEY without RCPU_TLS_CA: set RCPU_TLS_CA to the authority that signed the "
          "server's certificate";
    return t;
  }
  try {
    t.context = std::make_shared<const transport::TlsContext>(transport::TlsContext::Role::client, s);
  } catch (const transport::TlsSetupError& e) {
    t.error = e.what();
  }
  return t;
}

const ClientTls& client_tls() {
  static const ClientTls tls = read_client_tls();
  return tls;
}

}  // namespace rcpu::client
