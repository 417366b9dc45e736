#include "cli/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cstring>

namespace rcpu::cli {
namespace {

// The file, mapped read-only; every read is bounds-checked against its size.
class Mapping {
 public:
  explicit Mapping(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return;
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return;
    void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) return;
    data_ = static_cast<const unsigned char*>(p);
    size_ = static_cast<std::size_t>(st.st_size);
  }
  ~Mapping() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  bool ok() const { return data_ != nullptr; }
  std::size_t size() const { return size_; }
  bool has(std::uint64_t off, std::uint64_t len) const { return off <= size_ && len <= size_ - off; }
  template <class T>
  bool get(std::uint64_t off, T* out) const {
    if (!has(off, sizeof(T))) return false;
    std::memcpy(out, data_ + off, sizeof(T));
    return true;
  }
  // The NUL-terminated string at `off`, no further than `end`; nothing if it runs past.
  std::optional<std::string> str(std::uint64_t off, std::uint64_t end) const {
    if (end > size_) end = size_;
    if (off >= end) return std::nullopt;
    const void* z = std::memchr(data_ + off, 0, end - off);
    if (!z) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(data_ + off),
                       static_cast<const unsigned char*>(z) - (data_ + off));
  }

 private:
  int fd_ = -1;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

std::vector<std::string> split_path(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = s.find(':', start);
    out.push_back(s.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

struct Elf32 {
  using Ehdr = Elf32_Ehdr;
  using Phdr = Elf32_Phdr;
  using Shdr = Elf32_Shdr;
  using Dyn = Elf32_Dyn;
  using Sym = Elf32_Sym;
  static unsigned char st_type(unsigned char info) { return ELF32_ST_TYPE(info); }
};
struct Elf64 {
  using Ehdr = Elf64_Ehdr;
  using Phdr = Elf64_Phdr;
  using Shdr = Elf64_Shdr;
  using Dyn = Elf64_Dyn;
  using Sym = Elf64_Sym;
  static unsigned char st_type(unsigned char info) { return ELF64_ST_TYPE(info); }
};

template <class E>
class Reader {
 public:
  Reader(const Mapping& m, ElfFile* out, std::string* error) : m_(m), out_(*out), error_(*error) {}

  bool run(const std::set<std::string>& wanted) {
    typename E::Ehdr eh;
    if (!m_.get(0, &eh)) return fail("truncated ELF header");
    out_.type = eh.e_type;
    out_.machine = eh.e_machine;
    if (eh.e_phentsize != sizeof(typename E::Phdr) && eh.e_phnum) return fail("unexpected program header size");
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
      typename E::Phdr ph;
      if (!m_.get(eh.e_phoff + std::uint64_t(i) * sizeof ph, &ph)) return fail("truncated program headers");
      phdrs_.push_back(ph);
    }
    for (const auto& ph : phdrs_) {
      if (ph.p_type == PT_INTERP) {
        auto s = m_.str(ph.p_offset, std::uint64_t(ph.p_offset) + ph.p_filesz);
        if (!s) return fail("bad PT_INTERP");
        out_.interpreter = *s;
      } else if (ph.p_type == PT_DYNAMIC) {
        if (!read_dynamic(ph)) return false;
      }
    }
    if (!wanted.empty()) read_symbols(eh, wanted);
    return true;
  }

 private:
  bool fail(const char* why) {
    error_ = why;
    return false;
  }

  // A virtual address's offset in the file, through the PT_LOAD segment that holds it.
  std::optional<std::uint64_t> offset_of(std::uint64_t vaddr) const {
    for (const auto& ph : phdrs_)
      if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz)
        return std::uint64_t(ph.p_offset) + (vaddr - ph.p_vaddr);
    return std::nullopt;
  }

  bool read_dynamic(const typename E::Phdr& ph) {
    out_.dynamic = true;
    std::uint64_t strtab = 0, strsz = 0;
    std::vector<std::pair<std::int64_t, std::uint64_t>> entries;  // (tag, value) of the string entries
    for (std::uint64_t off = ph.p_offset; off + sizeof(typename E::Dyn) <= std::uint64_t(ph.p_offset) + ph.p_filesz;
         off += sizeof(typename E::Dyn)) {
      typename E::Dyn d;
      if (!m_.get(off, &d)) return fail("truncated dynamic section");
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag == DT_STRTAB) strtab = d.d_un.d_ptr;
      if (d.d_tag == DT_STRSZ) strsz = d.d_un.d_val;
      if (d.d_tag == DT_NEEDED || d.d_tag == DT_RUNPATH || d.d_tag == DT_RPATH || d.d_tag == DT_SONAME)
        entries.emplace_back(d.d_tag, d.d_un.d_val);
    }
    if (entries.empty()) return true;
    const std::optional<std::uint64_t> str_off = offset_of(strtab);
    if (!str_off) return fail("DT_STRTAB outside the file");
    for (const auto& [tag, val] : entries) {
      if (val >= strsz) return fail("dynamic string out of range");
      auto s = m_.str(*str_off + val, *str_off + strsz);
      if (!s) return fail("bad dynamic string");
      if (tag == DT_NEEDED) out_.needed.push_back(*s);
      if (tag == DT_RUNPATH) out_.runpath = split_path(*s);
      if (tag == DT_RPATH) out_.rpath = split_path(*s);
      if (tag == DT_SONAME) out_.soname = *s;
    }
    return true;
  }

  // Defined functions among `wanted`, from .dynsym and .symtab (a stripped file has only .dynsym).
  void read_symbols(const typename E::Ehdr& eh, const std::set<std::string>& wanted) {
    if (eh.e_shentsize != sizeof(typename E::Shdr)) return;
    std::vector<typename E::Shdr> sh(eh.e_shnum);
    for (unsigned i = 0; i < eh.e_shnum; ++i)
      if (!m_.get(eh.e_shoff + std::uint64_t(i) * sizeof(typename E::Shdr), &sh[i])) return;
    for (const auto& s : sh) {
      if ((s.sh_type != SHT_SYMTAB && s.sh_type != SHT_DYNSYM) || s.sh_link >= sh.size()) continue;
      if (s.sh_entsize != sizeof(typename E::Sym) || !m_.has(s.sh_offset, s.sh_size)) continue;
      const auto& strs = sh[s.sh_link];
      const std::uint64_t str_end = std::uint64_t(strs.sh_offset) + strs.sh_size;
      for (std::uint64_t off = s.sh_offset; off + sizeof(typename E::Sym) <= std::uint64_t(s.sh_offset) + s.sh_size;
           off += sizeof(typename E::Sym)) {
        typename E::Sym sym;
        if (!m_.get(off, &sym)) break;
        if (sym.st_shndx == SHN_UNDEF || E::st_type(sym.st_info) != STT_FUNC || sym.st_name == 0) continue;
        auto name = m_.str(std::uint64_t(strs.sh_offset) + sym.st_name, str_end);
        if (name && wanted.count(*name)) out_.defined.insert(*name);
      }
    }
  }

  const Mapping& m_;
  ElfFile& out_;
  std::string& error_;
  std::vector<typename E::Phdr> phdrs_;
};

}  // namespace

bool is_elf(const std::string& path) {
  Mapping m(path);
  unsigned char ident[SELFMAG];
  return m.ok() && m.get(0, &ident) && std::memcmp(ident, ELFMAG, SELFMAG) == 0;
}

std::optional<ElfFile> read_elf(const std::string& path, const std::set<std::string>& wanted, std::string* error) {
  std::string ignored;
  if (!error) error = &ignored;
  Mapping m(path);
  if (!m.ok()) {
    *error = "cannot read it";
    return std::nullopt;
  }
  unsigned char ident[EI_NIDENT];
  if (!m.get(0, &ident) || std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    *error = "not an ELF file";
    return std::nullopt;
  }
  const unsigned char host_order = (std::endian::native == std::endian::little) ? ELFDATA2LSB : ELFDATA2MSB;
  if (ident[EI_DATA] != host_order) {
    *error = "ELF of the other byte order";
    return std::nullopt;
  }
  ElfFile out;
  bool ok = false;
  if (ident[EI_CLASS] == ELFCLASS64) {
    out.is_64 = true;
    ok = Reader<Elf64>(m, &out, error).run(wanted);
  } else if (ident[EI_CLASS] == ELFCLASS32) {
    ok = Reader<Elf32>(m, &out, error).run(wanted);
  } else {
    *error = "unknown ELF class";
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace rcpu::cli
