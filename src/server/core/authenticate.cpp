#include "server/core/authenticate.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>

#include "protocol/archive.h"
#include "protocol/wire.h"
#include "security/handshake_proof.h"
#include "security/munge_credential.h"
#include "security/random.h"

namespace rcpu::server {
namespace {

using namespace rcpu::protocol;

AuthOutcome refused(std::string why) { return AuthOutcome{std::nullopt, std::move(why), {}}; }

// The client's AUTH_PROOF, the second half of either challenge; "" or why it is refused.
std::string recv_auth_proof(transport::Connection& conn, AuthProof& proof) {
  const FrameHeader ph = recv_header(conn);
  if (ph.kind != Kind::auth_proof) return std::string("expected AUTH_PROOF, got ") + kind_name(ph.kind);
  try {
    proof = recv_body<AuthProof>(conn, ph);
  } catch (const DecodeError& e) {
    return std::string("malformed AUTH_PROOF: ") + e.what();
  }
  return {};
}

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
  AuthProof proof;
  if (std::string why = recv_auth_proof(conn, proof); !why.empty()) return refused(std::move(why));
  if (!security::equal_in_constant_time(proof.proof, client_proof(*key, t)))
    return refused("wrong key: the client's proof does not match key '" + key->id + "'");
  return AuthOutcome{"key:" + key->id, {}, "key:" + key->id};
}

// MUNGE: the server's nonce goes out, the client's credential must carry it (and the instance)
// and decode with this site's munged, which also refuses a credential it has seen before.
AuthOutcome munge_handshake(transport::Connection& conn, const FrameHeader& h, const Hello& hello,
                            const AuthPolicy& policy) {
  const std::string& socket = policy.munge_socket;
  const std::string nonce = security::random_string(security::kNonceBytes);
  send_message(conn, Kind::auth_challenge, h.request_id, 0, AuthChallenge{nonce, {}});
  AuthProof proof;
  if (std::string why = recv_auth_proof(conn, proof); !why.empty()) return refused(std::move(why));
  security::MungeIdentity who;
  try {
    who = security::munge_decode_credential(proof.proof, socket);
  } catch (const security::MungeError& e) {
    return refused(e.what());
  }
  if (who.payload != security::munge_payload(nonce, hello.instance))
    return refused("MUNGE credential not made for this handshake (replayed?)");
  const std::string principal = "munge:uid=" + std::to_string(who.uid) + ",gid=" + std::to_string(who.gid);
  if (!munge_client_allowed(policy, who.uid, who.gid))
    return refused("uid " + std::to_string(who.uid) + " (gid " + std::to_string(who.gid) +
                   ") is not allowed on this server (--allow-uid, --allow-gid)");
  return AuthOutcome{principal, {}, "uid:" + std::to_string(who.uid)};
}

std::string accepted(const AuthPolicy& p) {
  std::string out;
  if (p.shared_key) out = "a shared key (RCPU_KEY_FILE=a copy of the server's key file)";
  if (p.munge) out += std::string(out.empty() ? "" : " or ") + "a MUNGE credential (RCPU_AUTH=munge)";
  if (p.tls_certificate)
    out += std::string(out.empty() ? "" : " or ") + "a TLS client certificate (RCPU_AUTH=tls, RCPU_TLS_CERT)";
  return out;
}

}  // namespace

bool munge_client_allowed(const AuthPolicy& policy, std::uint32_t uid, std::uint32_t gid) {
  const auto listed = [](const std::vector<std::uint32_t>& ids, std::uint32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  if (policy.allow_uids.empty() && policy.allow_gids.empty()) return true;
  if (listed(policy.allow_uids, uid) || listed(policy.allow_gids, gid)) return true;
  if (policy.allow_gids.empty()) return false;
  // The user's other groups, as this host's user database (the cluster's, on a Slurm site) has them.
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (getpwuid_r(uid_t(uid), &pw, buf.data(), buf.size(), &found) != 0 || !found) return false;
  std::vector<gid_t> groups(64);
  int n = int(groups.size());
  if (getgrouplist(found->pw_name, gid_t(gid), groups.data(), &n) < 0) {
    groups.resize(std::size_t(std::max(n, 1)));
    if (getgrouplist(found->pw_name, gid_t(gid), groups.data(), &n) < 0) return false;
  }
  for (int i = 0; i < n; ++i)
    if (listed(policy.allow_gids, std::uint32_t(groups[std::size_t(i)]))) return true;
  return false;
}

AuthOutcome authenticate_client(transport::Connection& conn, const FrameHeader& h, const Hello& hello,
                                const AuthPolicy& policy) {
  switch (hello.auth_method) {
    case AuthMethod::none:
      if (policy.insecure) return AuthOutcome{"anonymous", {}, {}};
      return refused("authentication required: this server accepts clients with " + accepted(policy) +
                     ", docs/security.md");
    case AuthMethod::shared_key:
      if (!policy.shared_key)
        return refused("this server does not accept shared keys: it accepts clients with " + accepted(policy));
      return shared_key_handshake(conn, h, hello, policy.keys);
    case AuthMethod::munge:
      if (!policy.munge)
        return refused("this server does not accept MUNGE: it accepts clients with " + accepted(policy));
      return munge_handshake(conn, h, hello, policy);
    case AuthMethod::tls_certificate: {
      if (!policy.tls_certificate)
        return refused("this server does not accept TLS client certificates: it accepts clients with " +
                       accepted(policy));
      const std::string subject = conn.verified_peer();
      if (subject.empty()) return refused("no verified TLS client certificate on this connection");
      return AuthOutcome{"cert:" + subject, {}, "cert:" + subject};
    }
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

AuthPolicy make_auth_policy(const std::vector<std::string>& methods, const std::vector<std::string>& key_files,
                            const std::string& munge_socket, bool insecure, bool mutual_tls) {
  AuthPolicy p;
  p.insecure = insecure;
  p.munge_socket = munge_socket;
  if (methods.empty() && mutual_tls) {
    p.shared_key = false;
    p.tls_certificate = true;
  }
  if (!methods.empty()) {
    p.shared_key = false;
    for (const std::string& m : methods) {
      if (m == "shared-key")
        p.shared_key = true;
      else if (m == "munge")
        p.munge = true;
      else if (m == "tls")
        p.tls_certificate = true;
      else
        throw std::runtime_error("--auth " + m + ": not a method (shared-key, munge, tls)");
    }
  }
  if (p.tls_certificate && !mutual_tls)
    throw std::runtime_error("--auth tls needs --tls-client-ca: the authority whose client certificates to accept");
  if (p.munge && !security::munge_available())
    throw std::runtime_error("--auth munge: this rcpud was built without MUNGE (install libmunge-dev and rebuild)");
  if (p.shared_key) p.keys = load_server_keys(key_files, insecure || p.munge || p.tls_certificate);
  return p;
}

}  // namespace rcpu::server
