#include "security/handshake_proof.h"

namespace rcpu::security {
namespace {

std::string proof(const SharedKey& key, const char* label, const HandshakeTranscript& t) {
  // Every field has a fixed size but the id, which goes first with its length: no two transcripts
  // encode to the same bytes.
  std::string m(label);
  m += '\0';
  m += char(t.key_id.size());
  m += t.key_id;
  m += t.client_nonce;
  m += t.server_nonce;
  m += t.instance;
  const Mac mac = hmac_sha256(key.secret, m);
  return std::string(mac.begin(), mac.end());
}

}  // namespace

std::string server_proof(const SharedKey& key, const HandshakeTranscript& t) {
  return proof(key, "rcpud server proof v2", t);
}

std::string client_proof(const SharedKey& key, const HandshakeTranscript& t) {
  return proof(key, "rcpu client proof v2", t);
}

std::string munge_payload(const std::string& server_nonce, const std::string& instance) {
  std::string m("rcpu munge v2");
  m += '\0';
  return m + server_nonce + instance;
}

}  // namespace rcpu::security
