// Shared-key files: the secret both rcpud and its clients hold (docs/security.md).
//
// Format: text, one key per line, "<key id> <64 hex digits>" (256 bits); '#' starts a comment.
// The id names the key in the handshake, so a server may accept several keys while they are
// rotated; a client uses the first key of its file. The file must be a regular file that others
// cannot read or write (mode 0600, or 0640 for a group that shares it); anything else is refused
// with the chmod that fixes it, because a key others can read authenticates nobody.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rcpu::security {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kMaxKeyIdBytes = 64;

struct SharedKey {
  std::string id;      // [A-Za-z0-9._-], 1 .. kMaxKeyIdBytes
  std::string secret;  // kKeyBytes bytes
};

struct KeyFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool valid_key_id(const std::string& id);
// The keys of `path`, in file order (at least one). Throws KeyFileError saying what is wrong.
std::vector<SharedKey> load_key_file(const std::string& path);
// The line a key file holds for `key` (with its newline).
std::string key_file_line(const SharedKey& key);
// Writes a new key file at `path` (mode 0600, parent folders 0700 where created) holding a fresh
// random key named `id` (empty: "k" + 8 random hex digits). Refuses to replace an existing file
// unless `replace`. Returns the key. Throws KeyFileError.
SharedKey write_new_key_file(const std::string& path, std::string id, bool replace);

// Where a key is looked for when none is named: $RCPU_KEY_FILE if set (then only there), else
// $XDG_CONFIG_HOME/rcpu/key (default ~/.config/rcpu/key), else /etc/rcpu/key.
std::vector<std::string> default_key_paths();
// The first of default_key_paths() that exists; nothing when none does. When RCPU_KEY_FILE is set
// it is returned whether or not it exists (so a typo gives an error, not silence).
std::optional<std::string> find_default_key_file();
// The path `rcpu keygen` writes by default: $XDG_CONFIG_HOME/rcpu/key or ~/.config/rcpu/key.
std::string user_key_path();

}  // namespace rcpu::security
