// Unpredictable bytes from the operating system's random source (getrandom(2)): nonces of the
// handshake, call tokens, client instance ids, keys. Never a seeded generator: a token another
// client could predict would let it join someone else's call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rcpu::security {

// Fills `out` with `size` random bytes. Throws std::runtime_error if the kernel cannot deliver them.
void random_bytes(void* out, std::size_t size);
// `size` random bytes as a string (nonces travel as bounded strings).
std::string random_string(std::size_t size);
std::uint64_t random_u64();

}  // namespace rcpu::security
