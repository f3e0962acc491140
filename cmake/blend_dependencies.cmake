# Finds blend's dependencies (xtensor, fmt, nlohmann_json for file headers, Threads; optionally
# xtensor-blas and, for blend::config, yaml-cpp). Used by the build (CMakeLists.txt) and, installed, by blendConfig.cmake,
# so consumers find exactly the same packages again.
#
# xtensor-blas's own config runs find_dependency(BLAS) and find_dependency(LAPACK), so it is only
# searched for when BLEND_WITH_BLAS is on (XTENSOR.md, fact 4).
include(CMakeFindDependencyMacro)

macro(blend_find_dependencies)
  find_dependency(xtensor)
  find_dependency(fmt)
  find_dependency(nlohmann_json)
  set(THREADS_PREFER_PTHREAD_FLAG ON)
  find_dependency(Threads)
  if(BLEND_WITH_BLAS)
    find_dependency(xtensor-blas)
  endif()
  if(BLEND_WITH_CONFIG)
    find_dependency(yaml-cpp)   # target `yaml-cpp` (0.7 has no namespaced alias; XTENSOR.md, fact 7)
  endif()
endmacro()
