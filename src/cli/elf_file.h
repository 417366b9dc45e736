// A small reader of ELF files, enough for `rcpu run` to see ahead what the dynamic linker will do
// with a program: its interpreter, its DT_NEEDED libraries, DT_RUNPATH/DT_RPATH, its soname, and
// which of a few named functions it defines itself (in .dynsym or .symtab).
// 32- and 64-bit ELF, in the byte order of this host; anything else is reported as unreadable.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rcpu::cli {

struct ElfFile {
  bool is_64 = false;
  std::uint16_t machine = 0;         // e_machine
  std::uint16_t type = 0;            // e_type (ET_EXEC, ET_DYN)
  bool dynamic = false;              // has a PT_DYNAMIC segment
  std::string interpreter;           // PT_INTERP; empty for a static program or a library
  std::vector<std::string> needed;   // DT_NEEDED, in order
  std::vector<std::string> runpath;  // DT_RUNPATH, split at ':'; $ORIGIN not yet expanded
  std::vector<std::string> rpath;    // DT_RPATH, likewise
  std::string soname;                // DT_SONAME
  std::set<std::string> defined;     // those of the names asked for that it defines (a function, not UNDEF)
};

// Reads `path`. `wanted`: the function names whose definition to look for (may be empty: symbol
// tables are then not read). On failure returns nothing and says why in *error.
std::optional<ElfFile> read_elf(const std::string& path, const std::set<std::string>& wanted, std::string* error);

// True if the file starts with the ELF magic.
bool is_elf(const std::string& path);

}  // namespace rcpu::cli
