#include "security/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "security/random.h"

namespace rcpu::security {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(const std::string& bytes) {
  std::string s;
  for (unsigned char c : bytes) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> from_hex(const std::string& s) {
  if (s.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char(hi * 16 + lo);
  }
  return out;
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", unsigned(m & 07777));
  return buf;
}

void make_parent_folders(const std::string& path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw KeyFileError("cannot create " + dir + ": " + std::strerror(errno));
  }
}

}  // namespace

bool valid_key_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxKeyIdBytes) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

std::vector<SharedKey> load_key_file(const std::string& path) {
  // O_NONBLOCK: a FIFO or device named as the key file must not hang the open (fstat refuses it).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw KeyFileError("key file " + path + ": " + std::strerror(errno));
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  std::string text;
  if (stat_ok && S_ISREG(st.st_mode) && st.st_size <= 65536) {
    text.resize(std::size_t(st.st_size));
    std::size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += std::size_t(n);
    }
    text.resize(got);
  }
  ::close(fd);
  if (!stat_ok || !S_ISREG(st.st_mode)) throw KeyFileError("key file " + path + " is not a regular file");
  if (st.st_size > 65536) throw KeyFileError("key file " + path + " is larger than 64 KiB: not a key file");
  if (st.st_mode & 0027)
    throw KeyFileError("key file " + path + " has mode " + octal_mode(st.st_mode) +
                       ": others may read or change it, so it authenticates nobody (chmod 600 " + path + ")");

  std::vector<SharedKey> keys;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (const std::size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::string id, hex, extra;
    if (!(fields >> id)) continue;  // blank or comment
    const std::string where = "key file " + path + " line " + std::to_string(number);
    if (!(fields >> hex) || (fields >> extra))
      throw KeyFileError(where + ": expected \"<key id> <64 hex digits>\" (rcpu keygen writes one)");
    if (!valid_key_id(id)) throw KeyFileError(where + ": a key id is 1 to 64 of A-Z a-z 0-9 . _ -");
    const std::optional<std::string> secret = from_hex(hex);
    if (!secret || secret->size() != kKeyBytes)
      throw KeyFileError(where + ": the key must be 64 hex digits (256 bits)");
    for (const SharedKey& k : keys)
      if (k.id == id) throw KeyFileError(where + ": key id '" + id + "' appears twice");
    keys.push_back({id, *secret});
  }
  if (keys.empty()) throw KeyFileError("key file " + path + " holds no key (rcpu keygen writes one)");
  return keys;
}

std::string key_file_line(const SharedKey& key) { return key.id + " " + to_hex(key.secret) + "\n"; }

SharedKey write_new_key_file(const std::string& path, std::string id, bool replace) {
  if (id.empty()) {
    std::string fresh(1, 'k');  // built apart and moved in: GCC 12's -Wrestrict misfires on "k" + ...
    fresh += to_hex(random_string(4));
    id = std::move(fresh);
  }
  if (!valid_key_id(id)) throw KeyFileError("key id '" + id + "': a key id is 1 to 64 of A-Z a-z 0-9 . _ -");
  const SharedKey key{id, random_string(kKeyBytes)};
  make_parent_folders(path);
  // Written beside the target and renamed over it: a reader never sees half a key, and the mode
  // is 0600 from the first byte.
  const std::string tmp = path + ".new";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw KeyFileError("cannot create " + tmp + ": " + std::strerror(errno));
  const std::string text =
      "# rcpu shared key: give this file to rcpud (--key-file) and its clients (RCPU_KEY_FILE)\n" + key_file_line(key);
  const bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    throw KeyFileError("cannot write " + tmp);
  }
  if (!replace && ::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw KeyFileError(err == EEXIST ? path + " exists already (--force replaces it)"
                                     : "cannot create " + path + ": " + std::strerror(err));
  }
  if (replace && ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw KeyFileError("cannot create " + path + ": " + std::strerror(err));
  }
  ::unlink(tmp.c_str());
  return key;
}

std::string user_key_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/rcpu/key";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "") + "/.config/rcpu/key";
}

std::vector<std::string> default_key_paths() {
  if (const char* env = std::getenv("RCPU_KEY_FILE"); env && *env) return {env};
  return {user_key_path(), "/etc/rcpu/key"};
}

std::optional<std::string> find_default_key_file() {
  if (const char* env = std::getenv("RCPU_KEY_FILE"); env && *env) return std::string(env);
  for (const std::string& p : default_key_paths()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return p;
  }
  return std::nullopt;
}

}  // namespace rcpu::security
