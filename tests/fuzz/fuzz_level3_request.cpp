// Level-3 BLAS REQUESTs as the server receives them (server/blas/level3_request.cpp): input = u32
// opcode (the frame header's) + the Request body. A body that decodes and passes
// check_level3_request must describe operands whose sizes are exactly what the call needs, that
// cannot overflow, and whose packed form (what the backend runs) validates too.
#include <cmath>

#include "common/level3.h"
#include "fuzz_common.h"
#include "protocol/level3_request.h"

using namespace rcpu;
using namespace rcpu::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return -1;
  const std::uint8_t* p = data;
  std::size_t left = size;
  const auto opcode = std::uint32_t(fuzz::take_le(p, left, 4));
  Request req;
  try {
    req = decode<Request>(p, left);
  } catch (const DecodeError&) {
    return 0;
  }
  if (check_level3_request(opcode, req)) return 0;

  const Level3Args& a = req.args;
  RCPU_FUZZ_CHECK(!level3_validate(a));
  RCPU_FUZZ_CHECK(!level3_is_trivial(a));
  const Level3Shapes s = level3_shapes(a);
  const std::size_t elem = element_size(a.dtype);
  for (const OperandDesc& d : req.operands) {
    const OperandShape& sh = d.index == 0 ? s.a : d.index == 1 ? s.b : s.c;
    RCPU_FUZZ_CHECK(d.index < 3 && d.role == sh.role && d.elem_size == elem);
    RCPU_FUZZ_CHECK(d.bytes() == sh.bytes(a.dtype));
    RCPU_FUZZ_CHECK(d.bytes() <= (std::uint64_t(1) << 46));
  }
  RCPU_FUZZ_CHECK(input_bytes(req.operands) <= total_bytes(req.operands));
  RCPU_FUZZ_CHECK(total_bytes(req.operands) <= 3 * (std::uint64_t(1) << 46));
  const OperandDesc* out = output_operand(req.operands);
  RCPU_FUZZ_CHECK(out != nullptr && out->bytes() > 0);
  const double flops = level3_flops(a);
  RCPU_FUZZ_CHECK(std::isfinite(flops) && flops > 0);

  // What the backend sees: every leading dimension its operand's rows; still a valid call with the
  // same operands.
  const Level3Args packed = level3_packed(a);
  RCPU_FUZZ_CHECK(!level3_validate(packed));
  RCPU_FUZZ_CHECK(level3_operands(packed) == req.operands);
  RCPU_FUZZ_CHECK(level3_output_ld(packed) == std::max<std::int64_t>(1, std::int64_t(out->rows)));

  // The panels of a tiled call stay valid calls inside the operands.
  if (packed.family == L3Family::gemm || packed.side == 'L') {
    std::uint64_t b_off = 0, c_off = 0;
    const std::int64_t half = packed.n / 2;
    const Level3Args panel = level3_panel(packed, half, packed.n - half, b_off, c_off);
    RCPU_FUZZ_CHECK(!level3_validate(panel));
    RCPU_FUZZ_CHECK(c_off * elem <= out->bytes());
  }

  const std::vector<std::uint8_t> again = encode(req);
  RCPU_FUZZ_CHECK(again.size() == left && std::memcmp(again.data(), p, left) == 0);
  return 0;
}
