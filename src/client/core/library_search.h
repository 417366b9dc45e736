// Finding the REAL libraries (OpenBLAS, reference BLAS/LAPACK, FFTW) without distribution-specific
// paths and without ever finding rcpu itself, which is installed under the same sonames
// (libblas.so.3, liblapack.so.3, libfftw3.so.3 ...) with its folder on LD_LIBRARY_PATH.
//
// The search order (docs/configuration.md, "Local libraries"): the dynamic linker's own search path
// for the program (dlinfo RTLD_DI_SERINFO: LD_LIBRARY_PATH, the program's RUNPATH, the system
// folders ld.so was built with — /usr/lib64 on Fedora, the multiarch folders on Debian), without
// the shim's folder; then the folders pkg-config named when rcpu was configured (compiled in as
// hints: RCPU_HINT_*_DIRS). In each folder the soname itself, then in the given subfolders.
#pragma once

#include <string>
#include <vector>

namespace rcpu::client {

// The shim's own file (the loaded librcpu.so).
std::string shim_path();
// True if `path` is the shim's file (same device and inode, through any symlink).
bool is_shim_file(const std::string& path);
// The folders searched, in order, deduplicated, without the shim's folder. `hints` is a
// colon-separated list (a compiled-in RCPU_HINT_*_DIRS).
std::vector<std::string> library_search_dirs(const char* hints);
// Every existing `dir/[sub/]soname` over library_search_dirs(hints) that is not the shim, in order.
std::vector<std::string> library_candidates(const char* soname, const char* hints,
                                            const std::vector<std::string>& subdirs = {});

}  // namespace rcpu::client
