#include <blend/version.hpp>

#include <cstdio>
#include <cstdlib>

int main() {
    std::printf("blend %s (BLEND_VERSION %d, BLEND_WITH_BLAS %d)\n", blend::version_string, BLEND_VERSION,
                BLEND_WITH_BLAS);
    return EXIT_SUCCESS;
}
