// The proofs of the shared-key handshake (docs/protocol.md, "Authentication"). Each side proves it
// holds the key by an HMAC-SHA256, under the key, of everything the handshake fixed: the key id,
// both sides' fresh nonces and the client's instance id. The client's proof covers the server's
// nonce, so a recorded handshake cannot be replayed to the server; the server's covers the client's,
// so a recorded answer cannot fool a client. The two proofs carry different labels, so neither
// can be reflected as the other.
#pragma once

#include <string>

#include "security/hmac.h"
#include "security/key_file.h"

namespace rcpu::security {

inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kInstanceBytes = 16;

struct HandshakeTranscript {
  std::string key_id;
  std::string client_nonce;  // kNonceBytes
  std::string server_nonce;  // kNonceBytes
  std::string instance;      // kInstanceBytes: the client process (call tokens are bound to it)
};

std::string server_proof(const SharedKey& key, const HandshakeTranscript& t);
std::string client_proof(const SharedKey& key, const HandshakeTranscript& t);

// What a MUNGE credential of the handshake carries: the server's fresh nonce and the client's
// instance, so a credential seen on the way to one server is worthless at another, or later.
std::string munge_payload(const std::string& server_nonce, const std::string& instance);

}  // namespace rcpu::security
