#include "backends/cuda/tile_staging.h"

#include "backends/cuda/cuda_util.h"

namespace rcpu::backend::cuda {

SlotRings::Stripe::~Stripe() {
  for (Ring* r : {&in, &out})
    for (Slot& slot : r->slots)
      if (slot.copied) {
        (void)cudaEventSynchronize(slot.copied);
        (void)cudaEventDestroy(slot.copied);
      }
  if (memory) (void)cudaFreeHost(memory);
  (void)cudaGetLastError();
}

bool SlotRings::ensure(int stripes, std::string* why) {
  while (int(stripes_.size()) < stripes) {
    auto s = std::make_unique<Stripe>();
    const std::size_t per_ring = slot_bytes_ * std::size_t(slots_);
    cudaError_t e = cudaHostAlloc(reinterpret_cast<void**>(&s->memory), 2 * per_ring, cudaHostAllocPortable);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      *why = "page-locking " + format_bytes(2 * per_ring) + ": " + cuda_error_text(e);
      return false;
    }
    std::uint8_t* p = s->memory;
    for (Ring* r : {&s->in, &s->out})
      for (int i = 0; i < slots_; ++i, p += slot_bytes_) r->slots.push_back(Slot{p, nullptr, false});
    for (Ring* r : {&s->in, &s->out})
      for (Slot& slot : r->slots) {
        e = cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming);
        if (e != cudaSuccess) {
          (void)cudaGetLastError();
          slot.copied = nullptr;
          *why = "creating events: " + cuda_error_text(e);
          return false;  // s's destructor frees what it holds
        }
      }
    stripes_.push_back(std::move(s));
  }
  for (auto& s : stripes_)
    for (Ring* r : {&s->in, &s->out}) {
      r->next = 0;
      r->fetched.clear();
    }
  return true;
}

void* DeviceTileStaging::input_slot(int stripe) {
  SlotRings::Slot& slot = rings_.stripe(stripe).in.slots[rings_.stripe(stripe).in.next];
  if (slot.queued) {
    // Its previous copy must be done before the socket overwrites it. A failure is kept for the
    // call; the slot is handed out anyway (its data will be dropped).
    const cudaError_t e = cudaEventSynchronize(slot.copied);
    if (e != cudaSuccess) fail_input("copying a piece of a tile to the GPU", e);
    slot.queued = false;
  }
  return slot.host;
}

void DeviceTileStaging::input_filled(int stripe, int operand, std::uint64_t offset, std::uint64_t bytes) noexcept {
  SlotRings::Ring& ring = rings_.stripe(stripe).in;
  SlotRings::Slot& slot = ring.slots[ring.next];
  ring.next = (ring.next + 1) % ring.slots.size();
  if (stopped_.load() || operand < 0 || operand > 2) return;
  // The current device is per host thread, and this runs on the server's receiving threads.
  cudaError_t e = cudaSetDevice(device_);
  if (e == cudaSuccess) e = cudaMemcpyAsync(dev_[operand] + offset, slot.host, bytes, cudaMemcpyHostToDevice, h2d_);
  if (e == cudaSuccess) e = cudaEventRecord(slot.copied, h2d_);
  if (e != cudaSuccess) return fail_input("queueing the copy of a tile to the GPU", e);
  slot.queued = true;
}

void DeviceTileStaging::fetch_output(int stripe, std::uint64_t offset, std::uint64_t bytes) {
  SlotRings::Ring& ring = rings_.stripe(stripe).out;
  if (ring.fetched.size() >= 2) throw BackendError("cuda: fetch_output beyond two pieces ahead (TileStaging contract)");
  const std::size_t k = ring.next;
  ring.next = (ring.next + 1) % ring.slots.size();
  SlotRings::Slot& slot = ring.slots[k];
  check_cuda(cudaSetDevice(device_), device_, "cudaSetDevice");
  check_cuda(cudaMemcpyAsync(slot.host, dev_[2] + offset, bytes, cudaMemcpyDeviceToHost, d2h_), device_,
             "cudaMemcpyAsync of a result piece from the GPU");
  check_cuda(cudaEventRecord(slot.copied, d2h_), device_, "cudaEventRecord");
  ring.fetched.push_back(k);
}

const void* DeviceTileStaging::take_output(int stripe) {
  SlotRings::Ring& ring = rings_.stripe(stripe).out;
  if (ring.fetched.empty()) throw BackendError("cuda: take_output with nothing fetched (TileStaging contract)");
  SlotRings::Slot& slot = ring.slots[ring.fetched.front()];
  ring.fetched.pop_front();
  check_cuda(cudaEventSynchronize(slot.copied), device_, "copying a result piece from the GPU");
  return slot.host;
}

std::optional<std::string> DeviceTileStaging::input_failure() {
  std::lock_guard lock(failure_mu_);
  if (failure_.empty()) return std::nullopt;
  return failure_;
}

void DeviceTileStaging::fail_input(const std::string& what, cudaError_t e) noexcept {
  (void)cudaGetLastError();
  try {
    std::lock_guard lock(failure_mu_);
    if (failure_.empty())
      failure_ = "cuda: " + what + " failed on device " + std::to_string(device_) + ": " + cuda_error_text(e);
  } catch (...) {
  }
  stopped_.store(true);
}

}  // namespace rcpu::backend::cuda
