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
# The .mhl writer deflates with libdeflate, pinned to exactly 1.14 (cmake/MipLibdeflate.cmake).
# Linked statically when the archive is there (Debian ships it): a later system upgrade of the
# shared library (same soname) must not change archive bytes under an installed libmip. The
# static objects are then merged into libmip.a itself (cmake/MipBundleArchive.cmake, run after
# libmip.a is built): the installed archive carries the exact deflate code it was pinned to, and
# consumers (CMake or pkg-config) never link libdeflate. Without libdeflate.a, with an ar that
# cannot merge or with MIP_BUNDLE_LIBDEFLATE=OFF, libmip links mip::libdeflate, and
# libmipConfig.cmake (libmip.pc: Requires) finds it again, pinned.
include(MipLibdeflate)
if(MIP_LIBDEFLATE_ERROR)
  message(FATAL_ERROR "${MIP_LIBDEFLATE_ERROR}")
endif()
set(MIP_LIBDEFLATE_BUNDLED OFF)
if(MIP_LIBDEFLATE_STATIC AND MIP_BUNDLE_LIBDEFLATE)
  # Merging uses an ar MRI script: GNU ar and llvm-ar understand it.
  execute_process(COMMAND "${CMAKE_AR}" --version OUTPUT_VARIABLE _mip_ar_version
                  ERROR_QUIET RESULT_VARIABLE _mip_ar_result)
  if(_mip_ar_result EQUAL 0 AND _mip_ar_version MATCHES "GNU ar|LLVM")
    set(MIP_LIBDEFLATE_BUNDLED ON)
  endif()
endif()
if(MIP_LIBDEFLATE_BUNDLED)
  message(STATUS "libdeflate ${LIBDEFLATE_VERSION}, static, merged into libmip.a (${CMAKE_AR})")
elseif(MIP_LIBDEFLATE_STATIC)
  message(STATUS "libdeflate ${LIBDEFLATE_VERSION}, static, linked (not merged into libmip.a)")
else()
  message(STATUS "libdeflate ${LIBDEFLATE_VERSION}, shared")
endif()

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
