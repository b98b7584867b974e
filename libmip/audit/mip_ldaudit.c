/* mip_ldaudit.so: the test stage's LD_AUDIT library (libmip/include/mip/tester.hpp).
 * The dynamic linker calls la_objopen for every object it maps (the engine's libraries, and
 * each MEX file a test loads); the path is appended as one line to the file named by
 * MIP_TEST_LOADED_OBJECTS. Only async-signal-safe libc calls: this runs inside the linker.
 * Built with _GNU_SOURCE (libmip/CMakeLists.txt) for <link.h>'s auditing interface. */
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned int la_version(unsigned int version) {
    return version < LAV_CURRENT ? version : LAV_CURRENT;
}

unsigned int la_objopen(struct link_map* map, Lmid_t lmid, uintptr_t* cookie) {
    (void)lmid;
    (void)cookie;
    const char* file = getenv("MIP_TEST_LOADED_OBJECTS");
    if (file == NULL || map == NULL || map->l_name == NULL || map->l_name[0] == '\0') {
        return 0;
    }
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return 0;
    }
    size_t n = strlen(map->l_name);
    char line[4096];
    if (n + 1 <= sizeof line) { /* one write: lines of concurrent processes stay whole */
        memcpy(line, map->l_name, n);
        line[n] = '\n';
        (void)!write(fd, line, n + 1);
    }
    close(fd);
    return 0;
}
