// Protocol v1: frame header, message codecs (round trips, truncations, fuzzing), request checks,
// and operand framing over an in-memory connection.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>

#include "protocol/frame.h"
#include "protocol/level3_request.h"
#include "protocol/messages.h"
#include "protocol/tiling.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"

namespace rcpu::protocol {
namespace {

// A byte pipe standing in for a socket.
class MemoryConnection : public transport::Connection {
 public:
  std::vector<std::uint8_t> bytes;
  std::size_t pos = 0;
  void send_all(const void* d, std::size_t n) override {
    bytes.insert(bytes.end(), static_cast<const std::uint8_t*>(d), static_cast<const std::uint8_t*>(d) + n);
  }
  void send_vec(const iovec* iov, std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i) send_all(iov[i].iov_base, iov[i].iov_len);
  }
  void recv_exact(void* d, std::size_t n) override {
    if (bytes.size() - pos < n) throw transport::TransportError(transport::TransportError::Kind::closed, "eof");
    std::memcpy(d, bytes.data() + pos, n);
    pos += n;
  }
  void set_timeouts(int, int) override {}
  void set_read_deadline(int) override {}  // never blocks
  bool readable_or_closed() override { return pos < bytes.size(); }
  void shutdown() override {}
  void hang_up(int) override {}
  void end_sending() override {}
  void abandon() override {}
  std::string peer() const override { return "memory"; }
};

// Runs `body` in a child process whose address space may grow by at most 256 MiB: any attempt to
// allocate an absurd size throws bad_alloc there, which fails the test. Returns the child's
// exit status (0 = the body ran to its end).
template <class F>
int with_memory_cap(F body) {
  const pid_t pid = fork();
  if (pid == 0) {
    long pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    const rlim_t cap = rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (256ull << 20);
    rlimit lim{cap, cap};
    setrlimit(RLIMIT_AS, &lim);
    try {
      body();
    } catch (...) {
      _exit(3);
    }
    _exit(::testing::Test::HasFailure() ? 2 : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Request sample_request(L3Family f, Dtype t) {
  Level3Args a;
  a.family = f;
  a.dtype = t;
  a.m = 5;
  a.n = 7;
  a.k = 3;
  a.alpha = {1.5, is_complex(t) && f != L3Family::herk ? -0.5 : 0.0};
  a.beta = {0.25, 0};
  if (f == L3Family::herk || f == L3Family::her2k) a.transa = 'C';
  const Level3Shapes s = level3_shapes(a);
  a.lda = std::max<std::int64_t>(1, s.a.rows);
  a.ldb = std::max<std::int64_t>(1, s.b.rows);
  a.ldc = std::max<std::int64_t>(1, s.c.rows);
  if (f == L3Family::trmm || f == L3Family::trsm) a.ldb = a.ldc;
  return Request{a, level3_operands(a)};
}

std::vector<std::vector<std::uint8_t>> sample_payloads() {
  Hello h;
  h.opcode_hash = opcode_table_hash();
  h.capabilities = kCapLevel3;
  h.auth = std::string(100, 'x');
  h.client = "test";
  HelloOk ok{"rcpud 0.1.0", "cpu", kCapLevel3, 1ull << 35};
  ErrorReply e{ErrorCode::over_limit, "too big"};
  Response r{123, 45, OperandDesc{2, Role::out, 5, 7, 8}, "cpu"};
  return {encode(h), encode(ok), encode(e), encode(sample_request(L3Family::gemm, Dtype::z)), encode(r)};
}

// Decodes `bytes` as every message type; returns how many decoded without error.
int decode_all(const std::vector<std::uint8_t>& bytes) {
  int ok = 0;
  auto attempt = [&](auto tag) {
    try {
      (void)decode<decltype(tag)>(bytes);
      ++ok;
    } catch (const DecodeError&) {
    }
  };
  attempt(Hello{});
  attempt(HelloOk{});
  attempt(ErrorReply{});
  attempt(Request{});
  attempt(Response{});
  return ok;
}

TEST(Frame, HeaderRoundTrip) {
  FrameHeader h;
  h.kind = Kind::data;
  h.request_id = 0x0102030405060708ull;
  h.opcode = 0x0102;
  h.flags = 2;
  h.payload_length = kMaxDataFrame;
  const HeaderBytes b = encode_header(h);
  EXPECT_EQ(0, std::memcmp(b.data(), "RCPU", 4));
  EXPECT_EQ(b[4], 2);  // version, little-endian
  EXPECT_EQ(b[8], 0x08);
  const FrameHeader d = decode_header(b.data());
  EXPECT_EQ(d.kind, Kind::data);
  EXPECT_EQ(d.request_id, h.request_id);
  EXPECT_EQ(d.opcode, h.opcode);
  EXPECT_EQ(d.flags, h.flags);
  EXPECT_EQ(d.payload_length, h.payload_length);
}

TEST(Frame, RejectsBadHeaders) {
  FrameHeader h;
  h.kind = Kind::hello;
  HeaderBytes b = encode_header(h);
  b[0] = 'X';
  EXPECT_THROW(decode_header(b.data()), ProtocolError);
  b = encode_header(h);
  b[4] = 1;  // a client of protocol v1 (no authentication)
  try {
    decode_header(b.data());
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code, ErrorCode::version_mismatch);
  }
  b = encode_header(h);
  b[6] = 0;
  EXPECT_THROW(decode_header(b.data()), ProtocolError);
  b[6] = 12;  // one past AUTH_PROOF
  EXPECT_THROW(decode_header(b.data()), ProtocolError);
  for (std::uint64_t len : {std::uint64_t(kMaxControlPayload + 1), std::uint64_t(1ull << 40), std::uint64_t(~0ull)}) {
    h.payload_length = len;
    EXPECT_THROW(decode_header(encode_header(h).data()), ProtocolError) << len;
  }
  h.kind = Kind::data;
  h.payload_length = kMaxDataFrame + 1;
  EXPECT_THROW(decode_header(encode_header(h).data()), ProtocolError);
}

TEST(Codec, RoundTripEveryMessage) {
  Hello h;
  h.opcode_hash = 0xdeadbeefcafef00dull;
  h.capabilities = 3;
  h.auth = std::string("\0\1secret", 8);
  h.client = "client";
  const Hello h2 = decode<Hello>(encode(h));
  EXPECT_EQ(h2.protocol_version, kVersion);
  EXPECT_EQ(h2.opcode_hash, h.opcode_hash);
  EXPECT_EQ(h2.capabilities, 3u);
  EXPECT_EQ(h2.auth, h.auth);
  EXPECT_EQ(h2.client, "client");
  h.instance = std::string(17, 'i');
  EXPECT_EQ(decode<Hello>(encode(h)).instance, h.instance);
  h.instance = std::string(kMaxNonceBytes + 1, 'i');
  EXPECT_THROW(encode(h), ProtocolError);  // over its bound: not even encoded

  const SharedKeyHello sk = decode<SharedKeyHello>(encode(SharedKeyHello{"k1", std::string(32, 'n')}));
  EXPECT_EQ(sk.key_id, "k1");
  EXPECT_EQ(sk.nonce, std::string(32, 'n'));
  const AuthChallenge ch = decode<AuthChallenge>(encode(AuthChallenge{std::string(32, 's'), std::string(32, 'p')}));
  EXPECT_EQ(ch.nonce, std::string(32, 's'));
  EXPECT_EQ(ch.proof, std::string(32, 'p'));
  EXPECT_EQ(decode<AuthProof>(encode(AuthProof{"proof"})).proof, "proof");
  const Join j = decode<Join>(encode(Join{CallToken{1, 2}, 3}));
  EXPECT_EQ(j.token, (CallToken{1, 2}));
  EXPECT_EQ(j.stripe, 3u);

  const HelloOk ok2 = decode<HelloOk>(encode(HelloOk{"v", "cuda", 1, 77}));
  EXPECT_EQ(ok2.server_version, "v");
  EXPECT_EQ(ok2.backend, "cuda");
  EXPECT_EQ(ok2.max_request_bytes, 77u);

  const ErrorReply e2 = decode<ErrorReply>(encode(ErrorReply{ErrorCode::busy, "busy"}));
  EXPECT_EQ(e2.code, ErrorCode::busy);
  EXPECT_EQ(e2.message, "busy");

  const Response r2 = decode<Response>(encode(Response{5, 6, OperandDesc{2, Role::inout, 3, 4, 16}, "cpu"}));
  EXPECT_EQ(r2.server_ns, 5u);
  EXPECT_EQ(r2.compute_ns, 6u);
  EXPECT_EQ(r2.output, (OperandDesc{2, Role::inout, 3, 4, 16}));

  for (int f = 0; f <= int(L3Family::trsm); ++f)
    for (int t = 0; t <= int(Dtype::z); ++t) {
      if (!level3_opcode(L3Family(f), Dtype(t))) continue;
      const Request r = sample_request(L3Family(f), Dtype(t));
      const Request d = decode<Request>(encode(r));
      EXPECT_EQ(d.args.family, r.args.family);
      EXPECT_EQ(d.args.dtype, r.args.dtype);
      EXPECT_EQ(d.args.transa, r.args.transa);
      EXPECT_EQ(d.args.m, r.args.m);
      EXPECT_EQ(d.args.n, r.args.n);
      EXPECT_EQ(d.args.k, r.args.k);
      EXPECT_EQ(d.args.alpha, r.args.alpha);
      EXPECT_EQ(d.args.beta, r.args.beta);
      EXPECT_EQ(d.args.ldc, r.args.ldc);
      EXPECT_EQ(d.operands, r.operands);
      EXPECT_FALSE(check_level3_request(*level3_opcode(L3Family(f), Dtype(t)), d).has_value());
    }
}

TEST(Codec, EveryTruncationAndExtensionIsRejected) {
  const auto payloads = sample_payloads();
  const std::vector<std::function<void(const std::vector<std::uint8_t>&)>> decoders = {
      [](const auto& b) { decode<Hello>(b); }, [](const auto& b) { decode<HelloOk>(b); },
      [](const auto& b) { decode<ErrorReply>(b); }, [](const auto& b) { decode<Request>(b); },
      [](const auto& b) { decode<Response>(b); }};
  for (std::size_t m = 0; m < payloads.size(); ++m) {
    EXPECT_NO_THROW(decoders[m](payloads[m]));
    for (std::size_t len = 0; len < payloads[m].size(); ++len) {
      std::vector<std::uint8_t> cut(payloads[m].begin(), payloads[m].begin() + len);
      EXPECT_THROW(decoders[m](cut), DecodeError) << "message " << m << " cut at " << len;
    }
    auto longer = payloads[m];
    longer.push_back(0);
    EXPECT_THROW(decoders[m](longer), DecodeError);
  }
}

TEST(Codec, AbsurdLengthsAreRejectedWithoutAllocating) {
  EXPECT_EQ(
      0, with_memory_cap([] {
        // An ERROR whose message claims 4 GiB - 1 bytes with nothing behind them.
        EXPECT_THROW(decode<ErrorReply>(std::vector<std::uint8_t>{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}), DecodeError);
        // A Request whose operand vector claims 2^32-1 entries.
        std::vector<std::uint8_t> req = encode(sample_request(L3Family::gemm, Dtype::d));
        const std::size_t args_len = req.size() - 4 - 3 * (1 + 1 + 8 + 8 + 4);
        std::memset(req.data() + args_len, 0xff, 4);
        EXPECT_THROW(decode<Request>(req), DecodeError);
      }));
}

TEST(Codec, FuzzedBytesNeverCrashOrAllocateMuch) {
  EXPECT_EQ(0, with_memory_cap([] {
              std::mt19937_64 rng(42);
              const auto payloads = sample_payloads();
              for (int iter = 0; iter < 4000; ++iter) {
                std::vector<std::uint8_t> bytes;
                if (iter % 2 == 0) {
                  bytes.resize(rng() % 200);
                  for (auto& b : bytes) b = std::uint8_t(rng());
                } else {
                  // Mutations of valid messages reach deeper into the decoders than pure noise.
                  bytes = payloads[rng() % payloads.size()];
                  const int flips = 1 + int(rng() % 4);
                  for (int f = 0; f < flips && !bytes.empty(); ++f) bytes[rng() % bytes.size()] = std::uint8_t(rng());
                }
                decode_all(bytes);
                HeaderBytes hb;
                for (auto& b : hb) b = std::uint8_t(rng());
                if (iter % 3 == 0) std::memcpy(hb.data(), "RCPU\x01\x00", 6);
                try {
                  const FrameHeader h = decode_header(hb.data());
                  EXPECT_LE(h.payload_length, kMaxDataFrame);
                } catch (const ProtocolError&) {
                }
                // Requests that decode must still pass the semantic check before anyone allocates for them.
                try {
                  const Request r = decode<Request>(bytes);
                  (void)check_level3_request(std::uint32_t(rng() % 0x200), r);
                } catch (const DecodeError&) {
                }
              }
            }));
}

TEST(RequestCheck, RejectsMismatches) {
  const std::uint32_t dgemm = *level3_opcode(L3Family::gemm, Dtype::d);
  Request r = sample_request(L3Family::gemm, Dtype::d);
  EXPECT_FALSE(check_level3_request(dgemm, r));
  EXPECT_TRUE(check_level3_request(*level3_opcode(L3Family::gemm, Dtype::s), r));  // wrong routine
  EXPECT_TRUE(check_level3_request(0xffff, r));                                    // unknown opcode
  Request bad = r;
  bad.operands[0].rows = 1ull << 40;
  EXPECT_TRUE(check_level3_request(dgemm, bad));
  bad = r;
  bad.operands.pop_back();
  EXPECT_TRUE(check_level3_request(dgemm, bad));
  bad = r;
  bad.operands[2].role = Role::inout;  // beta != 0 makes it inout already; claim out instead
  bad.operands[2].role = Role::out;
  EXPECT_TRUE(check_level3_request(dgemm, bad));
  bad = r;
  bad.args.m = -1;
  EXPECT_TRUE(check_level3_request(dgemm, bad));
  bad = r;
  bad.args.transa = 'X';
  EXPECT_TRUE(check_level3_request(dgemm, bad));
  bad = r;
  bad.args.family = L3Family(200);
  EXPECT_TRUE(check_level3_request(dgemm, bad));
  // Hermitian routine on real data.
  Request h = sample_request(L3Family::herk, Dtype::z);
  h.args.dtype = Dtype::d;
  EXPECT_TRUE(check_level3_request(*level3_opcode(L3Family::herk, Dtype::z), h));
}

TEST(RequestCheck, SaturatingSizes) {
  OperandDesc d{0, Role::in, ~0ull, ~0ull, 16};
  EXPECT_EQ(d.bytes(), ~0ull);
  EXPECT_EQ(total_bytes({d, d}), ~0ull);
  EXPECT_EQ(input_bytes({OperandDesc{2, Role::out, 10, 10, 8}}), 0u);
}

TEST(Wire, MatrixFramingGathersColumnsAndSplitsFrames) {
  std::mt19937_64 rng(7);
  for (std::uint64_t rows :
       {std::uint64_t(1), std::uint64_t(3), std::uint64_t(700)}) {  // packed (short columns) and iovec columns
    for (std::uint64_t pad : {std::uint64_t(0), std::uint64_t(5)}) {
      for (std::uint64_t max_frame : {std::uint64_t(8), std::uint64_t(1000), kMaxDataFrame}) {
        const std::uint64_t cols = 9, ld = rows + pad, elem = 8;
        std::vector<std::uint8_t> src(ld * cols * elem);
        for (auto& b : src) b = std::uint8_t(rng());
        MemoryConnection c;
        const std::uint64_t sent = send_matrix(c, 77, 0x102, 1, src.data(), rows, cols, ld, elem, max_frame);
        EXPECT_EQ(sent, c.bytes.size());
        std::vector<std::uint8_t> dst(rows * cols * elem);
        EXPECT_EQ(recv_matrix(c, 77, 1, dst.data(), dst.size()), sent);
        for (std::uint64_t j = 0; j < cols; ++j)
          ASSERT_EQ(0, std::memcmp(dst.data() + j * rows * elem, src.data() + j * ld * elem, rows * elem));
      }
    }
  }
}

TEST(Wire, MatrixReceiveChecksEveryFrame) {
  std::vector<double> m(12, 1.0);
  {
    MemoryConnection c;
    send_matrix(c, 1, 0x102, 0, m.data(), 3, 4, 3, 8);
    EXPECT_THROW(recv_matrix(c, 2, 0, nullptr, 96), ProtocolError);  // another request
  }
  {
    MemoryConnection c;
    send_matrix(c, 1, 0x102, 0, m.data(), 3, 4, 3, 8);
    EXPECT_THROW(recv_matrix(c, 1, 1, nullptr, 96), ProtocolError);  // another operand
  }
  {
    MemoryConnection c;
    send_matrix(c, 1, 0x102, 0, m.data(), 3, 4, 3, 8);
    EXPECT_THROW(recv_matrix(c, 1, 0, nullptr, 95), ProtocolError);  // longer than announced
  }
  {
    MemoryConnection c;
    send_matrix(c, 1, 0x102, 0, m.data(), 3, 4, 3, 8);
    c.bytes.resize(c.bytes.size() - 1);  // truncated
    EXPECT_THROW(recv_matrix(c, 1, 0, nullptr, 96), transport::TransportError);
  }
  {
    MemoryConnection c;
    send_message(c, Kind::bye, 1, 0, ErrorReply{});
    EXPECT_THROW(recv_matrix(c, 1, 0, nullptr, 96), ProtocolError);  // not DATA
  }
  {
    MemoryConnection c;
    send_matrix(c, 1, 0x102, 0, m.data(), 3, 4, 3, 8);
    EXPECT_EQ(recv_matrix(c, 1, 0, nullptr, 96), 96u + kHeaderSize);  // discarding works
  }
}

// recv_matrix_pieces announces consecutive pieces covering the operand exactly once, in order, each
// only once its bytes are in, whatever the sender's framing (frames shorter, longer or equal to a
// piece, ending inside one).
TEST(Wire, PiecedReceiveCoversTheOperandOnceInOrder) {
  std::mt19937_64 rng(11);
  for (std::uint64_t bytes : {1ull, 7ull, 64ull, 1000ull, 4096ull, 10007ull}) {
    for (std::uint64_t max_frame : {1ull, 13ull, 64ull, 1000ull, 1ull << 20}) {
      for (std::uint64_t piece : {1ull, 5ull, 64ull, 999ull, 1ull << 20}) {
        std::vector<std::uint8_t> src(bytes);
        for (auto& b : src) b = std::uint8_t(rng());
        MemoryConnection c;
        const std::uint64_t sent = send_matrix(c, 5, 0x1001, 0, src.data(), bytes, 1, bytes, 1, max_frame);
        std::vector<std::uint8_t> dst(bytes, 0);
        std::uint64_t next = 0;
        auto arrived = [&](std::uint64_t offset, std::uint64_t n) {
          ASSERT_EQ(offset, next);
          ASSERT_GT(n, 0u);
          ASSERT_LE(n, piece);
          if (offset + n < bytes) {
            ASSERT_EQ(n, piece);  // only the last piece is short
          }
          ASSERT_EQ(0, std::memcmp(dst.data() + offset, src.data() + offset, n));  // already in memory
          next = offset + n;
        };
        EXPECT_EQ(recv_matrix_pieces(c, 5, 0, dst.data(), bytes, piece, arrived), sent);
        EXPECT_EQ(next, bytes);
        EXPECT_EQ(dst, src);
      }
    }
  }
  MemoryConnection c;
  std::vector<std::uint8_t> src(100, 1), dst(100);
  send_matrix(c, 5, 0x1001, 0, src.data(), 100, 1, 100, 1);
  EXPECT_THROW(recv_matrix_pieces(c, 5, 0, dst.data(), 99, 10, [](std::uint64_t, std::uint64_t) {}), ProtocolError);
}

// ---- tiled requests ----

Level3Args gemm_args(std::int64_t m, std::int64_t n, std::int64_t k, char ta, char tb, double beta) {
  Level3Args x;
  x.m = m, x.n = n, x.k = k, x.transa = ta, x.transb = tb, x.alpha = 1, x.beta = beta;
  x.lda = ta == 'N' ? m : k;
  x.ldb = tb == 'N' ? k : n;
  x.ldc = m;
  return x;
}

// Every element of every read operand is covered by exactly one input tile, every output element
// by one output tile, every tile lies inside its operand and fits the tile size, and each panel
// is announced ready only after the tiles of its columns.
TEST(Tiling, PlansCoverEveryOperandExactlyOnce) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    Level3Args x = gemm_args(1 + rng() % 40, 1 + rng() % 40, 1 + rng() % 40, "NTC"[rng() % 3], "NTC"[rng() % 3],
                             rng() % 2 ? 0.0 : 0.5);
    if (iter % 3 == 1) x.family = L3Family::symm, x.k = x.m, x.side = 'L', x.transa = x.transb = 'N';
    if (iter % 3 == 2) x.family = rng() % 2 ? L3Family::trmm : L3Family::trsm, x.side = 'L', x.transb = 'N';
    x.lda = x.ldb = x.ldc = 64;
    x.dtype = Dtype(rng() % 4);
    if (x.dtype == Dtype::s || x.dtype == Dtype::d) {
      if (x.transa == 'C') x.transa = 'T';
    }
    ASSERT_FALSE(level3_validate(x).has_value()) << *level3_validate(x);
    const Level3Shapes s = level3_shapes(x);
    const std::uint64_t nb = 1 + rng() % std::uint64_t(s.c.cols);
    const std::uint64_t tile = kMinTileBytes * (1 + rng() % 2);
    TilePlan plan;
    ASSERT_FALSE(make_tile_plan(x, nb, tile, plan).has_value());
    const std::size_t elem = element_size(x.dtype);
    const OperandShape* ops[3] = {&s.a, &s.b, &s.c};
    std::vector<std::vector<int>> seen(3);
    for (int i = 0; i < 3; ++i) seen[i].assign(std::size_t(ops[i]->rows * ops[i]->cols), 0);
    auto cover = [&](const TileDesc& t) {
      const OperandShape& o = *ops[t.operand];
      ASSERT_LE(t.row0 + t.rows, std::uint64_t(o.rows));
      ASSERT_LE(t.col0 + t.cols, std::uint64_t(o.cols));
      ASSERT_LE(t.rows * t.cols * elem, tile);
      for (std::uint64_t j = 0; j < t.cols; ++j)
        for (std::uint64_t i = 0; i < t.rows; ++i) ++seen[t.operand][(t.col0 + j) * o.rows + t.row0 + i];
    };
    for (const TileDesc& t : plan.inputs) cover(t);
    for (int i = 0; i < 3; ++i)
      for (int v : seen[i]) ASSERT_EQ(v, ops[i]->reads() ? 1 : 0) << "operand " << i;
    seen[2].assign(seen[2].size(), 0);
    for (const TileDesc& t : plan.outputs) cover(t);
    for (int v : seen[2]) ASSERT_EQ(v, 1);
    ASSERT_EQ(plan.ready_after.size(), std::size_t(plan.panels));
    for (std::int64_t j = 0; j < plan.panels; ++j) {
      // Everything panel j reads has arrived by ready_after[j].
      const std::uint64_t c0 = std::uint64_t(j) * nb, c1 = std::min<std::uint64_t>(c0 + nb, s.c.cols);
      for (std::size_t t = plan.ready_after[std::size_t(j)]; t < plan.inputs.size(); ++t) {
        const TileDesc& d = plan.inputs[t];
        ASSERT_NE(d.operand, 0) << "A must come first";
        if (d.operand == 2 || (d.operand == 1 && x.transb == 'N' && x.family != L3Family::trmm)) {
          ASSERT_TRUE(d.col0 >= c1 || d.col0 + d.cols <= c0) << "a later tile holds columns of panel " << j;
        }
      }
    }
  }
}

TEST(Tiling, RejectsBadPlans) {
  TilePlan plan;
  const Level3Args x = gemm_args(10, 20, 5, 'N', 'N', 1);
  EXPECT_TRUE(make_tile_plan(x, 0, 4096, plan).has_value());
  EXPECT_TRUE(make_tile_plan(x, 21, 4096, plan).has_value());
  EXPECT_TRUE(make_tile_plan(x, 4, 100, plan).has_value());
  EXPECT_TRUE(make_tile_plan(x, 4, kMaxDataFrame + 1, plan).has_value());
  Level3Args r = x;
  r.family = L3Family::syrk;
  EXPECT_TRUE(make_tile_plan(r, 4, 4096, plan).has_value());
  Level3Args big = gemm_args(1, std::int64_t(kMaxPanels) + 1, 1, 'N', 'N', 0);
  EXPECT_TRUE(make_tile_plan(big, 1, 4096, plan).has_value());  // too many panels
  EXPECT_FALSE(make_tile_plan(big, 2, 4096, plan).has_value());
}

TEST(Tiling, TileFramesAreCheckedAgainstThePlan) {
  // A 5 x 7 operand with ld 9, tile = rows 1..3 of columns 2..5.
  std::vector<double> src(9 * 7), dst(9 * 7, -1.0);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = double(i);
  const TileDesc t{1, 1, 3, 2, 4};
  std::vector<std::uint8_t> scratch;
  {
    MemoryConnection c;
    EXPECT_EQ(send_tile(c, 9, 0x102, t, src.data(), 9, 8, scratch), kHeaderSize + kTileHeaderSize + 96);
    const FrameHeader h = recv_header(c);
    expect_tile(c, h, 9, t, 8);
    recv_tile_data(c, t, dst.data(), 9, 8, scratch);
    for (std::size_t j = 0; j < 7; ++j)
      for (std::size_t i = 0; i < 9; ++i) {
        const bool inside = j >= 2 && j < 6 && i >= 1 && i < 4;
        EXPECT_EQ(dst[j * 9 + i], inside ? src[j * 9 + i] : -1.0) << i << "," << j;
      }
  }
  for (int bad = 0; bad < 4; ++bad) {
    MemoryConnection c;
    send_tile(c, 9, 0x102, t, src.data(), 9, 8, scratch);
    const FrameHeader h = recv_header(c);
    TileDesc want = t;
    std::uint64_t id = 9;
    if (bad == 0) want.row0 = 0;     // another place
    if (bad == 1) want.operand = 2;  // another operand
    if (bad == 2) id = 10;           // another request
    if (bad == 3) want.cols = 3;     // another length
    EXPECT_THROW(expect_tile(c, h, id, want, 8), ProtocolError) << bad;
  }
  FrameHeader h;
  h.kind = Kind::tile;
  h.payload_length = kMaxDataFrame + kTileHeaderSize + 1;
  EXPECT_THROW(decode_header(encode_header(h).data()), ProtocolError);
  h.payload_length = kMaxDataFrame + kTileHeaderSize;
  EXPECT_NO_THROW(decode_header(encode_header(h).data()));
}

TEST(Codec, TiledRequestRoundTrip) {
  TiledRequest t;
  t.request.args = gemm_args(3, 4, 5, 'N', 'T', 1);
  t.request.operands = level3_operands(t.request.args);
  t.panel_cols = 2;
  t.tile_bytes = 4096;
  const TiledRequest u = decode<TiledRequest>(encode(t));
  EXPECT_EQ(u.panel_cols, 2u);
  EXPECT_EQ(u.tile_bytes, 4096u);
  EXPECT_EQ(u.request.operands, t.request.operands);
  auto bytes = encode(t);
  bytes.pop_back();
  EXPECT_THROW(decode<TiledRequest>(bytes), DecodeError);
}

TEST(Protocol, OpcodeHashIsFnv1a) {
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(opcode_table_hash(), fnv1a64(kOpcodeTable, std::strlen(kOpcodeTable)));
  EXPECT_STREQ(error_code_name(ErrorCode::over_limit), "over_limit");
  EXPECT_STREQ(error_code_name(ErrorCode(999)), "unknown");
}

}  // namespace
}  // namespace rcpu::protocol
