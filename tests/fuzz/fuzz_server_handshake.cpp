// The server's side of the handshake (server/core/session.cpp's handshake, then
// server/core/authenticate.cpp's authenticate_client): input = u8 policy bits (bit 0: --insecure,
// bit 1: shared keys not accepted) + the bytes a client sends. The server holds the fixed test key
// and draws its nonce from the OS, so no input can hold a valid proof: nothing may get past
// without one, except a client presenting nothing to an --insecure server. Before the proof the
// server may send at most its AUTH_CHALLENGE, and only to a client naming a key it holds.
#include "fuzz_common.h"
#include "protocol/messages.h"
#include "protocol/wire.h"
#include "security/handshake_proof.h"
#include "server/core/authenticate.h"

using namespace rcpu;
using namespace rcpu::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  server::AuthPolicy policy;
  policy.insecure = (data[0] & 1) != 0;
  policy.shared_key = (data[0] & 2) == 0;
  if (policy.shared_key) policy.keys.push_back(fuzz::test_key());
  policy.munge = false;  // needs a munged; its credential is checked by munged, not by rcpu
  fuzz::InputConnection conn(data + 1, size - 1);
  Hello hello;
  server::AuthOutcome outcome;
  try {
    const FrameHeader h = recv_header(conn);
    if (h.kind != Kind::hello) return 0;
    try {
      hello = recv_body<Hello>(conn, h);
    } catch (const DecodeError&) {
      return 0;
    }
    if (hello.protocol_version != kVersion || hello.opcode_hash != opcode_table_hash() ||
        hello.instance.size() != security::kInstanceBytes)
      return 0;
    outcome = server::authenticate_client(conn, h, hello, policy);
  } catch (const ProtocolError&) {
    outcome = {};
  } catch (const transport::TransportError&) {
    outcome = {};
  }
  if (outcome.principal) {
    RCPU_FUZZ_CHECK(hello.auth_method == AuthMethod::none && policy.insecure);
    RCPU_FUZZ_CHECK(*outcome.principal == "anonymous");
  }
  const std::vector<fuzz::SentFrame> frames = fuzz::split_frames(conn.sent);
  RCPU_FUZZ_CHECK(frames.size() <= 1);
  if (!frames.empty()) {
    RCPU_FUZZ_CHECK(frames[0].header.kind == Kind::auth_challenge);
    RCPU_FUZZ_CHECK(policy.shared_key && hello.auth_method == AuthMethod::shared_key);
    const SharedKeyHello offer =
        decode<SharedKeyHello>(reinterpret_cast<const std::uint8_t*>(hello.auth.data()), hello.auth.size());
    RCPU_FUZZ_CHECK(offer.key_id == fuzz::test_key().id && offer.nonce.size() == security::kNonceBytes);
    const AuthChallenge challenge = decode<AuthChallenge>(frames[0].payload);
    RCPU_FUZZ_CHECK(challenge.nonce.size() == security::kNonceBytes);
  }
  return 0;
}
