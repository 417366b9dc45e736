#include "cli/run_plan.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

#include "cli/elf_file.h"
#include "cli/library_search.h"

namespace fs = std::filesystem;

namespace rcpu::cli {
namespace {

// Functions whose definition in the program itself means a BLAS (or FFTW) was linked into it.
const std::set<std::string>& marker_functions() {
  static const std::set<std::string> names = {"dgemm_",      "sgemm_",  "zgemm_",       "cgemm_",       "cblas_dgemm",
                                              "cblas_sgemm", "dgetrf_", "fftw_execute", "fftwf_execute"};
  return names;
}

std::string base_name(const std::string& path) { return fs::path(path).filename().string(); }

std::string same_dir_key(const std::string& dir) {
  std::error_code ec;
  const fs::path p = fs::canonical(dir, ec);
  return ec ? dir : p.string();
}

// The script's text, up to 256 KiB (R's is 8 KiB).
std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s(256 * 1024, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

// The interpreter of a "#!" line and its first word; "/usr/bin/env python3" gives python3.
std::string script_interpreter(const std::string& text) {
  std::istringstream line(
      text.substr(2, text.find('\n') == std::string::npos ? std::string::npos : text.find('\n') - 2));
  std::string interp, word;
  line >> interp;
  if (base_name(interp) == "env") {
    while (line >> word)
      if (word[0] != '-' && word.find('=') == std::string::npos) return word;
    return "";
  }
  return interp;
}

bool is_shell(const std::string& interp) {
  static const std::set<std::string> shells = {"sh", "bash", "dash", "ksh", "zsh", "mksh", "ash", "busybox"};
  return shells.count(base_name(interp)) > 0;
}

// A start-up script that sets LD_LIBRARY_PATH itself, so the shim folder may no longer come first:
// R's (`. "${R_HOME}/etc${R_ARCH}/ldpaths"`, which sets it from R_LD_LIBRARY_PATH), or any that
// assigns it.
bool resets_ld_library_path(const std::string& text) {
  if (text.find("/ldpaths") != std::string::npos || text.find("R_LD_LIBRARY_PATH") != std::string::npos) return true;
  // An assignment `LD_LIBRARY_PATH=`, `export LD_LIBRARY_PATH=` or `declare -x LD_LIBRARY_PATH=`
  // at the start of a word (not FOO_LD_LIBRARY_PATH=).
  const auto word_start = [&](std::size_t at) {
    return at == 0 || std::string_view(" \t\n;&|(`").find(text[at - 1]) != std::string_view::npos;
  };
  const auto after_prefix = [&](std::size_t at, std::string_view prefix) -> std::size_t {
    std::size_t i = at;  // skip the blanks between the prefix and the name, then the prefix itself
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t')) --i;
    if (i == at || i < prefix.size() || text.compare(i - prefix.size(), prefix.size(), prefix) != 0) return at;
    return i - prefix.size();
  };
  const std::string_view name = "LD_LIBRARY_PATH=";
  for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    std::size_t start = after_prefix(at, "export");
    if (start == at) start = after_prefix(at, "declare -x");
    if (word_start(at) || (start != at && word_start(start))) return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void plan_elf(const RunRequest& r, const std::string& path, const std::string& shown, RunPlan* plan) {
  std::string error;
  const auto elf = read_elf(path, marker_functions(), &error);
  if (!elf) {
    plan->explain.push_back(path + ": " + error + ": LD_LIBRARY_PATH only");
    return;
  }
  if (!elf->dynamic || elf->interpreter.empty()) {
    plan->message = shown + " is linked statically: it cannot load the shim, nothing will be offloaded";
    return;
  }
  plan->explain.push_back(path + ": ELF, interpreter " + elf->interpreter + ", needs " + join(elf->needed));
  const std::string shim_key = same_dir_key(r.shim_dir);
  const auto closure = needed_closure(path, *elf, system_search_settings(r.ld_library_path));
  std::vector<std::string> vendor, elsewhere, ilp64;
  bool shim_loaded = false;
  for (const auto& lib : closure) {
    const LibraryKind kind = library_kind(lib.name);
    if (kind == LibraryKind::other) continue;
    plan->explain.push_back("  " + lib.name + " -> " + (lib.path.empty() ? "(not found)" : lib.path) +
                            (lib.found_via.empty() ? "" : " (" + lib.found_via + ")") + ", needed by " +
                            base_name(lib.needed_by));
    if (lib.path.empty()) continue;
    if (kind == LibraryKind::vendor_blas) vendor.push_back(lib.name);
    if (kind == LibraryKind::ilp64_blas) ilp64.push_back(lib.name);
    if (kind == LibraryKind::shim_name) {
      if (same_dir_key(fs::path(lib.path).parent_path().string()) == shim_key)
        shim_loaded = true;
      else
        elsewhere.push_back(lib.name + " from " + fs::path(lib.path).parent_path().string() + " (" + lib.found_via +
                            ")");
    }
  }
  // A libblas.so.3 found elsewhere first is the cause: the vendor BLAS it needs in turn is not.
  std::string why;
  if (!elsewhere.empty())
    why = shown + " loads " + join(elsewhere) + " ahead of LD_LIBRARY_PATH";
  else if (!vendor.empty())
    why = shown + " links " + join(vendor) + ", not libblas.so.3";
  if (!why.empty()) {
    plan->preload = r.allow_preload;
    if (r.force_preload)
      plan->explain.push_back(why + ": preloading the shim (--preload)");
    else
      plan->message = why + (r.allow_preload ? ": preloading the shim" : ": nothing will be offloaded (--no-preload)");
    return;
  }
  if (!ilp64.empty() && !shim_loaded) {
    plan->message = shown + " links " + join(ilp64) +
                    ", a 64-bit-integer BLAS; rcpu stands in for the 32-bit one only: nothing will be offloaded";
    return;
  }
  if (shim_loaded) {
    plan->explain.push_back("the shim comes in through LD_LIBRARY_PATH");
    return;
  }
  if (!elf->defined.empty()) {
    plan->message =
        shown + " has its BLAS linked in (it defines " + *elf->defined.begin() + " itself): nothing will be offloaded";
    return;
  }
  plan->explain.push_back(
      "no BLAS among the libraries it loads at start-up; one it opens later by a name the "
      "shim stands in for will be the shim");
}

}  // namespace

LibraryKind library_kind(const std::string& name) {
  static const std::set<std::string> shim = {"libblas.so.3",           "libcblas.so.3",     "liblapack.so.3",
                                             "libfftw3.so.3",          "libfftw3f.so.3",    "libfftw3_threads.so.3",
                                             "libfftw3f_threads.so.3", "libfftw3_omp.so.3", "libfftw3f_omp.so.3"};
  // What follows lib<stem> in a file name, if the name starts so; nullopt otherwise.
  const auto after = [](const std::string& base, std::string_view stem) -> std::optional<std::string_view> {
    if (base.rfind("lib", 0) != 0 || base.compare(3, stem.size(), stem) != 0) return std::nullopt;
    return std::string_view(base).substr(3 + stem.size());
  };
  // 64-bit-integer builds: lib<stem><anything>.so..., e.g. libopenblas64_.so.0, libblas64.so.3,
  // libmkl_intel_ilp64.so.2.
  const auto ilp64 = [&](const std::string& base) {
    const auto so_later = [&](std::string_view stem) {
      const auto rest = after(base, stem);
      return rest && rest->find(".so") != std::string_view::npos;
    };
    for (std::string_view lib : {"openblas", "blas", "cblas", "lapack", "flexiblas", "blis"})
      for (std::string_view suffix : {"64", "_64", "-ilp64"})
        if (so_later(std::string(lib) + std::string(suffix))) return true;
    for (std::string_view lib : {"mkl_intel_ilp64", "mkl_gf_ilp64"})
      if (const auto rest = after(base, lib); rest && rest->rfind(".so", 0) == 0) return true;
    return so_later("scipy_openblas64");
  };
  // Vendor BLAS names: lib<stem>.so... or lib<stem>[-_.]<anything>.so..., e.g. libopenblas.so.0,
  // libopenblasp-r0.3.21.so, libmkl_rt.so.2, libblis.so.4.
  const auto vendor = [&](const std::string& base) {
    for (std::string_view lib :
         {"openblas",  "openblasp", "openblaso", "mkl_rt",         "mkl_intel_lp64", "mkl_gf_lp64", "mkl_core",
          "blis",      "blis-mt",   "flexiblas", "atlas",          "satlas",         "tatlas",      "f77blas",
          "ptf77blas", "ptcblas",   "essl",      "armpl",          "armpl_lp64",     "nvblas",      "Rblas",
          "Rlapack",   "goto2",     "acml",      "scipy_openblas", "blas",           "cblas",       "lapack"}) {
      const auto rest = after(base, lib);
      if (!rest) continue;
      if (rest->rfind(".so", 0) == 0) return true;
      if (!rest->empty() && std::string_view("-_.").find((*rest)[0]) != std::string_view::npos &&
          rest->find(".so", 1) != std::string_view::npos)
        return true;
    }
    return false;
  };
  if (shim.count(name)) return LibraryKind::shim_name;
  const std::string base = base_name(name);
  if (shim.count(base)) return LibraryKind::shim_name;
  if (ilp64(base)) return LibraryKind::ilp64_blas;
  if (vendor(base)) return LibraryKind::vendor_blas;
  return LibraryKind::other;
}

std::string find_program(const std::string& name, const std::string& path_env) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (fs::path(dir.empty() ? "." : dir) / name).string();
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

RunPlan plan_run(const RunRequest& r) {
  RunPlan plan;
  plan.path = find_program(r.program, r.path_env);
  plan.preload = r.force_preload;
  if (plan.path.empty() || ::access(plan.path.c_str(), X_OK) != 0) {
    plan.path.clear();
    return plan;
  }
  const std::string shown = base_name(r.program);
  const std::string text = is_elf(plan.path) ? std::string() : read_text(plan.path);
  if (text.rfind("#!", 0) == 0) {
    const std::string interp = script_interpreter(text);
    plan.explain.push_back(plan.path + ": a script run by " + (interp.empty() ? "(nothing)" : interp));
    if (is_shell(interp) && resets_ld_library_path(text)) {
      const std::string why = shown + " is a start-up script that resets LD_LIBRARY_PATH";
      plan.preload = r.allow_preload || r.force_preload;
      if (r.force_preload)
        plan.explain.push_back(why + ": preloading the shim (--preload)");
      else
        plan.message = why + (r.allow_preload ? ": preloading the shim" : ": it may not load the shim (--no-preload)");
    } else if (is_shell(interp) || interp.empty()) {
      plan.explain.push_back("what it starts is not known ahead: LD_LIBRARY_PATH only");
    } else {
      // A script of another interpreter (python3, octave-cli, Rscript): that interpreter is the program.
      const std::string interp_path = find_program(interp, r.path_env);
      if (!interp_path.empty()) plan_elf(r, interp_path, shown + " (run by " + base_name(interp) + ")", &plan);
    }
    plan.preload = plan.preload || r.force_preload;
    return plan;
  }
  plan_elf(r, plan.path, shown, &plan);
  plan.preload = plan.preload || r.force_preload;
  return plan;
}

}  // namespace rcpu::cli
