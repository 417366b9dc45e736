/* Loads xerbla_module (argv[1]) with RTLD_LOCAL, as Python loads an extension module, and runs its
 * illegal calls: the module's own xerbla_ must be the handler each reaches. Exit 0 if so. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  void* m = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!m) {
    fprintf(stderr, "%s\n", dlerror());
    return 2;
  }
  int (*run)(void) = (int (*)(void))dlsym(m, "xerbla_module_run");
  const int failures = run ? run() : 99;
  printf("xerbla_local_main: %s\n", failures ? "FAIL" : "ok");
  return failures ? 1 : 0;
}
