// How `rcpu run` brings the shim into a program, decided before the program starts by reading it
// (cli/elf_file.h) and what the dynamic linker will load for it (cli/library_search.h):
//   - it loads libblas.so.3, liblapack.so.3, libcblas.so.3 or libfftw3*.so.3 by those names, found
//     through LD_LIBRARY_PATH: LD_LIBRARY_PATH alone brings the shim in; nothing is said;
//   - it needs a BLAS by another name (libopenblas.so.0, libmkl_rt.so.2, libblis.so.4, libflexiblas.so.3,
//     R's libRblas.so, ...) or finds one of those names elsewhere first (DT_RPATH): the shim is
//     preloaded too (LD_PRELOAD; its symbols win by interposition), said in one line;
//   - a 64-bit-integer BLAS (libopenblas64.so.0, ...), a BLAS linked into the program itself, or a
//     statically linked program: nothing can be offloaded, said in one line;
//   - a shell start-up script that resets LD_LIBRARY_PATH (R's `R`, through its etc/ldpaths):
//     preloaded, said in one line; another script, or a program that loads no BLAS at start-up
//     (python, which opens libraries at run time): LD_LIBRARY_PATH, nothing said.
#pragma once

#include <string>
#include <vector>

namespace rcpu::cli {

struct RunRequest {
  std::string program;          // argv[0] of the program, as given
  std::string path_env;         // PATH, for a program named without a '/'
  std::string shim_dir;         // where librcpu.so and its sonames are
  std::string ld_library_path;  // LD_LIBRARY_PATH as the program will get it (the shim folder first)
  bool allow_preload = true;    // false: --no-preload
  bool force_preload = false;   // --preload
};

struct RunPlan {
  std::string path;                  // the program found (empty: not found; exec will say so)
  bool preload = false;              // LD_PRELOAD the shim
  std::string message;               // one line for stderr, without "rcpu run: "; empty: say nothing
  std::vector<std::string> explain;  // what was found and decided, for --explain
};

RunPlan plan_run(const RunRequest& request);

// The file execvp would run for `name`: `name` itself if it has a '/', else the first executable
// regular file of that name along `path_env`. Empty if none.
std::string find_program(const std::string& name, const std::string& path_env);

// Which kind of library a DT_NEEDED name is.
enum class LibraryKind { other, shim_name, vendor_blas, ilp64_blas };
LibraryKind library_kind(const std::string& name);

}  // namespace rcpu::cli
