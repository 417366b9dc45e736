// `rcpu run` reading a program before it starts (src/cli/run_plan.h): the ELF reader, the search
// the dynamic linker would make, and the decision, on real programs built by tests/shim/ (one
// dgemm_ program linked with -lblas, against libopenblas.so.0, with OpenBLAS linked in statically,
// and with an RPATH to the system folder) and on start-up scripts written here.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "cli/elf_file.h"
#include "cli/library_search.h"
#include "cli/run_plan.h"

#ifdef RCPU_RUN_GEMM_DIR

namespace rcpu::cli {
namespace {

namespace fs = std::filesystem;

std::string program(const char* name) { return std::string(RCPU_RUN_GEMM_DIR) + "/run_gemm_" + name; }
const std::set<std::string> kMarkers = {"dgemm_", "cblas_dgemm"};

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const LoadedLibrary* find_lib(const std::vector<LoadedLibrary>& libs, const std::string& name) {
  for (const auto& l : libs)
    if (l.name == name) return &l;
  return nullptr;
}

RunRequest request(const std::string& prog) {
  RunRequest r;
  r.program = prog;
  r.path_env = "/usr/bin:/bin";
  r.shim_dir = RCPU_SHIM_DIR;
  r.ld_library_path = RCPU_SHIM_DIR;
  return r;
}

// A file in a fresh temporary folder, removed with it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rcpu-run-plan-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text, bool executable = true) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), executable ? 0755 : 0644);
    return path;
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

TEST(ElfFile, ReadsWhatAProgramLinkedWithLblasNeeds) {
  std::string error;
  const auto elf = read_elf(program("blas"), kMarkers, &error);
  ASSERT_TRUE(elf) << error;
  EXPECT_TRUE(elf->is_64);
  EXPECT_TRUE(elf->dynamic);
  EXPECT_NE(elf->interpreter.find("ld-linux"), std::string::npos) << elf->interpreter;
  EXPECT_TRUE(has(elf->needed, "libblas.so.3"));
  EXPECT_TRUE(has(elf->needed, "libc.so.6"));
  EXPECT_TRUE(elf->defined.empty()) << "it calls dgemm_, it does not define it";
  EXPECT_TRUE(elf->rpath.empty());
}

TEST(ElfFile, ReadsTheVendorNameAndTheRpath) {
  const auto openblas = read_elf(program("openblas"), kMarkers, nullptr);
  ASSERT_TRUE(openblas);
  EXPECT_TRUE(has(openblas->needed, "libopenblas.so.0"));
  EXPECT_FALSE(has(openblas->needed, "libblas.so.3"));
  const auto rpath = read_elf(program("rpath"), {}, nullptr);
  ASSERT_TRUE(rpath);
  ASSERT_EQ(rpath->rpath.size(), 1u);
  EXPECT_TRUE(rpath->runpath.empty()) << "--disable-new-dtags gives DT_RPATH";
  EXPECT_TRUE(fs::exists(fs::path(rpath->rpath[0]) / "libblas.so.3")) << rpath->rpath[0];
}

TEST(ElfFile, SeesAStaticBlasItDefines) {
  const auto elf = read_elf(program("static"), kMarkers, nullptr);
  ASSERT_TRUE(elf);
  EXPECT_TRUE(elf->defined.count("dgemm_"));
  for (const auto& n : elf->needed) EXPECT_EQ(library_kind(n), LibraryKind::other) << n;
}

TEST(ElfFile, ReadsALibrarysSoname) {
  const auto elf = read_elf(std::string(RCPU_SHIM_DIR) + "/librcpu.so", kMarkers, nullptr);
  ASSERT_TRUE(elf);
  EXPECT_FALSE(elf->soname.empty());
  EXPECT_TRUE(elf->defined.count("dgemm_")) << "the shim defines the BLAS";
}

TEST(ElfFile, RefusesWhatIsNotElfAndTruncatedFiles) {
  TempDir tmp;
  std::string error;
  EXPECT_FALSE(read_elf(tmp.write("text", "#!/bin/sh\necho hi\n"), {}, &error));
  EXPECT_EQ(error, "not an ELF file");
  EXPECT_FALSE(read_elf(tmp.path() + "/missing", {}, &error));
  EXPECT_FALSE(is_elf(tmp.path() + "/text"));
  EXPECT_TRUE(is_elf(program("blas")));
  // Every prefix of a real program either reads or fails cleanly (no read past the end).
  std::ifstream in(program("blas"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t n : {std::size_t(20), std::size_t(64), std::size_t(100), std::size_t(700), bytes.size() / 2}) {
    const std::string cut = tmp.write("cut", bytes.substr(0, n));
    read_elf(cut, kMarkers, &error);
  }
}

TEST(LibrarySearch, LdLibraryPathBringsInTheShim) {
  const std::string prog = program("blas");
  const auto elf = read_elf(prog, {}, nullptr);
  ASSERT_TRUE(elf);
  const auto with = needed_closure(prog, *elf, system_search_settings(RCPU_SHIM_DIR));
  const LoadedLibrary* blas = find_lib(with, "libblas.so.3");
  ASSERT_TRUE(blas);
  EXPECT_EQ(fs::canonical(fs::path(blas->path).parent_path()), fs::canonical(RCPU_SHIM_DIR));
  EXPECT_EQ(blas->found_via, "LD_LIBRARY_PATH");
  const LoadedLibrary* libc = find_lib(with, "libc.so.6");
  ASSERT_TRUE(libc);
  EXPECT_FALSE(libc->path.empty());
  // Without it, the system's.
  const auto without = needed_closure(prog, *elf, system_search_settings(""));
  blas = find_lib(without, "libblas.so.3");
  ASSERT_TRUE(blas);
  EXPECT_NE(fs::canonical(fs::path(blas->path).parent_path()), fs::canonical(RCPU_SHIM_DIR));
  EXPECT_TRUE(blas->found_via == "ld.so.conf" || blas->found_via == "default") << blas->found_via;
  // Each library once, though several need libc.
  EXPECT_EQ(std::count_if(with.begin(), with.end(), [](const LoadedLibrary& l) { return l.name == "libc.so.6"; }), 1);
}

TEST(LibrarySearch, RpathComesAheadOfLdLibraryPath) {
  const std::string prog = program("rpath");
  const auto elf = read_elf(prog, {}, nullptr);
  ASSERT_TRUE(elf);
  const auto closure = needed_closure(prog, *elf, system_search_settings(RCPU_SHIM_DIR));
  const LoadedLibrary* blas = find_lib(closure, "libblas.so.3");
  ASSERT_TRUE(blas);
  EXPECT_EQ(blas->found_via, "RPATH");
  EXPECT_EQ(fs::path(blas->path).parent_path(), fs::path(elf->rpath[0]));
}

TEST(LibrarySearch, ReadsLdSoConfAndItsIncludes) {
  TempDir tmp;
  fs::create_directory(tmp.path() + "/conf.d");
  tmp.write("conf.d/b.conf", "/opt/b/lib\n", false);
  tmp.write("conf.d/a.conf", "# a comment\n/opt/a/lib   # trailing\n\n", false);
  const std::string main = tmp.write("ld.so.conf", "/first\ninclude conf.d/*.conf\n/last\n", false);
  EXPECT_EQ(read_ld_so_conf(main), (std::vector<std::string>{"/first", "/opt/a/lib", "/opt/b/lib", "/last"}));
}

TEST(RunPlan, ClassifiesLibraryNames) {
  EXPECT_EQ(library_kind("libblas.so.3"), LibraryKind::shim_name);
  EXPECT_EQ(library_kind("libfftw3f_threads.so.3"), LibraryKind::shim_name);
  for (const char* vendor : {"libopenblas.so.0", "libopenblasp-r0.3.21.so", "libmkl_rt.so.2", "libblis.so.4",
                             "libflexiblas.so.3", "libsatlas.so.3", "libRblas.so", "libblas.so"})
    EXPECT_EQ(library_kind(vendor), LibraryKind::vendor_blas) << vendor;
  for (const char* ilp64 : {"libopenblas64_.so.0", "libblas64.so.3", "libmkl_intel_ilp64.so.2"})
    EXPECT_EQ(library_kind(ilp64), LibraryKind::ilp64_blas) << ilp64;
  for (const char* other : {"libc.so.6", "liblapacke.so.3", "libgfortran.so.5", "libm.so.6"})
    EXPECT_EQ(library_kind(other), LibraryKind::other) << other;
}

TEST(RunPlan, LdLibraryPathAloneForLibblas) {
  const RunPlan plan = plan_run(request(program("blas")));
  EXPECT_EQ(plan.path, program("blas"));
  EXPECT_FALSE(plan.preload);
  EXPECT_EQ(plan.message, "");
}

TEST(RunPlan, PreloadsForAVendorBlasUnlessTold) {
  RunRequest r = request(program("openblas"));
  RunPlan plan = plan_run(r);
  EXPECT_TRUE(plan.preload);
  EXPECT_EQ(plan.message, "run_gemm_openblas links libopenblas.so.0, not libblas.so.3: preloading the shim");
  r.allow_preload = false;
  plan = plan_run(r);
  EXPECT_FALSE(plan.preload);
  EXPECT_EQ(plan.message,
            "run_gemm_openblas links libopenblas.so.0, not libblas.so.3: nothing will be offloaded (--no-preload)");
  r = request(program("rpath"));
  plan = plan_run(r);
  EXPECT_TRUE(plan.preload);
  EXPECT_NE(plan.message.find("(RPATH) ahead of LD_LIBRARY_PATH: preloading the shim"), std::string::npos)
      << plan.message;
  // --preload given: preloaded, nothing said.
  r.force_preload = true;
  plan = plan_run(r);
  EXPECT_TRUE(plan.preload);
  EXPECT_EQ(plan.message, "");
}

TEST(RunPlan, SaysNothingCanBeOffloadedFromAStaticBlas) {
  const RunPlan plan = plan_run(request(program("static")));
  EXPECT_FALSE(plan.preload);
  EXPECT_EQ(plan.message,
            "run_gemm_static has its BLAS linked in (it defines dgemm_ itself): nothing will be offloaded");
}

TEST(RunPlan, SaysAStaticProgramCannotLoadTheShim) {
  // Debian's ldconfig is a static-pie program: a dynamic section, but no interpreter to load anything.
  const std::string ldconfig = "/sbin/ldconfig";
  const auto elf = read_elf(ldconfig, {}, nullptr);
  if (!elf || !elf->interpreter.empty()) GTEST_SKIP() << "no statically linked /sbin/ldconfig here";
  const RunPlan plan = plan_run(request(ldconfig));
  EXPECT_FALSE(plan.preload);
  EXPECT_EQ(plan.message, "ldconfig is linked statically: it cannot load the shim, nothing will be offloaded");
}

TEST(RunPlan, FindsTheProgramAlongPath) {
  RunRequest r = request("run_gemm_openblas");
  r.path_env = std::string("/nonexistent:") + RCPU_RUN_GEMM_DIR;
  const RunPlan plan = plan_run(r);
  EXPECT_EQ(plan.path, std::string(RCPU_RUN_GEMM_DIR) + "/run_gemm_openblas");
  EXPECT_TRUE(plan.preload);
  EXPECT_EQ(find_program("no-such-program-anywhere", "/usr/bin:/bin"), "");
  EXPECT_EQ(plan_run(request("no-such-program-anywhere")).message, "");
}

TEST(RunPlan, StartUpScripts) {
  TempDir tmp;
  // R's front end sources etc/ldpaths, which sets LD_LIBRARY_PATH from R_LD_LIBRARY_PATH.
  const std::string r_script = tmp.write("R",
                                         "#!/bin/bash\n# Shell wrapper for R executable.\n"
                                         "R_HOME_DIR=/usr/lib/R\n. \"${R_HOME}/etc${R_ARCH}/ldpaths\"\n"
                                         "exec \"${R_binary}\" \"$@\"\n");
  RunPlan plan = plan_run(request(r_script));
  EXPECT_TRUE(plan.preload);
  EXPECT_EQ(plan.message, "R is a start-up script that resets LD_LIBRARY_PATH: preloading the shim");
  const std::string assigns = tmp.write("wrap", "#!/bin/sh\nexport LD_LIBRARY_PATH=/opt/lib\nexec \"$@\"\n");
  EXPECT_TRUE(plan_run(request(assigns)).preload);
  // A script that leaves LD_LIBRARY_PATH alone, or one run by python: LD_LIBRARY_PATH only, nothing said.
  const std::string plain = tmp.write("plain", "#!/bin/sh\necho \"$LD_LIBRARY_PATH\"\nexec \"$@\"\n");
  plan = plan_run(request(plain));
  EXPECT_FALSE(plan.preload);
  EXPECT_EQ(plan.message, "");
  const std::string py = tmp.write("tool.py", "#!/usr/bin/env python3\nimport numpy\n");
  plan = plan_run(request(py));
  EXPECT_FALSE(plan.preload);
  EXPECT_EQ(plan.message, "");
  EXPECT_FALSE(plan.explain.empty());
}

}  // namespace
}  // namespace rcpu::cli

#endif  // RCPU_RUN_GEMM_DIR
