#include "cli/keygen.h"

#include <getopt.h>

#include <cstdio>
#include <string>

#include "security/key_file.h"

namespace rcpu::cli {
namespace {

const char* kKeygenUsage =
    "usage: rcpu keygen [--out FILE] [--id ID] [--force]\n"
    "  writes a new random 256-bit key (mode 0600) that rcpud (--key-file FILE) and its clients\n"
    "  (RCPU_KEY_FILE=FILE) share; the default FILE is ~/.config/rcpu/key\n"
    "  --id ID    the key's name in the handshake (default: k + 8 random hex digits)\n"
    "  --force    replace FILE if it exists (clients holding the old key are refused)\n";

}  // namespace

int cmd_keygen(int argc, char** argv) {
  static const option opts[] = {{"out", required_argument, nullptr, 'o'},
                                {"id", required_argument, nullptr, 'i'},
                                {"force", no_argument, nullptr, 'f'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
  std::string out = security::user_key_path();
  std::string id;
  bool force = false;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, nullptr)) != -1) {
    switch (c) {
      case 'o':
        out = optarg;
        break;
      case 'i':
        id = optarg;
        break;
      case 'f':
        force = true;
        break;
      case 'h':
        std::fputs(kKeygenUsage, stdout);
        return 0;
      default:
        std::fputs(kKeygenUsage, stderr);
        return 2;
    }
  }
  if (optind < argc || out.empty()) {
    std::fputs(kKeygenUsage, stderr);
    return 2;
  }
  try {
    const security::SharedKey key = security::write_new_key_file(out, id, force);
    std::printf("wrote key '%s' to %s\n", key.id.c_str(), out.c_str());
    std::printf("give rcpud --key-file %s and the clients RCPU_KEY_FILE=%s (a copy, mode 0600)\n", out.c_str(),
                out.c_str());
    return 0;
  } catch (const security::KeyFileError& e) {
    std::fprintf(stderr, "rcpu keygen: %s\n", e.what());
    return 1;
  }
}

}  // namespace rcpu::cli
