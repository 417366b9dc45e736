#include "protocol/fft_request.h"

#include "rcpu_opcodes.h"

namespace rcpu::protocol {

std::uint32_t fft_opcode(FftKind kind, FftPrecision precision) {
  const bool d = precision == FftPrecision::f64;
  switch (kind) {
    case FftKind::c2c:
      return std::uint32_t(d ? Opcode::fft_c2c_d : Opcode::fft_c2c_s);
    case FftKind::r2c:
      return std::uint32_t(d ? Opcode::fft_r2c_d : Opcode::fft_r2c_s);
    case FftKind::c2r:
      return std::uint32_t(d ? Opcode::fft_c2r_d : Opcode::fft_c2r_s);
  }
  return 0;
}

bool is_fft_opcode(std::uint32_t opcode) {
  for (FftKind k : {FftKind::c2c, FftKind::r2c, FftKind::c2r})
    for (FftPrecision p : {FftPrecision::f32, FftPrecision::f64})
      if (fft_opcode(k, p) == opcode) return true;
  return false;
}

OperandDesc fft_input_operand(const FftDescriptor& d) {
  OperandDesc o;
  o.index = 0;
  o.role = Role::in;
  o.elem_size = std::uint32_t(fft_real_size(d.precision) * (d.kind == FftKind::r2c ? 1 : 2));
  o.rows = fft_in_bytes(d) / o.elem_size;
  o.cols = 1;
  return o;
}

OperandDesc fft_output_operand(const FftDescriptor& d) {
  OperandDesc o;
  o.index = 1;
  o.role = Role::out;
  o.elem_size = std::uint32_t(fft_real_size(d.precision) * (d.kind == FftKind::c2r ? 1 : 2));
  o.rows = fft_out_bytes(d) / o.elem_size;
  o.cols = 1;
  return o;
}

std::optional<std::string> check_fft_request(std::uint32_t opcode, const FftRequest& req, std::uint64_t max_bytes) {
  if (auto err = fft_validate(req.desc, max_bytes)) return err;
  if (fft_opcode(req.desc.kind, req.desc.precision) != opcode)
    return "opcode does not match the FFT's kind and precision";
  if (!(req.desc == fft_packed(req.desc))) return "FFT descriptor is not in the packed layout";
  return std::nullopt;
}

}  // namespace rcpu::protocol
