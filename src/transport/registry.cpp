#include "transport/registry.h"

namespace rcpu::transport {

// Every transport rcpu is built with: one X(NAME) line each, NAME_transport() being defined in
// the transport's own file. An explicit list rather than self-registering objects, which a static
// library would silently drop. The first is the default (bare addresses).
#define RCPU_TRANSPORTS(X) X(tcp)

#define RCPU_DECLARE_TRANSPORT(name) const Transport& name##_transport();
RCPU_TRANSPORTS(RCPU_DECLARE_TRANSPORT)
#undef RCPU_DECLARE_TRANSPORT

std::span<const Transport* const> transports() {
#define RCPU_LIST_TRANSPORT(name) &name##_transport(),
  static const Transport* const all[] = {RCPU_TRANSPORTS(RCPU_LIST_TRANSPORT)};
#undef RCPU_LIST_TRANSPORT
  return all;
}

const Transport& default_transport() { return *transports().front(); }

const Transport* find_transport(std::string_view scheme) {
  for (const Transport* t : transports())
    if (scheme == t->scheme) return t;
  return nullptr;
}

const Transport& transport_for(std::string_view scheme) {
  if (const Transport* t = find_transport(scheme)) return *t;
  throw TransportError(TransportError::Kind::resolve,
                       "unknown transport '" + std::string(scheme) + "' (known: " + known_schemes() + ")");
}

std::string known_schemes() {
  std::string out;
  for (const Transport* t : transports()) {
    if (!out.empty()) out += ", ";
    out += t->scheme;
  }
  return out;
}

}  // namespace rcpu::transport
