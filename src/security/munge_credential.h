// MUNGE credentials (libmunge): the authentication Slurm sites already run on every node. A
// process asks its local munged for a credential carrying a payload; a munged holding the same
// site key decodes it, learns the uid and gid of the process that made it, and refuses it a
// second time (replay) or after its time-to-live. Built when libmunge-dev is there (RCPU_WITH_MUNGE);
// without it, every call throws MungeError saying so.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rcpu::security {

struct MungeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct MungeIdentity {
  std::uint32_t uid = 0, gid = 0;
  std::string payload;
};

// Whether this build can use MUNGE.
bool munge_available();

// A credential carrying `payload`, from the munged at `socket` ("" = libmunge's default socket).
std::string munge_encode_credential(const std::string& payload, const std::string& socket);

// Decodes `credential` with the munged at `socket`. Throws MungeError with munged's reason
// (invalid, expired, replayed, a key other than this site's).
MungeIdentity munge_decode_credential(const std::string& credential, const std::string& socket);

}  // namespace rcpu::security
