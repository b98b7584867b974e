# libdeflate, pinned to exactly 1.14: the .mhl writer's output bytes (and so every archive's
# sha256) belong to one deflate implementation and version (mip-format.md, Determinism).
#
# Used by the build (cmake/MipDependencies.cmake) and installed next to libmipConfig.cmake, which
# includes it only when libmip.a does not carry libdeflate's objects itself.
#
# Sets:
#   MIP_LIBDEFLATE_ERROR   "" when found, else the reason (callers fail with it)
#   MIP_LIBDEFLATE_STATIC  path of libdeflate.a, or "" (then the shared library is linked)
# Defines the imported target mip::libdeflate (when found): the static archive if there is one,
# else the shared library. Debian bookworm: libdeflate-dev 1.14 ships both.
find_package(PkgConfig REQUIRED)
set(MIP_LIBDEFLATE_ERROR "")
set(MIP_LIBDEFLATE_STATIC "")
pkg_check_modules(LIBDEFLATE QUIET IMPORTED_TARGET libdeflate=1.14)
if(NOT LIBDEFLATE_FOUND)
  pkg_check_modules(_MIP_ANY_LIBDEFLATE QUIET libdeflate)
  if(_MIP_ANY_LIBDEFLATE_FOUND)
    set(MIP_LIBDEFLATE_ERROR
        "libdeflate ${_MIP_ANY_LIBDEFLATE_VERSION} found, but libmip needs exactly 1.14: .mhl "
        "archive bytes depend on the deflate implementation (install Debian bookworm's "
        "libdeflate-dev)")
  else()
    set(MIP_LIBDEFLATE_ERROR "libdeflate 1.14 not found by pkg-config: install libdeflate-dev")
  endif()
  return()
endif()
find_library(_mip_libdeflate_a NAMES libdeflate.a HINTS ${LIBDEFLATE_LIBRARY_DIRS} NO_CACHE)
if(_mip_libdeflate_a)
  set(MIP_LIBDEFLATE_STATIC "${_mip_libdeflate_a}")
endif()
if(NOT TARGET mip::libdeflate)
  if(MIP_LIBDEFLATE_STATIC)
    add_library(mip::libdeflate STATIC IMPORTED)
    set_target_properties(mip::libdeflate PROPERTIES
      IMPORTED_LOCATION "${MIP_LIBDEFLATE_STATIC}"
      INTERFACE_INCLUDE_DIRECTORIES "${LIBDEFLATE_INCLUDE_DIRS}")
  else()
    add_library(mip::libdeflate INTERFACE IMPORTED)
    target_link_libraries(mip::libdeflate INTERFACE PkgConfig::LIBDEFLATE)
  endif()
endif()
