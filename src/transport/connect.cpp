#include "transport/connect.h"

#include <cstdlib>

#include "transport/emulated_link.h"
#include "transport/registry.h"

namespace rcpu::transport {

std::unique_ptr<Connection> connect(const Address& where, int timeout_ms) {
  return emulate_link(transport_for(where.scheme).connect(where.location, timeout_ms));
}

std::unique_ptr<Connection> connect(const std::string& address, int timeout_ms) {
  return connect(parse_address(address), timeout_ms);
}

std::unique_ptr<Listener> listen(const Address& where) { return transport_for(where.scheme).listen(where.location); }

std::unique_ptr<Listener> listen(const std::string& address) { return listen(parse_address(address)); }

int default_connect_timeout_ms() {
  if (const char* env = std::getenv("RCPU_CONNECT_TIMEOUT_MS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == 0 && v > 0 && v <= 600000) return int(v);
  }
  return 3000;
}

}  // namespace rcpu::transport
