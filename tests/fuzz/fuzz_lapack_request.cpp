// LAPACK REQUESTs as the server receives them (server/lapack/lapack_request.cpp): input = u16
// opcode offset from 0x0200 (the LAPACK opcodes) + the LapackRequest body. A body that decodes and
// passes check_lapack_request must name operands whose sizes cannot overflow and are exactly what
// the routine's shapes give, with a finite flop count.
#include <cmath>

#include "common/lapack.h"
#include "fuzz_common.h"
#include "protocol/lapack_request.h"
#include "protocol/level3_request.h"

using namespace rcpu;
using namespace rcpu::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return -1;
  const std::uint8_t* p = data;
  std::size_t left = size;
  const auto opcode = std::uint32_t(0x0200 + fuzz::take_le(p, left, 2) % 0x200);
  LapackRequest req;
  try {
    req = decode<LapackRequest>(p, left);
  } catch (const DecodeError&) {
    return 0;
  }
  if (check_lapack_request(opcode, req)) return 0;

  const LapackRoutine* r = lapack_routine(opcode);
  RCPU_FUZZ_CHECK(r != nullptr && r->opcode == opcode);
  const LapackArgs args = lapack_args_of(opcode, req);
  RCPU_FUZZ_CHECK(!lapack_validate(args));
  RCPU_FUZZ_CHECK(req.operands.size() == std::size_t(r->nops));
  LapackOperand ops[kMaxLapackOperands];
  r->shapes(args, ops);
  for (int i = 0; i < r->nops; ++i) {
    const OperandDesc& d = req.operands[std::size_t(i)];
    RCPU_FUZZ_CHECK(d.index == i && d.role == ops[i].role && d.elem_size == ops[i].elem);
    RCPU_FUZZ_CHECK(d.bytes() == ops[i].bytes());
    RCPU_FUZZ_CHECK(d.bytes() <= (std::uint64_t(1) << 62));
  }
  RCPU_FUZZ_CHECK(total_bytes(req.operands) < UINT64_MAX);
  const double flops = r->flops(args);
  RCPU_FUZZ_CHECK(!std::isnan(flops) && flops >= 0);

  // The client builds the same request from the same arguments.
  const LapackRequest rebuilt = make_lapack_request(*r, args);
  RCPU_FUZZ_CHECK(rebuilt.operands == req.operands);
  const std::vector<std::uint8_t> again = encode(req);
  RCPU_FUZZ_CHECK(again.size() == left && std::memcmp(again.data(), p, left) == 0);
  return 0;
}
