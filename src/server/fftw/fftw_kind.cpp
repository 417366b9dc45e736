#include "server/fftw/fftw_kind.h"

#include <optional>
#include <string>

#include "protocol/fft_request.h"
#include "protocol/frame.h"
#include "protocol/wire.h"
#include "server/core/session.h"
#include "server/fftw/fft_call.h"
#include "server/fftw/fft_request.h"
#include "server/fftw/fft_stripes.h"

namespace rcpu::server::fftw {
namespace {

using namespace rcpu::protocol;

class FftwSession final : public KindSession {
 public:
  explicit FftwSession(Session& session) : session_(session) {}

  void serve(const FrameHeader& h) override {
    if (auto fatal = serve_fft(h)) session_.fail_and_close(h, fatal->code, fatal->message);
  }

 private:
  // One connection's transform, or (kFlagStriped) one striped over several, whose other
  // connections JOIN it. Returns why the connection must be closed (a body that does not decode;
  // a request that fails its checks; any failure of a striped call). Other failures of a
  // one-connection call get an ERROR reply and the session goes on.
  std::optional<FftFatal> serve_fft(const FrameHeader& h) {
    const bool striped = (h.flags & kFlagStriped) != 0;
    StripedFftRequest sreq;
    try {
      if (striped)
        sreq = recv_body<StripedFftRequest>(session_.conn(), h);
      else
        sreq.fft = recv_body<FftRequest>(session_.conn(), h);
    } catch (const DecodeError& e) {
      return FftFatal{ErrorCode::bad_request, std::string("bad FFT REQUEST: ") + e.what()};
    }
    if (!striped) return serve_fft_request(session_, state_, h, sreq.fft);
    if (sreq.stripes < 2 || sreq.stripes > kMaxStripes)
      return FftFatal{ErrorCode::bad_request, "striped FFT: stripe count " + std::to_string(sreq.stripes) +
                                                  " out of range 2.." + std::to_string(kMaxStripes)};
    return serve_striped_fft(session_, state_, h, sreq);
  }

  Session& session_;
  FftSessionState state_;  // FFT plans and buffers of this session (freed with it)
};

}  // namespace

CallKind fftw_kind() {
  CallKind k;
  k.name = kName;
  k.claims_request = [](const FrameHeader& h) { return is_fft_opcode(h.opcode) && !(h.flags & kFlagTiled); };
  k.open = [](Session& session) -> std::unique_ptr<KindSession> { return std::make_unique<FftwSession>(session); };
  k.claims_join = [](const FrameHeader& h) { return (h.flags & kFlagStriped) != 0; };
  k.join_name = "striped FFT JOIN";
  k.capabilities = kCapFftStripes;
  return k;
}

}  // namespace rcpu::server::fftw
