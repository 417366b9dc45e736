// The messages of protocol v2 and their codecs (one definition per message, both directions; see
// archive.h). Which frame kind carries which message:
//   HELLO -> Hello, AUTH_CHALLENGE -> AuthChallenge, AUTH_PROOF -> AuthProof, HELLO_OK -> HelloOk,
//   ERROR -> ErrorReply, REQUEST -> Request, RESPONSE -> Response, DATA -> raw operand bytes (no
//   codec), BYE -> empty.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/level3.h"
#include "protocol/archive.h"
#include "protocol/frame.h"

namespace rcpu::protocol {

inline constexpr std::size_t kMaxAuthBytes = 4096;
inline constexpr std::size_t kMaxNameBytes = 256;
inline constexpr std::size_t kMaxMessageBytes = 4096;
inline constexpr std::size_t kMaxOperands = 3;

// Capability bits (HELLO and HELLO_OK). A peer ignores bits it does not know.
inline constexpr std::uint64_t kCapLevel3 = 1ull << 0;  // REQUEST of Level-3 BLAS calls
inline constexpr std::uint64_t kCapTiles = 1ull << 1;   // tiled, pipelined requests (kFlagTiled)

// none: only a server started with --insecure accepts it. shared_key, munge: the handshakes of
// docs/protocol.md "Authentication" (security/handshake_proof.h, security/munge_credential.h).
// tls_certificate: the client certificate the server verified in the TLS handshake under the
// protocol (mutual TLS); HELLO carries nothing more.
enum class AuthMethod : std::uint16_t { none = 0, shared_key = 1, munge = 2, tls_certificate = 3 };
inline constexpr std::size_t kMaxNonceBytes = 64;

// FNV-1a 64 of the generated opcode table text (rcpu::kOpcodeTable): both ends send/compare it so
// builds from different specs fail at connect time instead of computing the wrong routine.
std::uint64_t fnv1a64(const void* data, std::size_t size);
std::uint64_t opcode_table_hash();

struct Hello {
  std::uint32_t protocol_version = kVersion;
  std::uint64_t opcode_hash = 0;
  std::uint64_t capabilities = 0;
  AuthMethod auth_method = AuthMethod::none;
  std::string auth;      // method-specific bytes, at most kMaxAuthBytes (shared_key: SharedKeyHello)
  std::string client;    // free text for the server's log ("rcpu 0.1.0 pid 1234")
  std::string instance;  // 16 random bytes naming the client process: its call tokens are bound to it
};
template <class Ar>
void codec(Ar& ar, Hello& m) {
  ar(m.protocol_version, m.opcode_hash, m.capabilities, m.auth_method);
  ar(bounded(m.auth, kMaxAuthBytes), bounded(m.client, kMaxNameBytes), bounded(m.instance, kMaxNonceBytes));
}

// HELLO's auth bytes with AuthMethod::shared_key: which key, and the client's fresh nonce.
struct SharedKeyHello {
  std::string key_id;
  std::string nonce;
};
template <class Ar>
void codec(Ar& ar, SharedKeyHello& m) {
  ar(bounded(m.key_id, kMaxNameBytes), bounded(m.nonce, kMaxNonceBytes));
}

// AUTH_CHALLENGE, the server's answer to a shared-key or MUNGE HELLO: its fresh nonce and (shared
// key) its proof that it holds the key, which the client checks before it says anything more.
struct AuthChallenge {
  std::string nonce;
  std::string proof;
};
template <class Ar>
void codec(Ar& ar, AuthChallenge& m) {
  ar(bounded(m.nonce, kMaxNonceBytes), bounded(m.proof, kMaxNonceBytes));
}

// AUTH_PROOF: the client's proof (shared key: its HMAC; MUNGE: its credential); HELLO_OK (or
// ERROR auth_failed) follows.
struct AuthProof {
  std::string proof;
};
template <class Ar>
void codec(Ar& ar, AuthProof& m) {
  ar(bounded(m.proof, kMaxAuthBytes));
}

// The name of a striped call that its other connections JOIN: 128 random bits from the client's
// OS random source. The server binds it to the client instance that registered it.
struct CallToken {
  std::uint64_t hi = 0, lo = 0;
  bool empty() const { return hi == 0 && lo == 0; }
  auto operator<=>(const CallToken&) const = default;
};
template <class Ar>
void codec(Ar& ar, CallToken& m) {
  ar(m.hi, m.lo);
}

struct HelloOk {
  std::string server_version;  // "rcpud 0.1.0"
  std::string backend;         // "cpu", "cuda"
  std::uint64_t capabilities = 0;
  std::uint64_t max_request_bytes = 0;  // operand bytes (in + out) one request may carry
};
template <class Ar>
void codec(Ar& ar, HelloOk& m) {
  ar(bounded(m.server_version, kMaxNameBytes), bounded(m.backend, kMaxNameBytes));
  ar(m.capabilities, m.max_request_bytes);
}

struct ErrorReply {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};
template <class Ar>
void codec(Ar& ar, ErrorReply& m) {
  ar(m.code, bounded(m.message, kMaxMessageBytes));
}

// One operand of a request as it travels: packed column-major rows x cols, leading dimension = rows.
struct OperandDesc {
  std::uint8_t index = 0;  // 0 = A, 1 = B, 2 = C (B of trmm/trsm)
  Role role = Role::none;
  std::uint64_t rows = 0, cols = 0;
  std::uint32_t elem_size = 0;
  // Saturates at UINT64_MAX instead of wrapping, so hostile dimensions cannot look small.
  std::uint64_t bytes() const;
  bool operator==(const OperandDesc&) const = default;
};
template <class Ar>
void codec(Ar& ar, OperandDesc& m) {
  ar(m.index, m.role, m.rows, m.cols, m.elem_size);
}

}  // namespace rcpu::protocol

namespace rcpu {
// Level3Args travels field by field, every dimension as 64 bits. Lives in rcpu's namespace so the
// archives find it by argument-dependent lookup.
template <class Ar>
void codec(Ar& ar, Level3Args& a) {
  ar(a.family, a.dtype, a.side, a.uplo, a.transa, a.transb, a.diag);
  ar(a.m, a.n, a.k, a.alpha, a.beta, a.lda, a.ldb, a.ldc);
}
}  // namespace rcpu

namespace rcpu::protocol {

// REQUEST: the call and every operand with a role, in index order. Operands that are read (role in
// or inout) follow as DATA frames in that order; the output comes back after the RESPONSE.
struct Request {
  Level3Args args;
  std::vector<OperandDesc> operands;
};
template <class Ar>
void codec(Ar& ar, Request& m) {
  ar(m.args, bounded(m.operands, kMaxOperands));
}

// REQUEST with kFlagTiled: the call, plus how it is cut into tiles (protocol/tiling.h). Both sides
// derive the same TilePlan from these numbers; the server checks every TILE against it.
struct TiledRequest {
  Request request;
  std::uint64_t panel_cols = 0;  // columns of the output per panel (1 .. n)
  std::uint64_t tile_bytes = 0;  // largest tile payload (kMinTileBytes .. kMaxDataFrame)
  // Striping over several connections: tile i (input or output) travels on stripe i mod stripes;
  // stripe 0 is this connection, stripes 1.. are other connections of the client that send JOIN
  // with `token`. stripes = 1: everything on this connection.
  std::uint32_t stripes = 1;
  CallToken token;
};
inline constexpr std::uint32_t kMaxStripes = 16;
template <class Ar>
void codec(Ar& ar, TiledRequest& m) {
  ar(m.request, m.panel_cols, m.tile_bytes, m.stripes, m.token);
}

// JOIN: this connection carries stripe `stripe` (1 .. stripes-1) of the tiled call `token`.
struct Join {
  CallToken token;
  std::uint32_t stripe = 0;
};
template <class Ar>
void codec(Ar& ar, Join& m) {
  ar(m.token, m.stripe);
}

// RESPONSE to a successful request; `output` describes the DATA frames that follow.
struct Response {
  std::uint64_t server_ns = 0;   // on the server: from the last input byte to the first output byte
  std::uint64_t compute_ns = 0;  // of which in the backend
  OperandDesc output;
  std::string backend;  // the backend that ran it ("cuda", or "cpu" when it fell through)
};
template <class Ar>
void codec(Ar& ar, Response& m) {
  ar(m.server_ns, m.compute_ns, m.output, bounded(m.backend, kMaxNameBytes));
}

}  // namespace rcpu::protocol

// ---- LAPACK calls (spec/offload/lapack.txt, common/lapack.h) ----
// REQUEST with a LAPACK opcode (0x02xx): the options and dimensions, then every operand of the
// routine in spec order with its role and packed shape (0 x 0 when the options leave it
// unreferenced). Operands read by the routine (in/inout) follow as DATA frames, flags = operand
// index in spec order. Stop-and-wait: the operands are O(n^2) bytes, the work O(n^3).
namespace rcpu::protocol {

inline constexpr std::uint64_t kCapLapack = 1ull << 2;      // REQUEST of LAPACK calls
inline constexpr std::uint64_t kCapFftStripes = 1ull << 3;  // striped FFT requests (kFlagStriped)
inline constexpr std::size_t kMaxLapackWireOperands = 6;

struct LapackRequest {
  std::uint8_t opts[4] = {0, 0, 0, 0};
  std::int64_t dims[4] = {0, 0, 0, 0};
  std::vector<OperandDesc> operands;
};
template <class Ar>
void codec(Ar& ar, LapackRequest& m) {
  ar(m.opts[0], m.opts[1], m.opts[2], m.opts[3], m.dims[0], m.dims[1], m.dims[2], m.dims[3]);
  ar(bounded(m.operands, kMaxLapackWireOperands));
}

// RESPONSE to a LAPACK request: LAPACK's INFO, then every written operand (out/inout, in spec
// order, non-empty) as DATA frames.
struct LapackResponse {
  std::uint64_t server_ns = 0;
  std::uint64_t compute_ns = 0;
  std::int64_t info = 0;
  std::string backend;
};
template <class Ar>
void codec(Ar& ar, LapackResponse& m) {
  ar(m.server_ns, m.compute_ns, m.info, bounded(m.backend, kMaxNameBytes));
}

}  // namespace rcpu::protocol
