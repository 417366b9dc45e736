// The authentication step of rcpud's handshake (docs/security.md, docs/protocol.md
// "Authentication"): after HELLO, before anything is allocated for the client. With a shared key
// the server answers AUTH_CHALLENGE (its nonce and proof) and checks the client's AUTH_PROOF; with
// AuthMethod::none only an --insecure server accepts the client.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/messages.h"
#include "security/key_file.h"
#include "transport/transport.h"

namespace rcpu::server {

struct AuthOutcome {
  std::optional<std::string> principal;  // who proved themselves ("key:<id>", "anonymous"); empty: refused
  std::string why;                       // the refusal, said to the client and logged
};

// Who rcpud lets in, and how.
struct AuthPolicy {
  bool shared_key = true;  // --auth shared-key: clients proving one of `keys`
  std::vector<security::SharedKey> keys;
  bool munge = false;            // --auth munge: clients with a credential from this site's MUNGE
  std::string munge_socket;      // munged's socket ("" = libmunge's default)
  bool insecure = false;         // also clients presenting nothing
  bool tls_certificate = false;  // --auth tls: clients whose certificate TLS verified (--tls-client-ca)
};

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
