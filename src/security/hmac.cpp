#include "security/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace rcpu::security {

Mac hmac_sha256(std::string_view key, std::string_view message) {
  Mac mac{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
            message.size(), mac.data(), &len) ||
      len != mac.size())
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  return mac;
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace rcpu::security
