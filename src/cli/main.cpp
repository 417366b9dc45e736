// rcpu: the command-line front end.
//   rcpu run [--server H:P] [--policy P] [--trace F] [--stats] [--preload|--no-preload] [--explain] -- program args...
//       runs an unmodified program with its BLAS calls going through the rcpu shim; reads the program
//       first and preloads the shim where LD_LIBRARY_PATH alone would not bring it in (cli/run_plan.h)
//   rcpu keygen    writes a shared key file (cli/keygen.h)
//   rcpu config    prints the effective client configuration and where each value comes from
//   rcpu version
#include <getopt.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/keygen.h"
#include "cli/run_plan.h"
#include "client/core/config.h"
#include "client/core/credentials.h"
#include "client/core/local_library.h"
#include "client/core/tls_settings.h"
#include "client/fftw/local_fftw.h"

namespace fs = std::filesystem;

namespace {

void usage(std::FILE* out) {
  std::fputs(
      "usage: rcpu run [options] -- program [args...]\n"
      "       rcpu keygen [--out FILE] [--id ID] [--force]\n"
      "       rcpu config\n"
      "       rcpu version\n"
      "run options:\n"
      "  --server HOST:PORT  the rcpud to use (sets RCPU_SERVER)\n"
      "  --policy auto|local|remote  which calls go remote (sets RCPU_POLICY)\n"
      "  --trace FILE        one JSON line per call (sets RCPU_TRACE)\n"
      "  --stats             summary table on stderr at exit (sets RCPU_STATS=1)\n"
      "  --preload           always also LD_PRELOAD the shim (for programs that load BLAS privately)\n"
      "  --no-preload        never LD_PRELOAD the shim; by default run reads the program first and\n"
      "                      preloads it when LD_LIBRARY_PATH alone would not bring it in (a BLAS by\n"
      "                      another name such as libopenblas.so.0, or a start-up script such as R's)\n"
      "  --explain           say what was found in the program and what was decided\n",
      out);
}

// The shim folder: RCPU_SHIM_DIR if set, else lib/rcpu beside this binary's bin/ folder.
fs::path shim_dir() {
  if (const char* env = std::getenv("RCPU_SHIM_DIR")) return env;
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "lib/rcpu";
  self[n] = 0;
  return fs::weakly_canonical(fs::path(self).parent_path() / RCPU_SHIM_RELATIVE_DIR);
}

void prepend_env(const char* name, const std::string& value) {
  const char* old = std::getenv(name);
  std::string v = value;
  if (old && *old) v += std::string(":") + old;
  ::setenv(name, v.c_str(), 1);
}

int cmd_run(int argc, char** argv) {
  static const option opts[] = {{"server", required_argument, nullptr, 's'},
                                {"policy", required_argument, nullptr, 'p'},
                                {"trace", required_argument, nullptr, 't'},
                                {"stats", no_argument, nullptr, 'S'},
                                {"preload", no_argument, nullptr, 'P'},
                                {"no-preload", no_argument, nullptr, 'N'},
                                {"explain", no_argument, nullptr, 'E'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
  bool preload = false, no_preload = false, explain = false;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "+", opts, nullptr)) != -1) {
    switch (c) {
      case 's':
        ::setenv("RCPU_SERVER", optarg, 1);
        break;
      case 'p':
        ::setenv("RCPU_POLICY", optarg, 1);
        break;
      case 't':
        ::setenv("RCPU_TRACE", optarg, 1);
        break;
      case 'S':
        ::setenv("RCPU_STATS", "1", 1);
        break;
      case 'P':
        preload = true;
        break;
      case 'N':
        no_preload = true;
        break;
      case 'E':
        explain = true;
        break;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (optind >= argc) {
    std::fputs("rcpu run: no program given\n", stderr);
    usage(stderr);
    return 2;
  }
  const fs::path dir = shim_dir();
  if (!fs::exists(dir / "libblas.so.3")) {
    std::fprintf(stderr, "rcpu run: no shim in %s (set RCPU_SHIM_DIR)\n", dir.c_str());
    return 2;
  }
  if (preload && no_preload) {
    std::fputs("rcpu run: --preload and --no-preload together\n", stderr);
    return 2;
  }
  prepend_env("LD_LIBRARY_PATH", dir.string());
  rcpu::cli::RunRequest request;
  request.program = argv[optind];
  request.path_env = std::getenv("PATH") ? std::getenv("PATH") : "";
  request.shim_dir = dir.string();
  request.ld_library_path = std::getenv("LD_LIBRARY_PATH");
  request.allow_preload = !no_preload;
  request.force_preload = preload;
  const rcpu::cli::RunPlan plan = rcpu::cli::plan_run(request);
  if (explain) {
    for (const std::string& line : plan.explain) std::fprintf(stderr, "rcpu run: %s\n", line.c_str());
    std::fprintf(stderr, "rcpu run: %s\n", plan.preload ? "LD_LIBRARY_PATH and LD_PRELOAD" : "LD_LIBRARY_PATH only");
  }
  if (!plan.message.empty()) std::fprintf(stderr, "rcpu run: %s\n", plan.message.c_str());
  if (plan.preload) prepend_env("LD_PRELOAD", (dir / "librcpu.so").string());
  ::execvp(argv[optind], argv + optind);
  std::fprintf(stderr, "rcpu run: cannot run %s: %s\n", argv[optind], std::strerror(errno));
  return 127;
}

void show(const char* name, const std::string& value, const char* fallback) {
  const char* env = std::getenv(name);
  std::printf("%-20s %-40s (%s)\n", name, (env ? value : std::string(fallback)).c_str(),
              env ? "environment" : "default");
}

int cmd_config() {
  const rcpu::client::Config& c = rcpu::client::config();
  show("RCPU_SERVER", c.server, "(none: every call runs locally)");
  show("RCPU_POLICY", rcpu::client::policy_name(c.policy), "auto");
  show("RCPU_FALLBACK", c.fallback == rcpu::client::FallbackMode::error ? "error" : "local", "local");
  show("RCPU_AUTO_MIN_FLOPS", std::to_string(c.auto_min_flops), std::to_string(c.auto_min_flops).c_str());
  show("RCPU_LOCAL_BLAS", c.local_blas, "(search: libopenblas.so.0, then libblas.so.3; never rcpu)");
  show("RCPU_LOCAL_LAPACK", c.local_lapack, "(the local BLAS if it has dgetrf_, else the reference LAPACK)");
  show("RCPU_LOCAL_FFTW", std::getenv("RCPU_LOCAL_FFTW") ? std::getenv("RCPU_LOCAL_FFTW") : "",
       "(search: libfftw3.so.3, never rcpu; opened in its own namespace)");
  show("RCPU_FFT_AUTO_MIN_FLOPS", std::to_string(c.fft_auto_min_flops), std::to_string(c.fft_auto_min_flops).c_str());
  show("RCPU_AUTH", std::getenv("RCPU_AUTH") ? std::getenv("RCPU_AUTH") : "", "shared-key if a key file is found");
  show("RCPU_MUNGE_SOCKET", std::getenv("RCPU_MUNGE_SOCKET") ? std::getenv("RCPU_MUNGE_SOCKET") : "",
       "libmunge's default (RCPU_AUTH=munge)");
  const rcpu::client::ClientCredentials cred = rcpu::client::read_client_credentials();
  const std::optional<std::string> key_path = rcpu::security::find_default_key_file();
  std::printf("%-20s %s\n", "key",
              !cred.error.empty()    ? ("error: " + cred.error).c_str()
              : cred.munge           ? "(none: a MUNGE credential instead)"
              : cred.tls_certificate ? "(none: the TLS client certificate instead)"
              : cred.key             ? ("'" + cred.key->id + "' from " + key_path.value_or("?")).c_str()
                                     : "(none: only an --insecure rcpud serves this client)");
  for (const char* name : {"RCPU_TLS_CA", "RCPU_TLS_CERT", "RCPU_TLS_KEY", "RCPU_TLS_SERVER_NAME"})
    show(name, std::getenv(name) ? std::getenv(name) : "",
         std::string(name) == "RCPU_TLS_CA"            ? "(none: connections in the clear)"
         : std::string(name) == "RCPU_TLS_SERVER_NAME" ? "(the host of RCPU_SERVER)"
                                                       : "(none: no client certificate)");
  const rcpu::client::ClientTls tls = rcpu::client::read_client_tls();
  std::printf("%-20s %s\n", "tls",
              !tls.error.empty() ? ("error: " + tls.error).c_str()
              : tls.context      ? (tls.client_certificate ? "TLS 1.3, mutual (client certificate)" : "TLS 1.3")
                                 : "off");
  show("RCPU_TRACE", c.trace_path, "(off)");
  show("RCPU_STATS", c.stats ? "1" : "0", "0");
  // Transfer settings, read by the remote path itself: shown as given, with the defaults it uses.
  static const struct {
    const char* name;
    const char* fallback;
  } kTransfer[] = {
      {"RCPU_STREAMS", "half the cores, 1..8 (connections per large call)"},
      {"RCPU_PIPELINE", "1 (pipelined tiles; 0 = stop-and-wait)"},
      {"RCPU_TILE", "(automatic panel width)"},
      {"RCPU_TILE_BYTES", "(automatic tile size)"},
      {"RCPU_LINK_GBPS", "(no link emulation)"},
      {"RCPU_CONNECT_TIMEOUT_MS", "3000"},
      {"RCPU_IO_TIMEOUT_MS", "600000"},
      {"RCPU_MAX_CONNECTIONS", "8, or 2 x RCPU_STREAMS if more"},
      {"RCPU_SOCKET_BUFFER_BYTES", "8388608"},
  };
  for (const auto& t : kTransfer) {
    const char* env = std::getenv(t.name);
    show(t.name, env ? env : "", t.fallback);
  }
  std::printf("%-20s %s\n", "local BLAS opened", rcpu::client::local_blas_path().c_str());
  std::printf("%-20s %s\n", "local LAPACK opened", rcpu::client::local_lapack_path().c_str());
  std::printf("%-20s %s\n", "local FFTW opened", rcpu::fftw::local_fftw_path().c_str());
  std::printf("%-20s %s\n", "shim folder", shim_dir().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "run") return cmd_run(argc - 1, argv + 1);
  if (cmd == "config") return cmd_config();
  if (cmd == "keygen") return rcpu::cli::cmd_keygen(argc - 1, argv + 1);
  if (cmd == "version" || cmd == "--version") {
    std::printf("rcpu %s\n", RCPU_VERSION);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "rcpu: unknown command %s\n", cmd.c_str());
  usage(stderr);
  return 2;
}
