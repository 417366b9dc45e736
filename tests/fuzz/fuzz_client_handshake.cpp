// The client's side of the handshake (client/core/remote_connection.cpp, client_handshake): input =
// the bytes a (malicious) server sends. The client holds the fixed test key (RCPU_KEY_FILE, written
// at start) and a fresh nonce, so no input can prove the key: whatever the server says,
// client_handshake must refuse with ProtocolError or TransportError, never accept, crash or hang.
#include <unistd.h>

#include "client/core/credentials.h"
#include "client/core/remote_connection.h"
#include "fuzz_common.h"
#include "protocol/status.h"

using namespace rcpu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char path[] = "/tmp/rcpu-fuzz-key-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) std::abort();
  const std::string line = security::key_file_line(fuzz::test_key());
  if (::write(fd, line.data(), line.size()) != ssize_t(line.size())) std::abort();
  ::close(fd);
  ::setenv("RCPU_KEY_FILE", path, 1);
  ::unsetenv("RCPU_AUTH");
  const client::ClientCredentials& c = client::client_credentials();  // read once, then the file can go
  ::unlink(path);
  if (!c.key || !c.error.empty()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::InputConnection conn(data, size);
  try {
    client::client_handshake(conn, "fuzz", protocol::kCapLevel3 | protocol::kCapTiles | protocol::kCapLapack);
  } catch (const protocol::ProtocolError&) {
    return 0;
  } catch (const transport::TransportError&) {
    return 0;
  }
  RCPU_FUZZ_CHECK(!"client_handshake accepted a server that did not prove the key");
  return 0;
}
