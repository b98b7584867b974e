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
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip>=1.7)
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
