#include "server/fft_call.h"

#include <fftw3.h>  // the planner flags travel as FFTW spells them

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/log.h"
#include "protocol/fft_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"

namespace rcpu::server {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;
std::uint64_t ns_since(Clock::time_point t0) {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

}  // namespace

void FftHostBuffer::release() {
  if (raw_) be_->free_host(raw_, std::size_t(cap_ + 64));
  if (cap_) budget_->release(cap_);
  raw_ = nullptr;
  cap_ = 0;
}

std::uint8_t* FftHostBuffer::get(backend::Backend& be, MemoryBudget& budget, std::uint64_t bytes) {
  bytes = std::max<std::uint64_t>(bytes, 64);
  if (raw_ && cap_ >= bytes) {
    const auto p = reinterpret_cast<std::uintptr_t>(raw_);
    return reinterpret_cast<std::uint8_t*>((p + 63) & ~std::uintptr_t(63));
  }
  release();
  if (!budget.try_reserve(bytes)) return nullptr;
  be_ = &be;
  budget_ = &budget;
  cap_ = bytes;
  raw_ = be.alloc_host(std::size_t(bytes + 64));
  if (!raw_) {
    release();
    return nullptr;
  }
  const auto p = reinterpret_cast<std::uintptr_t>(raw_);
  return reinterpret_cast<std::uint8_t*>((p + 63) & ~std::uintptr_t(63));
}

namespace {

// Testing only (tests/fftw, fault mode): RCPUD_TEST_FAIL_FFT_STRIPES=1 makes every striped FFT die
// once the primary's own input range is in, while the other stripes may still be sending: every
// connection of the call is shut down without a reply, as if the server had crashed mid-stripe.
bool injected_stripe_failure() {
  static const bool on = [] {
    const char* env = std::getenv("RCPUD_TEST_FAIL_FFT_STRIPES");
    return env && *env == '1';
  }();
  return on;
}

}  // namespace

std::optional<FftFatal> serve_fft(transport::Connection& conn, SessionContext& ctx, FftSessionState& state,
                                  const FrameHeader& h) {
  const bool striped = (h.flags & kFlagStriped) != 0;
  StripedFftRequest sreq;
  try {
    if (striped)
      sreq = recv_body<StripedFftRequest>(conn, h);
    else
      sreq.fft = recv_body<FftRequest>(conn, h);
  } catch (const DecodeError& e) {
    return FftFatal{ErrorCode::bad_request, std::string("bad FFT REQUEST: ") + e.what()};
  }
  if (striped && (sreq.stripes < 2 || sreq.stripes > kMaxStripes))
    return FftFatal{ErrorCode::bad_request, "striped FFT: stripe count " + std::to_string(sreq.stripes) +
                                                " out of range 2.." + std::to_string(kMaxStripes)};
  const FftRequest& req = sreq.fft;

  // A striped call runs through the backend's StreamedFft (input announced piece by piece as it
  // lands, output sent piece by piece as it comes back). Declared before `retire` so it outlives
  // every joined stripe, which uses it until `retire` has waited for them all.
  std::unique_ptr<backend::StreamedFft> streamed;

  // A striped call is registered before anything else can fail, and retired on every way out, so
  // a JOIN never waits for a call that will not come. This thread returns only once every joined
  // stripe is over: they read and write this session's buffers.
  std::shared_ptr<FftStripedCall> call;
  if (striped) {
    call = std::make_shared<FftStripedCall>();
    call->stripes = int(sreq.stripes);
    call->conns.assign(sreq.stripes, nullptr);
    call->attached.assign(sreq.stripes, false);
    call->conns[0] = &conn;
    call->attached[0] = true;
    if (!ctx.fft_calls.add(sreq.token, call))
      return FftFatal{ErrorCode::bad_request, "striped FFT: call token already in use"};
  }
  struct Retire {
    FftCallRegistry& registry;
    FftStripedCall* call;
    transport::Connection& primary;
    std::uint64_t token;
    bool ok = false;
    ~Retire() {
      if (!call) return;
      registry.retire(token);
      std::unique_lock lock(call->mu);
      if (!ok) call->fail_all(&primary);
      call->cv.wait(lock, [&] { return call->finished == call->joined(); });
    }
  } retire{ctx.fft_calls, call.get(), conn, sreq.token};

  if (auto err = check_fft_request(h.opcode, req, ctx.options.max_request_bytes)) {
    ctx.counters.add_error(h.opcode);
    return FftFatal{ErrorCode::bad_request, std::string(opcode_name(h.opcode)) + " rejected: " + *err};
  }
  const FftDescriptor& d = req.desc;
  const OperandDesc in_op = fft_input_operand(d), out_op = fft_output_operand(d);
  const std::uint64_t k = striped ? sreq.stripes : 1;
  std::uint64_t wire_in = kHeaderSize + h.payload_length;

  // A call that cannot run: one connection drains the input and stays usable; a striped call is
  // failed as a whole (its other connections would need draining too), and the client discards
  // every connection of it.
  auto refuse = [&](ErrorCode code, const std::string& message) -> std::optional<FftFatal> {
    ctx.counters.add_error(h.opcode);
    log::info(std::string("FFT ") + opcode_name(h.opcode) + " refused: " + message);
    if (striped) return FftFatal{code, message};
    recv_matrix(conn, h.request_id, in_op.index, nullptr, in_op.bytes());  // drain: within the limit
    send_error(conn, h.request_id, h.opcode, code, message, false);
    return std::nullopt;
  };
  std::uint8_t* in = state.in.get(ctx.primary, ctx.memory, in_op.bytes());
  std::uint8_t* out = in ? state.out.get(ctx.primary, ctx.memory, out_op.bytes()) : nullptr;
  if (!in || !out)
    return refuse(ErrorCode::out_of_memory,
                  "server memory budget exhausted (" + std::to_string(ctx.memory.limit()) + " bytes)");

  // The primary backend if it describes the transform, else (or when it fails) the CPU backend:
  // a failure of the GPU path must not cost the client a round trip and a local rerun.
  const bool has_fallback = &ctx.cpu != &ctx.primary;
  bool primary = ctx.primary.supports_fft(d);
  auto backend_of = [&](bool p) -> backend::Backend& { return p ? ctx.primary : ctx.cpu; };
  auto cache_of = [&](bool p) -> std::unique_ptr<backend::FftPlanCache>& { return p ? state.primary : state.cpu; };
  auto prepare = [&](bool p, unsigned flags) {
    auto& cache = cache_of(p);
    if (!cache) cache = backend_of(p).new_fft_cache();
    backend_of(p).prepare_fft(*cache, d, flags, in, out);
    // Before the input too: a device backend allocates its buffers here, for input_arrived.
    if (striped) streamed = backend_of(p).begin_fft(*cache, d, flags, in, out);
  };
  std::uint64_t compute_ns = 0;
  try {
    try {
      prepare(primary, req.planner_flags);  // before the input: MEASURE planning may overwrite the buffers
    } catch (const backend::BackendError& e) {
      if (!primary || !has_fallback) throw;
      log::info(std::string("FFT ") + opcode_name(h.opcode) + ": " + ctx.primary.name() + " cannot plan it (" +
                e.what() + "); the CPU backend runs it");
      primary = false;
      prepare(primary, req.planner_flags);
    }
  } catch (const backend::BackendError& e) {
    return refuse(ErrorCode::backend_failed, backend_of(primary).name() + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return refuse(ErrorCode::out_of_memory, backend_of(primary).name() + ": out of memory");
  }
  if (!striped) {
    wire_in += recv_matrix(conn, h.request_id, in_op.index, in, in_op.bytes());
  } else {
    {
      std::lock_guard lock(call->mu);
      call->request_id = h.request_id;
      call->opcode = h.opcode;
      call->in = in;
      call->out = out;
      call->in_bytes = in_op.bytes();
      call->out_bytes = out_op.bytes();
      call->fft = streamed.get();
      call->started = true;
      call->cv.notify_all();
    }
    const auto [first, end] = fft_stripe_range(in_op.bytes(), 0, k);
    try {
      wire_in += recv_fft_input(conn, *call, *streamed, first, end);
    } catch (...) {
      std::lock_guard lock(call->mu);
      call->fail_all(&conn);
      throw;
    }
    std::unique_lock lock(call->mu);
    if (injected_stripe_failure()) {
      call->fail_all();  // this connection too: no reply at all
      return FftFatal{ErrorCode::internal, "injected failure (RCPUD_TEST_FAIL_FFT_STRIPES)"};
    }
    // Every stripe attaches and delivers within the I/O time-out, or the call fails (which wakes
    // the joined stripes' threads); so does a server that is stopping.
    const auto deadline =
        Clock::now() + std::chrono::milliseconds(ctx.options.io_timeout_ms > 0 ? ctx.options.io_timeout_ms : 600000);
    while (call->received < int(k) - 1 && !call->abort) {
      if (Clock::now() >= deadline || ctx.stopping.load()) break;
      call->cv.wait_for(lock, std::chrono::milliseconds(200));
    }
    if (call->received < int(k) - 1) {
      call->fail_all(&conn);
      ctx.counters.add_error(h.opcode);
      return FftFatal{ErrorCode::bad_request, "striped FFT: a stripe failed or never delivered its input"};
    }
    wire_in += call->wire_in;
  }
  // Runs the transform. A striped one returns once the primary's first output piece is back: the
  // transform is over by then (the device copies back in order), so a device failure still gets
  // the CPU backend or an ERROR reply rather than a dropped call; later pieces come back while
  // the stripes send the earlier ones.
  std::vector<backend::FftRange> readers;
  for (std::uint64_t s = 0; striped && s < k; ++s) {
    const auto [a, b] = fft_stripe_range(out_op.bytes(), s, k);
    readers.push_back({a, b});
  }
  auto transform = [&](bool p, unsigned flags) {
    if (!striped) return backend_of(p).fft(*cache_of(p), d, flags, in, out);
    streamed->execute(readers);
    streamed->wait_output(0, std::min(out_op.bytes(), kFftPiece));
  };
  const auto t_inputs = Clock::now();
  try {
    const auto t0 = Clock::now();
    try {
      transform(primary, req.planner_flags);
    } catch (const backend::BackendError& e) {
      if (!primary || !has_fallback) throw;
      // The device only read the host input: the CPU backend runs it from the same buffers, with
      // an FFTW_ESTIMATE plan (which never touches them).
      log::info(std::string("FFT ") + opcode_name(h.opcode) + ": " + ctx.primary.name() + " failed (" + e.what() +
                "); the CPU backend runs it");
      streamed.reset();  // waits until the device lets go of the buffers
      primary = false;
      prepare(primary, FFTW_ESTIMATE);
      transform(primary, FFTW_ESTIMATE);
    }
    compute_ns = ns_since(t0);
  } catch (const backend::BackendError& e) {
    ctx.counters.add_error(h.opcode);
    const std::string message = backend_of(primary).name() + ": " + e.what();
    if (striped) return FftFatal{ErrorCode::backend_failed, message};
    send_error(conn, h.request_id, h.opcode, ErrorCode::backend_failed, message, false);
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    ctx.counters.add_error(h.opcode);
    const std::string message = backend_of(primary).name() + ": out of memory";
    if (striped) return FftFatal{ErrorCode::out_of_memory, message};
    send_error(conn, h.request_id, h.opcode, ErrorCode::out_of_memory, message, false);
    return std::nullopt;
  }
  backend::Backend& be = backend_of(primary);
  Response resp;
  resp.compute_ns = compute_ns;
  resp.output = out_op;
  resp.server_ns = ns_since(t_inputs);
  resp.backend = be.name();
  ctx.counters.add_call(h.opcode, wire_in, 0, compute_ns);
  if (striped) {
    std::lock_guard lock(call->mu);
    call->fft = streamed.get();  // the CPU backend's after a fallback
    call->computed = true;       // the joined stripes send their ranges of the output
    call->cv.notify_all();
  }
  std::uint64_t wire_out = send_message(conn, Kind::response, h.request_id, h.opcode, resp);
  if (!striped) {
    wire_out +=
        send_matrix(conn, h.request_id, h.opcode, out_op.index, out, out_op.rows, 1, out_op.rows, out_op.elem_size);
  } else {
    const auto [first, end] = fft_stripe_range(out_op.bytes(), 0, k);
    try {
      wire_out += send_fft_output(conn, *call, *streamed, first, end);
    } catch (const backend::BackendError& e) {
      // The RESPONSE is out, so no ERROR can follow it: every connection of the call goes down
      // and the client reruns the transform locally, as if the server had crashed.
      std::lock_guard lock(call->mu);
      call->fail_all();
      ctx.counters.add_error(h.opcode);
      return FftFatal{ErrorCode::backend_failed, be.name() + ": " + e.what()};
    }
    retire.ok = true;
    std::unique_lock lock(call->mu);
    call->cv.wait(lock, [&] { return call->finished == call->joined(); });
    wire_out += call->wire_out;
  }
  ctx.counters.add_bytes_out(h.opcode, wire_out);
  return std::nullopt;
}

}  // namespace rcpu::server
