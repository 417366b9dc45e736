#include "server/lapack/lapack_kind.h"

#include "common/lapack.h"
#include "protocol/messages.h"
#include "server/core/session.h"
#include "server/lapack/lapack_request.h"

namespace rcpu::server::lapack {
namespace {

class LapackSession final : public KindSession {
 public:
  explicit LapackSession(Session& session) : session_(session) {}
  void serve(const protocol::FrameHeader& h) override { serve_lapack_request(session_, h); }

 private:
  Session& session_;
};

}  // namespace

CallKind lapack_kind() {
  CallKind k;
  k.name = kName;
  k.claims_request = [](const protocol::FrameHeader& h) { return lapack_routine(h.opcode) != nullptr; };
  k.open = [](Session& session) -> std::unique_ptr<KindSession> { return std::make_unique<LapackSession>(session); };
  k.capabilities = protocol::kCapLapack;
  return k;
}

}  // namespace rcpu::server::lapack
