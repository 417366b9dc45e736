#include "security/munge_credential.h"

#include <cstdlib>

#ifdef RCPU_WITH_MUNGE
#include <munge.h>
#endif

namespace rcpu::security {

#ifdef RCPU_WITH_MUNGE
namespace {

// One libmunge context for one call, pointed at `socket`; destroyed on every way out.
class MungeContext {
 public:
  explicit MungeContext(const std::string& socket) : ctx_(munge_ctx_create()) {
    if (!ctx_) throw MungeError("MUNGE: cannot create a context (out of memory)");
    if (!socket.empty() && munge_ctx_set(ctx_, MUNGE_OPT_SOCKET, socket.c_str()) != EMUNGE_SUCCESS)
      throw MungeError("MUNGE: cannot use socket " + socket + ": " + munge_ctx_strerror(ctx_));
  }
  ~MungeContext() { munge_ctx_destroy(ctx_); }
  MungeContext(const MungeContext&) = delete;
  MungeContext& operator=(const MungeContext&) = delete;
  munge_ctx_t get() const { return ctx_; }
  std::string error(munge_err_t e) const {
    const char* text = munge_ctx_strerror(ctx_);
    return text ? text : munge_strerror(e);
  }

 private:
  munge_ctx_t ctx_;
};

}  // namespace

bool munge_available() { return true; }

std::string munge_encode_credential(const std::string& payload, const std::string& socket) {
  MungeContext ctx(socket);
  char* cred = nullptr;
  const munge_err_t e = munge_encode(&cred, ctx.get(), payload.data(), int(payload.size()));
  if (e != EMUNGE_SUCCESS) throw MungeError("MUNGE: cannot make a credential: " + ctx.error(e));
  std::string out(cred);
  std::free(cred);
  return out;
}

MungeIdentity munge_decode_credential(const std::string& credential, const std::string& socket) {
  MungeContext ctx(socket);
  void* buf = nullptr;
  int len = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  const munge_err_t e = munge_decode(credential.c_str(), ctx.get(), &buf, &len, &uid, &gid);
  MungeIdentity id;
  if (buf) {
    id.payload.assign(static_cast<const char*>(buf), std::size_t(len > 0 ? len : 0));
    std::free(buf);
  }
  if (e != EMUNGE_SUCCESS) throw MungeError("MUNGE credential refused: " + ctx.error(e));
  id.uid = std::uint32_t(uid);
  id.gid = std::uint32_t(gid);
  return id;
}

#else

namespace {
[[noreturn]] void not_built() {
  throw MungeError("this rcpu was built without MUNGE (install libmunge-dev and rebuild)");
}
}  // namespace

bool munge_available() { return false; }
std::string munge_encode_credential(const std::string&, const std::string&) { not_built(); }
MungeIdentity munge_decode_credential(const std::string&, const std::string&) { not_built(); }

#endif

}  // namespace rcpu::security
