// A backend runs typed operations on ONE device (a CPU, one GPU). It knows nothing of the network:
// the server hands it host buffers that are already complete and validated. Placement across
// several devices, if any, sits above this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fft.h"
#include "common/lapack.h"
#include "common/level3.h"

namespace rcpu::backend {

// Every failure a backend reports (device out of memory, a failing kernel, a missing device).
// The server turns it into an error reply; it never ends the server.
struct BackendError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Memory a call needs beyond its operands (LAPACK workspace: the CPU backend's LWORK queries,
// cuSOLVER's buffer sizes), which the server charges to its memory budget. The server installs a
// gate for the calling thread (WorkspaceScope) around each backend call; a backend asks
// reserve_workspace(bytes) BEFORE allocating, and holds what it got until the scope ends.
class WorkspaceGate {
 public:
  virtual ~WorkspaceGate() = default;
  // Reserves `bytes` until the gate is destroyed; false when the budget says no.
  virtual bool try_reserve(std::uint64_t bytes) = 0;
};
// What reserve_workspace throws when the gate refuses: not a BackendError, so no other backend is
// tried; the server answers over_limit and the client runs the call locally.
struct WorkspaceRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Installs `gate` for this thread's backend calls until the scope ends (nested scopes restore
// the outer one).
class WorkspaceScope {
 public:
  explicit WorkspaceScope(WorkspaceGate* gate);
  ~WorkspaceScope();
  WorkspaceScope(const WorkspaceScope&) = delete;
  WorkspaceScope& operator=(const WorkspaceScope&) = delete;

 private:
  WorkspaceGate* outer_;
};
// Asks this thread's gate for `bytes` of workspace (nothing to ask without a gate: tests, tools);
// throws WorkspaceRefused when refused. `what` names the workspace in the message.
void reserve_workspace(std::uint64_t bytes, const char* what);

// Small page-locked slots through which a streamed call's tiles travel between the network and a
// device, instead of the server's whole-operand host buffers (StreamedCall::tile_staging). Why:
// loopback copies and the GPU's DMA compete for DRAM (docs/gpu.md); a few
// slots per connection stay in the last-level cache, so a byte received from the socket is read
// by the DMA engine from the cache and never makes the round trip through DRAM (and back for the
// results). Offsets are bytes of the packed operands (operand 0 A, 1 B, 2 the output: C, or B of
// trmm/trsm), in which every tile is one contiguous range (protocol/tiling.h).
//
// Each stripe (connection) of the call has its own slots: stripe s's input is used only by the
// thread receiving stripe s, its output only by the thread sending stripe s's results.
class TileStaging {
 public:
  virtual ~TileStaging() = default;
  // The most bytes one slot holds: the server moves each tile in pieces of at most this.
  virtual std::size_t slot_bytes() const = 0;

  // A slot to receive stripe `stripe`'s next piece into (waits until the copy out of it is done).
  virtual void* input_slot(int stripe) = 0;
  // The slot input_slot returned now holds bytes [offset, offset + bytes) of packed operand
  // `operand`: queue their copy to the device. Called before the server counts the tile as
  // arrived, so every panel started afterwards sees the bytes. Never throws: a failure is kept and
  // thrown by the call's next start_panel (the server then drains the inputs and answers ERROR).
  virtual void input_filled(int stripe, int operand, std::uint64_t offset, std::uint64_t bytes) noexcept = 0;

  // Output of finished panels only. Queues the copy of bytes [offset, offset + bytes) of the packed
  // output into stripe `stripe`'s next slot. At most two pieces of a stripe are fetched and not
  // yet taken.
  virtual void fetch_output(int stripe, std::uint64_t offset, std::uint64_t bytes) = 0;
  // The stripe's oldest fetched piece, once it is in its slot; it stays valid until the stripe's
  // next fetch_output. Both throw BackendError when the device fails.
  virtual const void* take_output(int stripe) = 0;
};

// One call run panel by panel while its operands still arrive (tiled requests, protocol/tiling.h).
// The server owns the host buffers (packed operands, as for level3()); it calls compute_panel for
// output columns [col0, col0 + cols) only once every input those columns need is in the buffers,
// in increasing column order, from one thread. On return those columns of the output buffer hold
// the result. Throws BackendError; the server then abandons the call (the destructor must clean up
// whatever state the call holds on the device, and must not throw).
class StreamedCall {
 public:
  virtual ~StreamedCall() = default;
  virtual void compute_panel(std::int64_t col0, std::int64_t cols) = 0;

  // The pipelined form the server uses. start_panel may return before the panel is computed (a
  // device backend queues its copies and kernels, so panel j+1's upload overlaps panel j's compute
  // and download); finish_panel blocks until the OLDEST started, unfinished panel holds its result.
  // The server keeps at most depth() panels started and not finished, starts them in column order
  // and finishes them in that order, all from one thread. The defaults compute synchronously.
  // try_finish_panel is finish_panel without blocking: false while the oldest panel is still
  // running, so the server can start newly arrived panels meanwhile instead of draining the device.
  // The server reports the leading bytes of A (operand 0) or B (1) that have arrived before the
  // first panel is started: [0, bytes) of that operand's buffer is final. A device backend may
  // start copying them to the device (A crosses the network before any panel can start). Called
  // from the thread that starts the panels, with growing `bytes`; the default ignores it.
  virtual void inputs_arrived(int operand, std::uint64_t bytes) {
    (void)operand;
    (void)bytes;
  }
  virtual int depth() const { return 1; }
  virtual void start_panel(std::int64_t col0, std::int64_t cols) { compute_panel(col0, cols); }
  virtual void finish_panel() {}
  virtual bool try_finish_panel() {
    finish_panel();
    return true;
  }
  // Asked once, before any tile arrives, by a server whose call has `stripes` connections. A
  // non-null answer (owned by the call, valid while it lives) means every input tile goes through
  // it instead of the host buffers, and every result leaves through it once its panel is finished:
  // the host buffers are then never read or written. Null (the default, and a backend that cannot
  // get its slots): the host buffers, as above.
  virtual TileStaging* tile_staging(int stripes) {
    (void)stripes;
    return nullptr;
  }
};

// The FFT plans a backend keeps for ONE session (FFTW plans, cuFFT plans), keyed by the packed
// descriptor. The session owns it, so every plan is freed when the session ends, however it ends.
// Each backend bounds how many plans one cache keeps (least recently used out first).
class FftPlanCache {
 public:
  virtual ~FftPlanCache() = default;
  // The most time planning one transform may take, in seconds (rcpud --fft-plan-seconds): FFTW's
  // planner is process-wide, so one client's planning holds everyone else's FFTs meanwhile.
  double plan_seconds = 2.0;
};

// A byte range [begin, end) of a packed FFT operand.
struct FftRange {
  std::uint64_t begin = 0, end = 0;
};

// One FFT whose packed input arrives piece by piece and whose packed output leaves piece by piece
// (striped FFTs, docs/protocol.md): a device backend copies each input piece to the device while
// the rest is still on the wire, and each output piece back while earlier pieces are already being
// sent, so the host<->device copies hide under the network. The server owns `in` and `out`; the
// object must outlive every call on it. The defaults (Backend::begin_fft) run fft() in execute().
class StreamedFft {
 public:
  // Waits until the device no longer reads `in` or writes `out` (the server then reuses or frees
  // them, or reruns the transform on the CPU backend). Must not throw.
  virtual ~StreamedFft() = default;
  // Bytes [offset, offset + bytes) of the packed input are now in `in` and will not change.
  // Thread-safe: each stripe's receiver calls it for its own pieces. Never throws: a failure is
  // kept and reported by execute().
  virtual void input_arrived(std::uint64_t /*offset*/, std::uint64_t /*bytes*/) noexcept {}
  // Every input byte has arrived (each exactly once). Starts the transform; may return before any
  // output is in `out`. `readers` are the output ranges the server sends concurrently, each front
  // to back (they partition the output): a device backend copies pieces back round robin over
  // them so every sender can start at once. Called once, from one thread. Throws BackendError.
  virtual void execute(const std::vector<FftRange>& readers) = 0;
  // Blocks until bytes [offset, offset + bytes) of the packed output are in `out`. Only after
  // execute() returned; thread-safe. Throws BackendError when the device failed meanwhile.
  virtual void wait_output(std::uint64_t /*offset*/, std::uint64_t /*bytes*/) {}
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;         // "cpu", "cuda": its registry name (registry.h)
  virtual std::string description() const = 0;  // logged by rcpud at start (library, devices)

  // Capabilities: what the server and the placement layer ask instead of comparing names.
  // Whether it computes on host memory (no device to copy operands to): its pace is measured with
  // a small call, where a device backend needs a large one to hide the copies.
  virtual bool is_host() const { return false; }
  // Whether it runs every valid call itself (supports(), supports_lapack() and supports_fft() hold
  // for all of them): the server then needs no fallback backend beside it for what it refuses.
  virtual bool runs_every_call() const { return false; }
  // How many devices it computes on (a placement over several GPUs: their number): what the
  // server's per-client limits are sized from.
  virtual std::size_t device_count() const { return 1; }

  // Whether this backend implements the call; the server sends what it does not to the CPU backend.
  virtual bool supports(const Level3Args& args) const = 0;

  // Runs one validated Level-3 call on host buffers laid out as args says (column-major; the
  // server passes packed operands, so args.lda/ldb/ldc equal the operand row counts, at least 1).
  // `a` and `b` are null where level3_shapes() gives the operand no role. `c` is C, or B for
  // trmm/trsm; it holds the input values when its role is inout. On return `c` holds the result.
  // Throws BackendError on failure.
  virtual void level3(const Level3Args& args, const void* a, const void* b, void* c) = 0;

  // Starts a streamed call (protocol/tiling.h's tiling_supported(args) holds; buffers as for
  // level3()). The default runs level3() on each panel's sub-call (level3_panel): right for a
  // backend that computes on host memory; a device backend overrides it to keep A resident.
  virtual std::unique_ptr<StreamedCall> begin_streamed(const Level3Args& args, const void* a, const void* b, void* c);
  // Whether a streamed call of `args` will most likely offer StreamedCall::tile_staging: the server
  // then begins it with null host buffers (a device backend's calls never touch them when staged),
  // which spares it gigabytes of page-locked memory; a call that then offers no staging after all
  // is begun again with host buffers. The default: no.
  virtual bool offers_tile_staging(const Level3Args& args) const {
    (void)args;
    return false;
  }

  // LAPACK calls (spec/offload/lapack.txt). Whether this backend runs the routine for these
  // arguments; what it does not run goes to the CPU backend.
  virtual bool supports_lapack(const LapackArgs& args) const;
  // Runs one validated LAPACK call on packed host buffers: p[j] is operand j in spec order
  // (leading dimension = max(1, rows); at least one element even when empty), holding its input
  // when the routine reads it. Returns LAPACK's INFO, with exactly LAPACK's meaning (pivots
  // 1-based). Throws BackendError on failure.
  virtual std::int64_t lapack(const LapackArgs& args, void* const* p);

  // ---- FFTs (common/fft.h; descriptors are packed: fft_packed) ----
  // Whether this backend runs the transform; the server sends what it does not to the CPU backend.
  virtual bool supports_fft(const FftDescriptor& packed) const;
  // A new, empty plan cache for one session.
  virtual std::unique_ptr<FftPlanCache> new_fft_cache();
  // Called before the input arrives: finds or makes the plan (may overwrite `in` and `out`, as
  // FFTW's MEASURE planning does). `planner_flags` are the application's FFTW flags.
  virtual void prepare_fft(FftPlanCache& cache, const FftDescriptor& packed, unsigned planner_flags, void* in,
                           void* out);
  // Runs it: `in` holds the packed input (may be destroyed), `out` receives the packed output.
  virtual void fft(FftPlanCache& cache, const FftDescriptor& packed, unsigned planner_flags, void* in, void* out);
  // The streamed form (StreamedFft) of fft(), after prepare_fft(), before any input arrives: a
  // device backend allocates its device buffers here. The default runs fft() in execute(): right
  // for a backend that computes on host memory.
  virtual std::unique_ptr<StreamedFft> begin_fft(FftPlanCache& cache, const FftDescriptor& packed,
                                                 unsigned planner_flags, void* in, void* out);

  // Host memory for the server's receive buffers (reused across calls): a device backend returns
  // page-locked memory its DMA engines read directly. Returns null when it cannot allocate.
  virtual void* alloc_host(std::size_t bytes);
  virtual void free_host(void* p, std::size_t bytes);

  // What the backend did, for rcpud's log at shutdown (several devices: each device's share of the
  // work); empty when it has nothing to add to the server's own counters.
  virtual std::string usage_report() const { return {}; }
};

// What rcpud's command line asks of a backend's devices (registry.h: each backend's factory).
struct BackendOptions {
  std::vector<int> devices;  // --devices: device ordinals (GPUs) to use; empty = all
  int virtual_devices = 1;   // --virtual-devices: a host backend serves the machine as this many devices
                             // (the CPU backend gives each 1/N of OpenBLAS's threads: its count is
                             // process-wide)
  bool automatic = false;    // chosen by --backend auto: an option that does not apply to this
                             // backend is ignored (with a note) instead of refused
};

}  // namespace rcpu::backend
