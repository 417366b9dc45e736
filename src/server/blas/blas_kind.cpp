#include "server/blas/blas_kind.h"

#include "protocol/frame.h"
#include "protocol/messages.h"
#include "server/blas/level3_request.h"
#include "server/blas/tiled_request.h"
#include "server/core/session.h"

namespace rcpu::server::blas {
namespace {

class BlasSession final : public KindSession {
 public:
  explicit BlasSession(Session& session) : session_(session) {}
  void serve(const protocol::FrameHeader& h) override {
    if (h.flags & protocol::kFlagTiled)
      serve_tiled_request(session_, h);
    else
      serve_level3_request(session_, h);
  }

 private:
  Session& session_;
};

}  // namespace

CallKind blas_kind() {
  CallKind k;
  k.name = kName;
  k.claims_request = [](const protocol::FrameHeader&) { return true; };
  k.open = [](Session& session) -> std::unique_ptr<KindSession> { return std::make_unique<BlasSession>(session); };
  k.claims_join = [](const protocol::FrameHeader& h) { return (h.flags & protocol::kFlagStriped) == 0; };
  k.join_name = "JOIN";
  k.capabilities = protocol::kCapLevel3 | protocol::kCapTiles;
  return k;
}

}  // namespace rcpu::server::blas
