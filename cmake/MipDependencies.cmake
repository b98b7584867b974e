# Every dependency lookup lives here, with version floors. All come from Debian bookworm packages
# (see scripts/setup.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(CURL 7.88 REQUIRED)
find_package(OpenSSL 3.0 REQUIRED COMPONENTS Crypto SSL)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(yaml-cpp 0.7 REQUIRED)   # target: yaml-cpp
find_package(pugixml 1.13 REQUIRED)   # target: pugixml::pugixml
# Debian's libzip CMake config fails without zipcmp/zipmerge/ziptool: use pkg-config.
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip>=1.7)   # reading archives only
# The .mhl writer deflates with libdeflate, pinned exactly: its output bytes (and so every
# archive's sha256) belong to one implementation and version (mip-format.md, Determinism).
# Debian bookworm: libdeflate-dev 1.14.
pkg_check_modules(LIBDEFLATE QUIET IMPORTED_TARGET libdeflate=1.14)
if(NOT LIBDEFLATE_FOUND)
  pkg_check_modules(_MIP_ANY_LIBDEFLATE QUIET libdeflate)
  if(_MIP_ANY_LIBDEFLATE_FOUND)
    message(FATAL_ERROR "libdeflate ${_MIP_ANY_LIBDEFLATE_VERSION} found, but libmip needs exactly 1.14: "
                        ".mhl archive bytes depend on the deflate implementation (install Debian "
                        "bookworm's libdeflate-dev)")
  endif()
  message(FATAL_ERROR "libdeflate 1.14 not found by pkg-config: install libdeflate-dev")
endif()
# Linked statically when the archive is there (Debian ships it): a later system upgrade of the
# shared library (same soname) must not change archive bytes under an installed libmip.
find_library(MIP_LIBDEFLATE_STATIC NAMES libdeflate.a HINTS ${LIBDEFLATE_LIBRARY_DIRS} NO_CACHE)
if(MIP_LIBDEFLATE_STATIC)
  add_library(mip_libdeflate STATIC IMPORTED)
  set_target_properties(mip_libdeflate PROPERTIES IMPORTED_LOCATION "${MIP_LIBDEFLATE_STATIC}"
                        INTERFACE_INCLUDE_DIRECTORIES "${LIBDEFLATE_INCLUDE_DIRS}")
  message(STATUS "libdeflate ${LIBDEFLATE_VERSION}, static (writes .mhl archives)")
else()
  add_library(mip_libdeflate INTERFACE IMPORTED)
  target_link_libraries(mip_libdeflate INTERFACE PkgConfig::LIBDEFLATE)
  message(STATUS "libdeflate ${LIBDEFLATE_VERSION}, shared (writes .mhl archives)")
endif()
find_package(ZLIB REQUIRED)

if(MIP_BUILD_CLI)
  find_package(CLI11 2.1 REQUIRED)
endif()
if(MIP_BUILD_PYTHON OR MIP_BUILD_TESTS)
  # Before pybind11, which could otherwise pick up a pyenv or venv shim.
  find_package(Python 3.11 REQUIRED COMPONENTS Interpreter Development.Module)
endif()
if(MIP_BUILD_PYTHON)
  find_package(pybind11 2.10 REQUIRED CONFIG)
endif()
if(MIP_BUILD_TESTS)
  find_package(Catch2 2.13 REQUIRED)
endif()
