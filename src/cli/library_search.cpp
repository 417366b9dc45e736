#include "cli/library_search.h"

#include <glob.h>

#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace rcpu::cli {
namespace {

std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  // ld.so reads an empty entry as the current folder.
  while (std::getline(in, part, ':')) out.push_back(part.empty() ? "." : part);
  return out;
}

void read_conf(const std::string& file, std::vector<std::string>* dirs, std::set<std::string>* seen, int depth) {
  if (depth > 8 || !seen->insert(file).second) return;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string w;
    if (!(words >> w)) continue;
    if (w == "include") {
      std::string pattern;
      while (words >> pattern) {
        if (pattern[0] != '/') pattern = (fs::path(file).parent_path() / pattern).string();
        glob_t g{};
        if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
          for (std::size_t i = 0; i < g.gl_pathc; ++i) read_conf(g.gl_pathv[i], dirs, seen, depth + 1);
        ::globfree(&g);
      }
    } else if (w[0] == '/') {
      dirs->push_back(w);
    }
  }
}

// $ORIGIN and ${ORIGIN} replaced by `origin`; other dynamic string tokens are left, so such a
// folder matches nothing, as it would not here.
std::string expand_origin(std::string dir, const std::string& origin) {
  for (const char* token : {"${ORIGIN}", "$ORIGIN"}) {
    for (std::size_t at; (at = dir.find(token)) != std::string::npos;) dir.replace(at, std::strlen(token), origin);
  }
  return dir;
}

std::vector<std::string> expanded(const std::vector<std::string>& dirs, const std::string& object_path) {
  const std::string origin = fs::path(object_path).parent_path().string();
  std::vector<std::string> out;
  for (const auto& d : dirs)
    if (!d.empty()) out.push_back(expand_origin(d, origin));
  return out;
}

struct Object {
  std::string path;
  ElfFile elf;
  std::vector<std::string> rpath_chain;  // RPATH folders searched for what it needs, unless it has RUNPATH
};

// A file in `dir` named `name` that ld.so would accept for `program`: an ELF of the same class and machine.
bool acceptable(const std::string& candidate, const ElfFile& program, ElfFile* out) {
  std::error_code ec;
  if (!fs::is_regular_file(candidate, ec)) return false;
  std::string error;
  auto elf = read_elf(candidate, {}, &error);
  if (!elf || elf->is_64 != program.is_64 || elf->machine != program.machine) return false;
  *out = std::move(*elf);
  return true;
}

}  // namespace

std::vector<std::string> read_ld_so_conf(const std::string& conf) {
  std::vector<std::string> dirs;
  std::set<std::string> seen;
  read_conf(conf, &dirs, &seen, 0);
  return dirs;
}

SearchSettings system_search_settings(const std::string& ld_library_path) {
  SearchSettings s;
  if (!ld_library_path.empty()) s.ld_library_path = split_colons(ld_library_path);
  s.conf_dirs = read_ld_so_conf();
  // The dynamic linker's built-in folders: the multiarch ones where the distribution has them
  // (Debian's /usr/lib/x86_64-linux-gnu; RCPU_LIBRARY_ARCHITECTURE is CMake's reading of the
  // toolchain, empty elsewhere), then lib64 on 64-bit targets (Fedora, RHEL), then lib.
  const std::string arch = RCPU_LIBRARY_ARCHITECTURE;
  if (!arch.empty()) s.default_dirs = {"/lib/" + arch, "/usr/lib/" + arch};
  if (sizeof(void*) == 8) s.default_dirs.insert(s.default_dirs.end(), {"/lib64", "/usr/lib64"});
  s.default_dirs.insert(s.default_dirs.end(), {"/lib", "/usr/lib"});
  return s;
}

std::vector<LoadedLibrary> needed_closure(const std::string& program, const ElfFile& elf, const SearchSettings& s) {
  std::vector<LoadedLibrary> out;
  std::map<std::string, std::string> loaded;  // a name or soname already loaded -> its path
  std::set<std::string> loaded_paths;
  std::deque<Object> queue;
  const std::string main_path = fs::weakly_canonical(program).string();
  queue.push_back({main_path, elf, elf.runpath.empty() ? expanded(elf.rpath, main_path) : std::vector<std::string>{}});
  while (!queue.empty()) {
    Object obj = std::move(queue.front());
    queue.pop_front();
    const std::vector<std::string> runpath = expanded(obj.elf.runpath, obj.path);
    for (const std::string& name : obj.elf.needed) {
      if (loaded.count(name)) continue;
      LoadedLibrary lib{name, "", obj.path, ""};
      ElfFile found;
      auto try_dirs = [&](const std::vector<std::string>& dirs, const char* via) {
        for (const auto& d : dirs) {
          const std::string candidate = (fs::path(d) / name).string();
          if (acceptable(candidate, elf, &found)) {
            lib.path = candidate;
            lib.found_via = via;
            return true;
          }
        }
        return false;
      };
      if (name.find('/') != std::string::npos) {
        if (acceptable(name, elf, &found)) {
          lib.path = name;
          lib.found_via = "path";
        }
      } else {
        (runpath.empty() && try_dirs(obj.rpath_chain, "RPATH")) || try_dirs(s.ld_library_path, "LD_LIBRARY_PATH") ||
            try_dirs(runpath, "RUNPATH") || try_dirs(s.conf_dirs, "ld.so.conf") || try_dirs(s.default_dirs, "default");
      }
      loaded[name] = lib.path;
      out.push_back(lib);
      if (lib.path.empty()) continue;
      // The same file under another name (a symlink): loaded once.
      std::error_code ec;
      const std::string real = fs::canonical(lib.path, ec).string();
      if (!found.soname.empty()) loaded.emplace(found.soname, lib.path);
      if (!loaded_paths.insert(ec ? lib.path : real).second) continue;
      // Its RPATH (ignored when it has RUNPATH), then those of the objects that loaded it.
      std::vector<std::string> chain;
      if (found.runpath.empty()) chain = expanded(found.rpath, lib.path);
      chain.insert(chain.end(), obj.rpath_chain.begin(), obj.rpath_chain.end());
      queue.push_back({lib.path, std::move(found), std::move(chain)});
    }
  }
  return out;
}

}  // namespace rcpu::cli
