// What the dynamic linker (glibc's ld.so) will load for a program, worked out ahead without
// running it: the DT_NEEDED closure, each name resolved the way ld.so searches (docs/usage in
// README "rcpu run"):
//   1. a name with a '/' is a path;
//   2. DT_RPATH of the object that needs it, then of the objects that loaded it (only while
//      none of them has DT_RUNPATH);
//   3. LD_LIBRARY_PATH (the one `rcpu run` will set);
//   4. DT_RUNPATH of the object that needs it;
//   5. the folders of /etc/ld.so.conf (its `include`s followed), standing in for /etc/ld.so.cache,
//      which ldconfig builds from the same folders;
//   6. the default folders (/lib/<multiarch>, /usr/lib/<multiarch> where the toolchain has a
//      multiarch name, /lib64, /usr/lib64 on 64-bit targets, /lib, /usr/lib).
// A candidate of another ELF class or machine is skipped, as ld.so does. $ORIGIN is expanded.
#pragma once

#include <string>
#include <vector>

#include "cli/elf_file.h"

namespace rcpu::cli {

struct LoadedLibrary {
  std::string name;       // as asked for in DT_NEEDED
  std::string path;       // where it was found; empty: not found (ld.so would refuse to start)
  std::string needed_by;  // the path of the object whose DT_NEEDED named it
  std::string found_via;  // "RPATH", "LD_LIBRARY_PATH", "RUNPATH", "ld.so.conf", "default", "path"
};

struct SearchSettings {
  std::vector<std::string> ld_library_path;  // split, in order
  std::vector<std::string> conf_dirs;        // from ld.so.conf
  std::vector<std::string> default_dirs;
};

// The settings of this system, with `ld_library_path` (a ':'-separated list) as LD_LIBRARY_PATH.
SearchSettings system_search_settings(const std::string& ld_library_path);

// The folders /etc/ld.so.conf names (or `conf`), following `include` globs, in order.
std::vector<std::string> read_ld_so_conf(const std::string& conf = "/etc/ld.so.conf");

// Every library loaded at start-up by `program` (an ELF already read), breadth first as ld.so
// loads them, each once (a later DT_NEEDED of a name already loaded reuses it).
std::vector<LoadedLibrary> needed_closure(const std::string& program, const ElfFile& elf, const SearchSettings& s);

}  // namespace rcpu::cli
