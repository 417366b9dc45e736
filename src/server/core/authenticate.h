// The authentication step of rcpud's handshake (docs/security.md, docs/protocol.md
// "Authentication"): after HELLO, before anything is allocated for the client. With a shared key
// the server answers AUTH_CHALLENGE (its nonce and proof) and checks the client's AUTH_PROOF; with
// AuthMethod::none only an --insecure server accepts the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/messages.h"
#include "security/key_file.h"
#include "transport/transport.h"

namespace rcpu::server {

struct AuthOutcome {
  // Who proved themselves ("key:<id>", "munge:uid=1000,gid=1000", "anonymous"); empty: refused.
  std::optional<std::string> principal;
  std::string why;  // the refusal, said to the client and logged
  // The client whose per-client limits apply (core/client_limits.h): "key:<id>", "uid:<uid>",
  // "cert:<common name>";
  // empty for an anonymous client (the session names it by its peer's host).
  std::string client;
};

// Who rcpud lets in, and how.
struct AuthPolicy {
  bool shared_key = true;  // --auth shared-key: clients proving one of `keys`
  std::vector<security::SharedKey> keys;
  bool munge = false;            // --auth munge: clients with a credential from this site's MUNGE
  std::string munge_socket;      // munged's socket ("" = libmunge's default)
  bool insecure = false;         // also clients presenting nothing
  bool tls_certificate = false;  // --auth tls: clients whose certificate TLS verified (--tls-client-ca)
  // MUNGE clients allowed in: a uid listed, or a gid listed (the credential's, or one of the
  // user's groups in this host's user database). Both empty: all of them.
  std::vector<std::uint32_t> allow_uids, allow_gids;
};

// Whether the MUNGE client uid/gid may be served under `policy`'s allow lists.
bool munge_client_allowed(const AuthPolicy& policy, std::uint32_t uid, std::uint32_t gid);

// Authenticates the client whose HELLO is `hello` (frame `h`) under `policy`. Exchanges the
// handshake's remaining frames on `conn`; transport errors pass through.
AuthOutcome authenticate_client(transport::Connection& conn, const protocol::FrameHeader& h,
                                const protocol::Hello& hello, const AuthPolicy& policy);

// The keys rcpud accepts, from --key-file (each file may hold several), else from the default
// places (security::default_key_paths()). Throws std::runtime_error saying what to do when there
// is none and the server is not --insecure.
std::vector<security::SharedKey> load_server_keys(const std::vector<std::string>& key_files, bool insecure);

// The policy of these options: keys loaded only when shared keys are accepted. Throws as
// load_server_keys does, or when MUNGE is asked for and this build lacks it.
// `mutual_tls`: the server verifies client certificates (--tls-client-ca), which makes "tls" the
// default method.
AuthPolicy make_auth_policy(const std::vector<std::string>& methods, const std::vector<std::string>& key_files,
                            const std::string& munge_socket, bool insecure, bool mutual_tls = false);

}  // namespace rcpu::server
