#include "client/core/policy.h"

namespace rcpu::client {

Decision decide_level3(const Config& config, const Level3Args& args, bool server_configured) {
  if (config.policy == PolicyMode::local) return {false, "policy=local"};
  // Nothing to compute (alpha == 0, empty dimensions): not worth a round trip, whatever the policy.
  if (level3_is_trivial(args)) return {false, "trivial"};
  if (!server_configured) return {false, "no-server"};
  if (config.policy == PolicyMode::remote) return {true, "policy=remote"};
  if (level3_flops(args) < config.auto_min_flops) return {false, "below-threshold"};
  return {true, "above-threshold"};
}

Decision decide_lapack(const Config& config, double flops, bool server_configured, double auto_scale) {
  if (config.policy == PolicyMode::local) return {false, "policy=local"};
  if (!(flops > 0)) return {false, "trivial"};
  if (!server_configured) return {false, "no-server"};
  if (config.policy == PolicyMode::remote) return {true, "policy=remote"};
  if (flops < config.auto_min_flops * auto_scale) return {false, "below-threshold"};
  return {true, "above-threshold"};
}

Decision decide_fft(const Config& config, double flops, bool server_configured) {
  if (config.policy == PolicyMode::local) return {false, "policy=local"};
  if (flops <= 0) return {false, "trivial"};
  if (!server_configured) return {false, "no-server"};
  if (config.policy == PolicyMode::remote) return {true, "policy=remote"};
  if (flops < config.fft_auto_min_flops) return {false, "below-threshold"};
  return {true, "above-threshold"};
}

}  // namespace rcpu::client
