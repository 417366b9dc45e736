// The placement's FFTs (placement.h): a large batch is cut by transforms over the devices, each
// running its own plan on its contiguous range at the same time (in the packed layout transform t
// of a batch is one contiguous slice of the input and one of the output, so the ranges never
// touch); every other transform runs whole on the least busy device. The choice is made in
// prepare_fft, before the input arrives, and kept per descriptor in the session's cache, so the
// plans fft() runs are exactly the ones prepared.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "server/placement/jobs.h"
#include "server/placement/split.h"

namespace rcpu::server::placement {

using backend::BackendError;
using backend::FftPlanCache;
using backend::StreamedFft;

namespace {

// Transforms [0, count) of a packed batch: the same loop, shorter (the caller offsets the arrays).
FftDescriptor first_transforms(const FftDescriptor& d, std::int64_t count) {
  FftDescriptor s = d;
  s.howmany[0].n = count;
  return s;
}

// A transform run whole on one device, counted as that device's work until the server is done with
// it (the destructor: the device no longer touches the buffers).
class CountedFft final : public StreamedFft {
 public:
  CountedFft(std::unique_ptr<StreamedFft> inner, std::function<void()> done)
      : inner_(std::move(inner)), done_(std::move(done)) {}
  ~CountedFft() override {
    inner_.reset();
    done_();
  }
  void input_arrived(std::uint64_t offset, std::uint64_t bytes) noexcept override {
    inner_->input_arrived(offset, bytes);
  }
  void execute(const std::vector<backend::FftRange>& readers) override { inner_->execute(readers); }
  void wait_output(std::uint64_t offset, std::uint64_t bytes) override { inner_->wait_output(offset, bytes); }

 private:
  std::unique_ptr<StreamedFft> inner_;
  std::function<void()> done_;
};

}  // namespace

// One session's FFT state over several devices: each device's own plan cache (made when first
// needed) and the parts chosen for each descriptor prepared.
class Placement::FftCache final : public FftPlanCache {
 public:
  explicit FftCache(std::size_t devices) : per_device_(devices) {}

  FftPlanCache& device(Placement& pl, int d) {
    std::unique_ptr<FftPlanCache>& c = per_device_[std::size_t(d)];
    if (!c) c = pl.devices_[std::size_t(d)]->be->new_fft_cache();
    return *c;
  }
  void remember(const FftDescriptor& d, std::vector<FftPart> parts) {
    for (auto& [desc, p] : choices_)
      if (desc == d) {
        p = std::move(parts);
        return;
      }
    choices_.emplace_back(d, std::move(parts));
  }
  const std::vector<FftPart>* find(const FftDescriptor& d) const {
    for (const auto& [desc, p] : choices_)
      if (desc == d) return &p;
    return nullptr;
  }

 private:
  std::vector<std::unique_ptr<FftPlanCache>> per_device_;
  std::vector<std::pair<FftDescriptor, std::vector<FftPart>>> choices_;
};

bool Placement::supports_fft(const FftDescriptor& d) const {
  for (const auto& dev : devices_)
    if (dev->be->supports_fft(d)) return true;
  return false;
}

std::vector<Placement::FftPart> Placement::plan_fft(const FftDescriptor& d) const {
  const std::int64_t batch = std::int64_t(fft_batch(d));
  if (devices_.size() == 1) return {FftPart{0, 0, batch}};
  std::vector<int> able;
  for (std::size_t i = 0; i < devices_.size(); ++i)
    if (devices_[i]->be->supports_fft(d)) able.push_back(int(i));
  if (able.empty()) return {FftPart{0, 0, batch}};  // the caller's supports_fft said no: device 0 reports it
  const std::vector<double> r = rates();
  if (able.size() > 1 && d.howmany.size() == 1 && batch >= 2 &&
      fft_in_bytes(d) + fft_out_bytes(d) >= options_.split_min_fft_bytes) {
    std::vector<double> w;
    for (int i : able) w.push_back(r[std::size_t(i)]);
    std::vector<FftPart> parts;
    const std::vector<Range> ranges = proportional_ranges(batch, w, 1);
    for (std::size_t i = 0; i < ranges.size(); ++i)
      if (ranges[i].size() > 0) parts.push_back(FftPart{able[i], ranges[i].begin, ranges[i].size()});
    if (parts.size() > 1) return parts;
  }
  // Whole: on the device whose queued work would finish first.
  const double flops = fft_flops(d);
  int best = able[0];
  double best_finish = 0;
  for (int i : able) {
    std::lock_guard lock(mu_);
    const double finish = (devices_[std::size_t(i)]->in_flight + flops) / devices_[std::size_t(i)]->stats.rate;
    if (i == able[0] || finish < best_finish) best = i, best_finish = finish;
  }
  return {FftPart{best, 0, batch}};
}

std::unique_ptr<FftPlanCache> Placement::new_fft_cache() {
  if (devices_.size() == 1) return devices_[0]->be->new_fft_cache();
  return std::make_unique<FftCache>(devices_.size());
}

void Placement::prepare_fft(FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) {
  if (devices_.size() == 1) return devices_[0]->be->prepare_fft(c, d, flags, in, out);
  auto& cache = dynamic_cast<FftCache&>(c);
  std::vector<FftPart> parts = plan_fft(d);
  const std::uint64_t batch = std::max<std::uint64_t>(1, fft_batch(d));
  const std::uint64_t in_each = fft_in_bytes(d) / batch, out_each = fft_out_bytes(d) / batch;
  // In place with different input and output slices (a packed r2c or c2r): transform t's output
  // would overlap transform t+1's input, which another device may still be reading.
  if (parts.size() > 1 && in == out && in_each != out_each) parts = {FftPart{parts[0].device, 0, std::int64_t(batch)}};
  for (const FftPart& p : parts) {
    auto* i = static_cast<std::uint8_t*>(in);
    auto* o = static_cast<std::uint8_t*>(out);
    devices_[std::size_t(p.device)]->be->prepare_fft(
        cache.device(*this, p.device), parts.size() == 1 ? d : first_transforms(d, p.count), flags,
        i ? i + std::uint64_t(p.first) * in_each : nullptr, o ? o + std::uint64_t(p.first) * out_each : nullptr);
  }
  cache.remember(d, std::move(parts));
}

void Placement::fft(FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) {
  if (devices_.size() == 1) return devices_[0]->be->fft(c, d, flags, in, out);
  auto& cache = dynamic_cast<FftCache&>(c);
  if (!cache.find(d)) prepare_fft(c, d, flags, in, out);  // the server always prepares first
  const std::vector<FftPart> parts = *cache.find(d);
  const std::uint64_t batch = std::max<std::uint64_t>(1, fft_batch(d));
  const std::uint64_t in_each = fft_in_bytes(d) / batch, out_each = fft_out_bytes(d) / batch;
  const double flops_each = fft_flops(d) / double(batch);
  if (parts.size() == 1) {
    const FftPart& p = parts[0];
    const double flops = fft_flops(d);
    begin_work(p.device, flops);
    const auto t0 = Clock::now();
    try {
      devices_[std::size_t(p.device)]->be->fft(cache.device(*this, p.device), d, flags, in, out);
    } catch (...) {
      end_work(p.device, flops, ns_since(t0), 0);
      throw;
    }
    end_work(p.device, flops, ns_since(t0), 0);
    return;
  }
  Batch jobs(int(parts.size()));
  for (const FftPart& p : parts) {
    const double flops = flops_each * double(p.count);
    begin_work(p.device, flops);
    FftPlanCache& dc = cache.device(*this, p.device);
    devices_[std::size_t(p.device)]->worker.post([&, p, flops] {
      const auto t0 = Clock::now();
      jobs.run(
          [&] {
            devices_[std::size_t(p.device)]->be->fft(
                dc, first_transforms(d, p.count), flags,
                static_cast<std::uint8_t*>(in) + std::uint64_t(p.first) * in_each,
                static_cast<std::uint8_t*>(out) + std::uint64_t(p.first) * out_each);
          },
          [&, t0] { end_work(p.device, flops, ns_since(t0), 1); });
    });
  }
  jobs.wait();  // every part has finished writing its slice before this returns or throws
}

std::unique_ptr<StreamedFft> Placement::begin_fft(FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in,
                                                  void* out) {
  if (devices_.size() == 1) return devices_[0]->be->begin_fft(c, d, flags, in, out);
  auto& cache = dynamic_cast<FftCache&>(c);
  if (!cache.find(d)) prepare_fft(c, d, flags, in, out);
  const std::vector<FftPart> parts = *cache.find(d);
  if (parts.size() > 1) return Backend::begin_fft(c, d, flags, in, out);  // execute() runs fft(): split
  const int dev = parts[0].device;
  const double flops = fft_flops(d);
  begin_work(dev, flops);
  const auto t0 = Clock::now();
  try {
    return std::make_unique<CountedFft>(
        devices_[std::size_t(dev)]->be->begin_fft(cache.device(*this, dev), d, flags, in, out),
        [this, dev, flops, t0] { end_work(dev, flops, ns_since(t0), 0); });
  } catch (...) {
    end_work(dev, flops, ns_since(t0), -1);
    throw;
  }
}

}  // namespace rcpu::server::placement
