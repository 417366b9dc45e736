// HMAC-SHA256 (OpenSSL) and the comparison of secrets in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rcpu::security {

inline constexpr std::size_t kMacBytes = 32;
using Mac = std::array<std::uint8_t, kMacBytes>;

Mac hmac_sha256(std::string_view key, std::string_view message);
// a == b without a timing that depends on where they differ; false when the sizes differ.
bool equal_in_constant_time(std::string_view a, std::string_view b);

}  // namespace rcpu::security
