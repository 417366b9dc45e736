#include "transport/address.h"

#include <cctype>

#include "transport/registry.h"

namespace rcpu::transport {
namespace {

constexpr std::string_view kSeparator = "://";

// RFC 3986: a letter, then letters, digits, '+', '-' or '.'.
bool valid_scheme(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (const char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

std::string Address::str() const {
  if (scheme == default_transport().scheme) return location;
  return scheme + std::string(kSeparator) + location;
}

Address parse_address(const std::string& text) {
  const auto sep = text.find(kSeparator);
  if (sep == std::string::npos) {
    const Transport& t = default_transport();
    return Address{t.scheme, t.normalize(text)};
  }
  std::string scheme = text.substr(0, sep);
  if (!valid_scheme(scheme))
    throw TransportError(TransportError::Kind::resolve,
                         "bad address '" + text + "' (want scheme://location, e.g. tcp://host:port)");
  for (char& c : scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
  const Transport* t = find_transport(scheme);
  if (!t)
    throw TransportError(TransportError::Kind::resolve,
                         "unknown transport '" + scheme + "' in '" + text + "' (known: " + known_schemes() + ")");
  return Address{t->scheme, t->normalize(text.substr(sep + kSeparator.size()))};
}

}  // namespace rcpu::transport
