#include "server/core/authenticate.h"

#include "protocol/archive.h"
#include "protocol/wire.h"
#include "security/handshake_proof.h"
#include "security/random.h"

namespace rcpu::server {
namespace {

using namespace rcpu::protocol;

AuthOutcome refused(std::string why) { return AuthOutcome{std::nullopt, std::move(why)}; }

const security::SharedKey* find_key(const std::vector<security::SharedKey>& keys, const std::string& id) {
  for (const security::SharedKey& k : keys)
    if (k.id == id) return &k;
  return nullptr;
}

AuthOutcome shared_key_handshake(transport::Connection& conn, const FrameHeader& h, const Hello& hello,
                                 const std::vector<security::SharedKey>& keys) {
  SharedKeyHello offer;
  try {
    offer = decode<SharedKeyHello>(reinterpret_cast<const std::uint8_t*>(hello.auth.data()), hello.auth.size());
  } catch (const DecodeError& e) {
    return refused(std::string("malformed shared-key HELLO: ") + e.what());
  }
  if (!security::valid_key_id(offer.key_id)) return refused("malformed key id in HELLO");
  if (offer.nonce.size() != security::kNonceBytes) return refused("shared-key HELLO without a 32-byte nonce");
  if (keys.empty()) return refused("this server holds no shared key (it was started with --insecure alone)");
  const security::SharedKey* key = find_key(keys, offer.key_id);
  if (!key) return refused("unknown key id '" + offer.key_id + "': the server does not hold that key");

  security::HandshakeTranscript t{offer.key_id, offer.nonce, security::random_string(security::kNonceBytes),
                                  hello.instance};
  send_message(conn, Kind::auth_challenge, h.request_id, 0, AuthChallenge{t.server_nonce, server_proof(*key, t)});
  const FrameHeader ph = recv_header(conn);
  if (ph.kind != Kind::auth_proof) return refused(std::string("expected AUTH_PROOF, got ") + kind_name(ph.kind));
  AuthProof proof;
  try {
    proof = recv_body<AuthProof>(conn, ph);
  } catch (const DecodeError& e) {
    return refused(std::string("malformed AUTH_PROOF: ") + e.what());
  }
  if (!security::equal_in_constant_time(proof.proof, client_proof(*key, t)))
    return refused("wrong key: the client's proof does not match key '" + key->id + "'");
  return AuthOutcome{"key:" + key->id, {}};
}

}  // namespace

AuthOutcome authenticate_client(transport::Connection& conn, const FrameHeader& h, const Hello& hello,
                                const std::vector<security::SharedKey>& keys, bool insecure) {
  switch (hello.auth_method) {
    case AuthMethod::none:
      if (insecure) return AuthOutcome{"anonymous", {}};
      return refused(
          "authentication required: this server accepts only clients holding its key "
          "(give the client a copy of the server's key file: RCPU_KEY_FILE=path, docs/security.md)");
    case AuthMethod::shared_key:
      return shared_key_handshake(conn, h, hello, keys);
  }
  return refused("authentication method " + std::to_string(unsigned(hello.auth_method)) +
                 " is not supported by this server");
}

std::vector<security::SharedKey> load_server_keys(const std::vector<std::string>& key_files, bool insecure) {
  std::vector<security::SharedKey> keys;
  std::vector<std::string> files = key_files;
  // An --insecure server still holds the default key when there is one, so that clients holding
  // it are served too (they insist on the server's proof).
  if (files.empty()) {
    const std::optional<std::string> found = security::find_default_key_file();
    if (!found && insecure) return keys;
    if (!found) {
      std::string looked;
      for (const std::string& p : security::default_key_paths()) looked += (looked.empty() ? "" : ", ") + p;
      throw std::runtime_error("no shared key: looked for " + looked +
                               ". Write one with `rcpu keygen` and give it with --key-file (and to the clients), "
                               "or run with --insecure to accept clients without authentication");
    }
    files.push_back(*found);
  }
  for (const std::string& f : files)
    for (security::SharedKey& k : security::load_key_file(f)) {
      if (find_key(keys, k.id)) throw std::runtime_error("key id '" + k.id + "' appears in two key files");
      keys.push_back(std::move(k));
    }
  return keys;
}

}  // namespace rcpu::server
