#include "protocol/messages.h"

#include <cstring>

#include "rcpu_opcodes.h"

namespace rcpu::protocol {

std::uint64_t fnv1a64(const void* data, std::size_t size) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto* p = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::uint64_t opcode_table_hash() {
  static const std::uint64_t h = fnv1a64(kOpcodeTable, std::strlen(kOpcodeTable));
  return h;
}

std::uint64_t OperandDesc::bytes() const {
  const unsigned __int128 b = (unsigned __int128)rows * cols * elem_size;
  return b > UINT64_MAX ? UINT64_MAX : std::uint64_t(b);
}

}  // namespace rcpu::protocol
