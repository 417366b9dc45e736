#include "server/core/options.h"

#include <getopt.h>
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "backends/registry.h"
#include "transport/address.h"

namespace rcpu::server {
namespace {

const char* kUsageHead =
    "usage: rcpud [options]\n"
    "  --listen [tcp://]HOST:PORT address to listen on (default 127.0.0.1:7000; port 0 = any free port)\n";
const char* kUsageTail =
    "  --devices 0,1              GPU ordinals for a GPU backend (default: all)\n"
    "  --virtual-devices N        a host backend (cpu): serve the CPU as N devices (placement; default 1)\n"
    "  --device-rates R0,R1,...   fixed relative device rates (default: a dgemm timed per device at start)\n"
    "  --device-slowdown F0,F1,.. emulation: device i made F_i times slower (tests of the placement)\n"
    "  --split-min-flops X        with several devices, calls of at least X flops are split (default 8e9)\n"
    "  --split-min-cols N         narrowest piece of a split call (default 128)\n"
    "  --split-min-fft-bytes SIZE batched FFTs of at least SIZE (in + out) are split (default 64M)\n"
    "  --max-request-bytes SIZE   operand bytes one request may carry (default: the --max-memory budget)\n"
    "  --max-memory SIZE          operand bytes of all requests in flight (default 3/4 of RAM,\n"
    "                             or of the memory limit of its control group)\n"
    "  --max-sessions N           concurrent client connections served (default 64)\n"
    "  --client-max-memory SIZE   operand bytes of one client's calls in flight (default half of\n"
    "                             --max-memory); a client is a key id, a MUNGE uid, or an --insecure host\n"
    "  --client-max-calls N       calls in flight of one client (default 4 per device, at least 16)\n"
    "  --client-device-share F    while other clients have calls in flight, a client may hold at most\n"
    "                             F x --client-max-calls of them (0 < F <= 1; default 0.5)\n"
    "  --client-max-sessions N    sessions of one client (default half of --max-sessions)\n"
    "  --handshake-timeout SEC    a connection must be through the handshake within SEC (default 10)\n"
    "  --idle-timeout SEC         a session silent between requests for SEC is closed (default 120)\n"
    "  --fft-plan-seconds SEC     the most planning one FFT may take (default 2; FFTW's planner is\n"
    "                             process-wide, so others' FFTs wait meanwhile)\n"
    "  --key-file FILE            shared keys clients must prove they hold (repeatable; default\n"
    "                             $RCPU_KEY_FILE, else ~/.config/rcpu/key, else /etc/rcpu/key;\n"
    "                             'rcpu keygen' writes one)\n"
    "  --auth METHOD[,METHOD]     how clients authenticate: shared-key (default), munge (the site's\n"
    "                             MUNGE: Slurm clusters), tls (a client certificate; the default\n"
    "                             with --tls-client-ca), or a list of them\n"
    "  --munge-socket PATH        munged's socket (default libmunge's)\n"
    "  --allow-uid U1,U2,...      MUNGE clients allowed in: these users (uids or names) ...\n"
    "  --allow-gid G1,G2,...      ... or members of these groups (gids or names); default: every one\n"
    "  --insecure                 accept clients without authentication (logged as a warning)\n"
    "  --tls-cert FILE            encrypt every connection with TLS 1.3: the server's certificate\n"
    "                             chain (PEM); clients then need RCPU_TLS_CA\n"
    "  --tls-key FILE             the private key of --tls-cert (PEM)\n"
    "  --tls-client-ca FILE       mutual TLS: clients must present a certificate from this authority\n"
    "  --panel-timeline FILE      append one JSON line per tiled call to FILE: when each panel's inputs\n"
    "                             were in, when it was computed, when its results were sent\n"
    "  --help                     this text\n"
    "The first line on stdout is 'rcpud listening on HOST:PORT' with the bound port.\n";

// The --backend lines come from the registry: one per backend this rcpud is built with.
std::string usage() {
  std::string text = kUsageHead;
  text += "  --backend NAME             compute backend (default auto: the first of these that starts)\n";
  for (const backend::BackendEntry& e : backend::registered_backends()) {
    std::string line = std::string(31, ' ') + e.name;
    line.append(line.size() < 38 ? 38 - line.size() : 1, ' ');
    text += line + e.help + "\n";
  }
  return text + kUsageTail;
}

std::optional<std::vector<int>> parse_devices(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 4)
      return std::nullopt;
    out.push_back(std::atoi(item.c_str()));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// "1,2.5,3": positive numbers; nothing on error.
std::optional<std::vector<double>> parse_numbers(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || errno != 0 || *end || !(v > 0) || v > 1e18) return std::nullopt;
    out.push_back(v);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// "1000,alice": ids or names (getpwnam_r / getgrnam_r); `why` says what is wrong otherwise.
std::optional<std::vector<std::uint32_t>> parse_ids(const std::string& text, bool groups, std::string& why) {
  std::vector<std::uint32_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) {
      why = "an empty entry";
      return std::nullopt;
    }
    if (item.find_first_not_of("0123456789") == std::string::npos) {
      errno = 0;
      const unsigned long long v = std::strtoull(item.c_str(), nullptr, 10);
      if (errno != 0 || item.size() > 10 || v >= 0xffffffffull) {
        why = "'" + item + "' is not an id";
        return std::nullopt;
      }
      out.push_back(std::uint32_t(v));
      continue;
    }
    std::vector<char> buf(16384);
    if (groups) {
      group g{}, *found = nullptr;
      if (getgrnam_r(item.c_str(), &g, buf.data(), buf.size(), &found) != 0 || !found) {
        why = "no group '" + item + "' on this host";
        return std::nullopt;
      }
      out.push_back(found->gr_gid);
    } else {
      passwd p{}, *found = nullptr;
      if (getpwnam_r(item.c_str(), &p, buf.data(), buf.size(), &found) != 0 || !found) {
        why = "no user '" + item + "' on this host";
        return std::nullopt;
      }
      out.push_back(found->pw_uid);
    }
  }
  if (out.empty()) why = "no entry";
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<int> parse_count(const std::string& arg, long max) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(arg.c_str(), &end, 10);
  if (end == arg.c_str() || *end || errno != 0 || v < 1 || v > max) return std::nullopt;
  return int(v);
}

}  // namespace

std::optional<std::uint64_t> parse_size(const std::string& text) {
  if (text.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || text[0] == '-') return std::nullopt;
  std::string suffix(end);
  unsigned shift = 0;
  if (suffix == "" || suffix == "B")
    shift = 0;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB")
    shift = 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB")
    shift = 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB")
    shift = 30;
  else if (suffix == "T" || suffix == "t" || suffix == "TiB")
    shift = 40;
  else
    return std::nullopt;
  if (shift && v > (UINT64_MAX >> shift)) return std::nullopt;
  return std::uint64_t(v) << shift;
}

ParseResult parse_options(int argc, char** argv) {
  enum {
    kListen = 1000,
    kBackend,
    kDevices,
    kMaxRequest,
    kMaxMemory,
    kMaxSessions,
    kInsecure,
    kHelp,
    kVirtualDevices,
    kDeviceRates,
    kDeviceSlowdown,
    kSplitMinFlops,
    kSplitMinCols,
    kSplitMinFftBytes,
    kPanelTimeline,
    kKeyFile,
    kHandshakeTimeout,
    kIdleTimeout,
    kAuth,
    kMungeSocket,
    kTlsCert,
    kTlsKey,
    kTlsClientCa,
    kFftPlanSeconds,
    kClientMaxMemory,
    kClientMaxCalls,
    kClientDeviceShare,
    kClientMaxSessions,
    kAllowUid,
    kAllowGid
  };
  static const option long_options[] = {
      {"listen", required_argument, nullptr, kListen},
      {"backend", required_argument, nullptr, kBackend},
      {"devices", required_argument, nullptr, kDevices},
      {"max-request-bytes", required_argument, nullptr, kMaxRequest},
      {"max-memory", required_argument, nullptr, kMaxMemory},
      {"max-sessions", required_argument, nullptr, kMaxSessions},
      {"insecure", no_argument, nullptr, kInsecure},
      {"key-file", required_argument, nullptr, kKeyFile},
      {"handshake-timeout", required_argument, nullptr, kHandshakeTimeout},
      {"idle-timeout", required_argument, nullptr, kIdleTimeout},
      {"fft-plan-seconds", required_argument, nullptr, kFftPlanSeconds},
      {"auth", required_argument, nullptr, kAuth},
      {"munge-socket", required_argument, nullptr, kMungeSocket},
      {"tls-cert", required_argument, nullptr, kTlsCert},
      {"tls-key", required_argument, nullptr, kTlsKey},
      {"tls-client-ca", required_argument, nullptr, kTlsClientCa},
      {"client-max-memory", required_argument, nullptr, kClientMaxMemory},
      {"client-max-calls", required_argument, nullptr, kClientMaxCalls},
      {"client-device-share", required_argument, nullptr, kClientDeviceShare},
      {"client-max-sessions", required_argument, nullptr, kClientMaxSessions},
      {"allow-uid", required_argument, nullptr, kAllowUid},
      {"allow-gid", required_argument, nullptr, kAllowGid},
      {"virtual-devices", required_argument, nullptr, kVirtualDevices},
      {"device-rates", required_argument, nullptr, kDeviceRates},
      {"device-slowdown", required_argument, nullptr, kDeviceSlowdown},
      {"split-min-flops", required_argument, nullptr, kSplitMinFlops},
      {"split-min-cols", required_argument, nullptr, kSplitMinCols},
      {"split-min-fft-bytes", required_argument, nullptr, kSplitMinFftBytes},
      {"panel-timeline", required_argument, nullptr, kPanelTimeline},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  ParseResult r;
  ServerOptions o;
  auto bad = [&](const std::string& what) {
    r.exit_code = 2;
    r.message = "rcpud: " + what + "\n" + usage();
    return r;
  };
  optind = 1;
  opterr = 0;  // we print our own messages
  for (;;) {
    const int c = getopt_long(argc, argv, "", long_options, nullptr);
    if (c == -1) break;
    const std::string arg = optarg ? optarg : "";
    switch (c) {
      case kListen:
        try {
          o.listen = transport::parse_address(arg).str();
        } catch (const std::exception& e) {
          return bad(std::string("--listen: ") + e.what());
        }
        break;
      case kBackend:
        if (arg != "auto" && !backend::find_backend(arg))
          return bad("--backend " + arg + ": not a backend of this rcpud; --backend must be " +
                     backend::backend_names() + " or auto");
        o.backend = arg;
        break;
      case kDevices: {
        auto d = parse_devices(arg);
        if (!d) return bad("--devices wants a list of GPU ordinals such as 0,1");
        o.devices = *d;
        break;
      }
      case kMaxRequest: {
        auto v = parse_size(arg);
        if (!v || *v == 0) return bad("--max-request-bytes wants a size such as 8G");
        o.max_request_bytes = *v;
        break;
      }
      case kMaxMemory: {
        auto v = parse_size(arg);
        if (!v || *v == 0) return bad("--max-memory wants a size such as 16G");
        o.max_memory_bytes = *v;
        break;
      }
      case kMaxSessions: {
        char* end = nullptr;
        const long v = std::strtol(arg.c_str(), &end, 10);
        if (end == arg.c_str() || *end || v < 1 || v > 100000) return bad("--max-sessions wants a positive number");
        o.max_sessions = int(v);
        break;
      }
      case kClientMaxMemory: {
        auto v = parse_size(arg);
        if (!v || *v == 0) return bad("--client-max-memory wants a size such as 8G");
        o.client_max_memory_bytes = *v;
        break;
      }
      case kClientMaxCalls:
      case kClientMaxSessions: {
        const auto v = parse_count(arg, 100000);
        if (!v)
          return bad(std::string(c == kClientMaxCalls ? "--client-max-calls" : "--client-max-sessions") +
                     " wants a number from 1 to 100000");
        (c == kClientMaxCalls ? o.client_max_calls : o.client_max_sessions) = *v;
        break;
      }
      case kClientDeviceShare: {
        char* end = nullptr;
        const double v = std::strtod(arg.c_str(), &end);
        if (end == arg.c_str() || *end || !(v > 0) || v > 1)
          return bad("--client-device-share wants a fraction above 0 and at most 1, such as 0.5");
        o.client_device_share = v;
        break;
      }
      case kAllowUid:
      case kAllowGid: {
        std::string why;
        auto ids = parse_ids(arg, c == kAllowGid, why);
        const char* name = c == kAllowUid ? "--allow-uid" : "--allow-gid";
        if (!ids)
          return bad(std::string(name) + " wants " + (c == kAllowUid ? "uids or user" : "gids or group") +
                     " names such as 1000,alice: " + why);
        auto& list = c == kAllowUid ? o.allow_uids : o.allow_gids;
        list.insert(list.end(), ids->begin(), ids->end());
        break;
      }
      case kInsecure:
        o.insecure = true;
        break;
      case kHandshakeTimeout:
      case kIdleTimeout: {
        char* end = nullptr;
        const double v = std::strtod(arg.c_str(), &end);
        const char* name = c == kHandshakeTimeout ? "--handshake-timeout" : "--idle-timeout";
        if (end == arg.c_str() || *end || !(v >= 0.01) || v > 86400)
          return bad(std::string(name) + " wants seconds from 0.01 to 86400");
        (c == kHandshakeTimeout ? o.handshake_timeout_ms : o.idle_timeout_ms) = int(v * 1000);
        break;
      }
      case kFftPlanSeconds: {
        char* end = nullptr;
        const double v = std::strtod(arg.c_str(), &end);
        if (end == arg.c_str() || *end || !(v >= 0.001) || v > 3600)
          return bad("--fft-plan-seconds wants seconds from 0.001 to 3600");
        o.fft_plan_seconds = v;
        break;
      }
      case kAuth: {
        std::stringstream list(arg);
        std::string m;
        while (std::getline(list, m, ',')) {
          if (m != "shared-key" && m != "munge" && m != "tls")
            return bad("--auth wants shared-key, munge, tls or a list of them (shared-key,munge)");
          o.auth_methods.push_back(m);
        }
        if (o.auth_methods.empty())
          return bad("--auth wants shared-key, munge, tls or a list of them (shared-key,munge)");
        break;
      }
      case kTlsCert:
      case kTlsKey:
      case kTlsClientCa: {
        const char* name = c == kTlsCert ? "--tls-cert" : c == kTlsKey ? "--tls-key" : "--tls-client-ca";
        if (arg.empty()) return bad(std::string(name) + " wants a PEM file");
        (c == kTlsCert ? o.tls.certificate : c == kTlsKey ? o.tls.private_key : o.tls.trusted_ca) = arg;
        break;
      }
      case kMungeSocket:
        if (arg.empty()) return bad("--munge-socket wants munged's socket path");
        o.munge_socket = arg;
        break;
      case kKeyFile:
        if (arg.empty()) return bad("--key-file wants a file name");
        o.key_files.push_back(arg);
        break;
      case kPanelTimeline:
        if (arg.empty()) return bad("--panel-timeline wants a file name");
        o.panel_timeline = arg;
        break;
      case kVirtualDevices: {
        char* end = nullptr;
        const long v = std::strtol(arg.c_str(), &end, 10);
        if (end == arg.c_str() || *end || v < 1 || v > 64) return bad("--virtual-devices wants a number from 1 to 64");
        o.virtual_devices = int(v);
        break;
      }
      case kDeviceRates: {
        auto v = parse_numbers(arg);
        if (!v) return bad("--device-rates wants positive numbers such as 1,2");
        o.device_rates = *v;
        break;
      }
      case kDeviceSlowdown: {
        auto v = parse_numbers(arg);
        if (!v) return bad("--device-slowdown wants factors of at least 1 such as 1,3");
        for (double f : *v)
          if (f < 1) return bad("--device-slowdown wants factors of at least 1 such as 1,3");
        o.device_slowdown = *v;
        break;
      }
      case kSplitMinFlops: {
        char* end = nullptr;
        const double v = std::strtod(arg.c_str(), &end);
        if (end == arg.c_str() || *end || !(v >= 0))
          return bad("--split-min-flops wants a number of flops such as 1e10");
        o.split_min_flops = v;
        break;
      }
      case kSplitMinCols: {
        char* end = nullptr;
        const long long v = std::strtoll(arg.c_str(), &end, 10);
        if (end == arg.c_str() || *end || v < 1 || v > (1ll << 31))
          return bad("--split-min-cols wants a positive number");
        o.split_min_cols = v;
        break;
      }
      case kSplitMinFftBytes: {
        auto v = parse_size(arg);
        if (!v) return bad("--split-min-fft-bytes wants a size such as 64M (0: split every batch)");
        o.split_min_fft_bytes = *v;
        break;
      }
      case kHelp:
        r.exit_code = 0;
        r.message = usage();
        return r;
      default:
        return bad(std::string("unknown or incomplete option '") +
                   (optind > 0 && optind <= argc ? argv[optind - 1] : "?") + "'");
    }
  }
  if (optind < argc) return bad(std::string("unexpected argument '") + argv[optind] + "'");
  if (o.tls.certificate.empty() != o.tls.private_key.empty())
    return bad("--tls-cert and --tls-key go together: the server's certificate and its private key");
  if (!o.tls.trusted_ca.empty() && o.tls.certificate.empty())
    return bad("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first");
  if ((!o.allow_uids.empty() || !o.allow_gids.empty()) &&
      std::find(o.auth_methods.begin(), o.auth_methods.end(), "munge") == o.auth_methods.end())
    return bad("--allow-uid and --allow-gid admit MUNGE clients: give --auth munge (or shared-key,munge) too");
  r.options = o;
  return r;
}

}  // namespace rcpu::server
