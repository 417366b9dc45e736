// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): real, valid traffic
// built with the protocol's own encoders, in each target's input format (see each fuzz_*.cpp).
//   fuzz_write_seeds DIR     (tools/fuzz.sh --write-seeds runs it on tests/fuzz/corpus)
#include <sys/stat.h>

#include <cstdio>
#include <functional>

#include "common/lapack.h"
#include "fuzz_common.h"
#include "protocol/fft_request.h"
#include "protocol/lapack_request.h"
#include "protocol/level3_request.h"
#include "protocol/messages.h"
#include "protocol/tiling.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "security/handshake_proof.h"

using namespace rcpu;
using namespace rcpu::protocol;
using Bytes = std::vector<std::uint8_t>;

namespace {

std::string g_root;

void write_seed(const std::string& target, const std::string& name, const Bytes& b) {
  const std::string dir = g_root + "/" + target;
  ::mkdir(g_root.c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(b.data(), 1, b.size(), f) != b.size() || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Bytes le(std::uint64_t v, std::size_t n) {
  Bytes out;
  fuzz::put_le(out, v, n);
  return out;
}

Level3Args l3(L3Family f, Dtype t, char side, std::int64_t m, std::int64_t n, std::int64_t k, double beta) {
  Level3Args a;
  a.family = f;
  a.dtype = t;
  a.side = side;
  a.m = m;
  a.n = n;
  a.k = k;
  a.alpha = {1.5, 0};
  a.beta = {beta, 0};
  return level3_packed(a);
}
std::uint32_t op(const Level3Args& a) { return *level3_opcode(a.family, a.dtype); }
Request request_of(const Level3Args& a) { return Request{a, level3_operands(a)}; }

FftDescriptor fft(FftKind kind, FftPrecision p, std::vector<std::int64_t> n, std::int64_t batch) {
  FftDescriptor d;
  d.kind = kind;
  d.precision = p;
  for (std::int64_t x : n) d.dims.push_back({x, 1, 1});
  if (batch > 1) d.howmany.push_back({batch, 1, 1});
  return fft_packed(d);
}

Hello shared_key_hello() {
  Hello h;
  h.opcode_hash = opcode_table_hash();
  h.capabilities = kCapLevel3 | kCapTiles | kCapLapack;
  h.auth_method = AuthMethod::shared_key;
  const Bytes offer = encode(SharedKeyHello{fuzz::test_key().id, std::string(security::kNonceBytes, 'c')});
  h.auth.assign(offer.begin(), offer.end());
  h.client = "rcpu 0.1.0 pid 4242";
  h.instance = std::string(security::kInstanceBytes, 'i');
  return h;
}

void frame_headers() {
  const std::pair<Kind, std::uint64_t> kinds[] = {{Kind::hello, 120}, {Kind::request, 200}, {Kind::data, 4096},
                                                  {Kind::tile, 4128}, {Kind::error, 40},    {Kind::bye, 0}};
  for (const auto& [kind, len] : kinds) {
    FrameHeader h;
    h.kind = kind;
    h.request_id = 7;
    h.opcode = std::uint32_t(Opcode::dgemm);
    h.payload_length = len;
    const HeaderBytes hb = encode_header(h);
    write_seed("fuzz_frame_header", kind_name(kind), Bytes(hb.begin(), hb.end()));
  }
}

void messages() {
  auto put = [](std::uint8_t index, const char* name, const Bytes& body) {
    write_seed("fuzz_messages", name, cat(Bytes{index}, body));
  };
  const Level3Args gemm = l3(L3Family::gemm, Dtype::d, 'L', 64, 64, 64, 1);
  put(0, "hello", encode(shared_key_hello()));
  put(1, "shared_key_hello", encode(SharedKeyHello{"fuzz-key", std::string(32, 'n')}));
  put(2, "auth_challenge", encode(AuthChallenge{std::string(32, 'n'), std::string(32, 'p')}));
  put(3, "auth_proof", encode(AuthProof{std::string(32, 'p')}));
  put(4, "hello_ok", encode(HelloOk{"rcpud 0.1.0", "cpu", kCapLevel3 | kCapTiles, 1ull << 32}));
  put(5, "error", encode(ErrorReply{ErrorCode::bad_request, "invalid request"}));
  put(6, "request", encode(request_of(gemm)));
  put(7, "tiled_request", encode(TiledRequest{request_of(gemm), 16, 8192, 2, CallToken{1, 2}}));
  put(8, "join", encode(Join{CallToken{1, 2}, 1}));
  put(9, "response", encode(Response{1000, 900, level3_operands(gemm).back(), "cpu"}));
  const LapackRoutine* gesv = lapack_routine(std::uint32_t(Opcode::dgesv));
  LapackArgs la;
  la.opcode = gesv->opcode;
  la.dims[0] = 4;
  la.dims[1] = 1;
  put(10, "lapack_request", encode(make_lapack_request(*gesv, la)));
  put(11, "lapack_response", encode(LapackResponse{1000, 900, 0, "cpu"}));
  const FftDescriptor d = fft(FftKind::c2c, FftPrecision::f64, {8}, 1);
  put(12, "fft_request", encode(FftRequest{d, 0}));
  put(13, "striped_fft_request", encode(StripedFftRequest{FftRequest{d, 0}, 4, CallToken{3, 4}}));
  put(14, "operand", encode(level3_operands(gemm).front()));
  put(15, "token", encode(CallToken{5, 6}));
}

void level3_requests() {
  const Level3Args calls[] = {
      l3(L3Family::gemm, Dtype::d, 'L', 64, 64, 64, 1), l3(L3Family::symm, Dtype::s, 'R', 8, 16, 0, 0),
      l3(L3Family::hemm, Dtype::z, 'L', 8, 8, 0, 1),    l3(L3Family::syrk, Dtype::d, 'L', 0, 32, 16, 1),
      l3(L3Family::her2k, Dtype::c, 'L', 0, 8, 4, 0),   l3(L3Family::trsm, Dtype::d, 'L', 16, 4, 0, 0),
      l3(L3Family::trmm, Dtype::z, 'R', 4, 16, 0, 0)};
  for (const Level3Args& a : calls) {
    if (check_level3_request(op(a), request_of(a))) std::abort();
    write_seed("fuzz_level3_request", routine_name(a.family, a.dtype), cat(le(op(a), 4), encode(request_of(a))));
  }
}

// One valid request per double-precision LAPACK routine: dimensions 3, the first option letters
// that the routine accepts.
void lapack_requests() {
  const char letters[] = "NULTCVASO";
  for (std::uint32_t opcode = 0x0200; opcode < 0x0400; ++opcode) {
    const LapackRoutine* r = lapack_routine(opcode);
    if (!r || r->dtype != Dtype::d) continue;
    LapackArgs a;
    a.opcode = opcode;
    for (int i = 0; i < r->ndims; ++i) a.dims[i] = 3;
    std::function<bool(int)> pick = [&](int i) {
      if (i == r->nopts) return !check_lapack_request(opcode, make_lapack_request(*r, a));
      for (const char* c = letters; *c; ++c) {
        a.opts[i] = *c;
        if (pick(i + 1)) return true;
      }
      return false;
    };
    if (!pick(0)) std::abort();
    write_seed("fuzz_lapack_request", r->name, cat(le(opcode - 0x0200, 2), encode(make_lapack_request(*r, a))));
  }
}

void fft_requests() {
  const std::pair<const char*, FftDescriptor> calls[] = {
      {"c2c_d_8", fft(FftKind::c2c, FftPrecision::f64, {8}, 1)},
      {"r2c_d_4x6_x3", fft(FftKind::r2c, FftPrecision::f64, {4, 6}, 3)},
      {"c2r_s_16", fft(FftKind::c2r, FftPrecision::f32, {16}, 2)},
      {"c2c_s_2x3x4", fft(FftKind::c2c, FftPrecision::f32, {2, 3, 4}, 1)}};
  const Bytes max = le(1ull << 30, 8);
  for (const auto& [name, d] : calls) {
    const std::uint32_t opcode = fft_opcode(d.kind, d.precision);
    if (check_fft_request(opcode, FftRequest{d, 64}, 1ull << 30)) std::abort();
    write_seed("fuzz_fft_request", name, cat(cat(cat(le(opcode, 4), le(0, 1)), max), encode(FftRequest{d, 64})));
  }
  const FftDescriptor d = calls[0].second;
  write_seed("fuzz_fft_request", "striped_c2c_d_8",
             cat(cat(cat(le(fft_opcode(d.kind, d.precision), 4), le(kFlagStriped, 1)), max),
                 encode(StripedFftRequest{FftRequest{d, 0}, 3, CallToken{7, 8}})));
}

// A tiled call as the client sends it: REQUEST, then every input tile of the plan with its data.
void tiled_calls() {
  const Level3Args calls[] = {l3(L3Family::gemm, Dtype::s, 'L', 16, 16, 16, 1),
                              l3(L3Family::trsm, Dtype::s, 'L', 8, 12, 0, 0)};
  for (const Level3Args& a : calls) {
    const TiledRequest treq{request_of(a), 4, kMinTileBytes, 1, CallToken{}};
    TilePlan plan;
    if (check_level3_request(op(a), treq.request) || make_tile_plan(a, 4, kMinTileBytes, plan)) std::abort();
    fuzz::InputConnection sink(nullptr, 0);
    send_message(sink, Kind::request, 1, op(a), treq, kFlagTiled);
    std::vector<float> operand(16 * 16, 0.25f);
    std::vector<std::uint8_t> scratch;
    for (const TileDesc& t : plan.inputs) {
      const std::uint64_t ld = t.operand == 0 ? std::uint64_t(level3_shapes(a).a.rows) : std::uint64_t(a.m);
      send_tile(sink, 1, op(a), t, operand.data(), ld, sizeof(float), scratch);
    }
    write_seed("fuzz_tiling", routine_name(a.family, a.dtype), sink.sent);
  }
}

void handshakes() {
  Bytes shared;
  fuzz::append_message(shared, Kind::hello, 0, 0, shared_key_hello());
  fuzz::append_message(shared, Kind::auth_proof, 0, 0, AuthProof{std::string(32, 'p')});
  write_seed("fuzz_server_handshake", "shared_key", cat(Bytes{0}, shared));
  Hello none = shared_key_hello();
  none.auth_method = AuthMethod::none;
  none.auth.clear();
  Bytes anonymous;
  fuzz::append_message(anonymous, Kind::hello, 0, 0, none);
  write_seed("fuzz_server_handshake", "insecure_none", cat(Bytes{1}, anonymous));
  write_seed("fuzz_server_handshake", "refused_none", cat(Bytes{0}, anonymous));

  Bytes server;
  fuzz::append_message(server, Kind::auth_challenge, 0, 0, AuthChallenge{std::string(32, 's'), std::string(32, 'p')});
  fuzz::append_message(server, Kind::hello_ok, 0, 0, HelloOk{"rcpud 0.1.0", "cpu", kCapLevel3 | kCapTiles, 1ull << 32});
  write_seed("fuzz_client_handshake", "challenge_then_ok", server);
  Bytes ok;
  fuzz::append_message(ok, Kind::hello_ok, 0, 0, HelloOk{"rcpud 0.1.0", "cpu", kCapLevel3, 1ull << 32});
  write_seed("fuzz_client_handshake", "ok_without_proof", ok);
  Bytes refused;
  fuzz::append_message(refused, Kind::error, 0, 0, ErrorReply{ErrorCode::auth_failed, "wrong key"}, kFlagClosing);
  write_seed("fuzz_client_handshake", "error", refused);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR   (writes DIR/<target>/<seed>)\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  frame_headers();
  messages();
  level3_requests();
  lapack_requests();
  fft_requests();
  tiled_calls();
  handshakes();
  return 0;
}
