// rcpu keygen: writes a new shared key file for rcpud and its clients (docs/security.md).
#pragma once

namespace rcpu::cli {

// argv[0] is "keygen". Returns the exit status.
int cmd_keygen(int argc, char** argv);

}  // namespace rcpu::cli
