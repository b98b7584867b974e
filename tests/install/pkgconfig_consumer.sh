#!/bin/sh
# Builds examples/consumer/main.cpp with nothing but `pkg-config --cflags --libs libmip` against a
# staged install, then runs it (it publishes a package and checks the index).
#   pkgconfig_consumer.sh <prefix> <libdir relative to prefix> <c++ compiler> <source> <work dir>
set -eu
prefix=$1 libdir=$2 cxx=$3 source=$4 work=$5
rm -rf "$work"
mkdir -p "$work"
# The staged install comes first (the system directories still provide libcurl, libzip, …).
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
export PKG_CONFIG_PATH
version=$(pkg-config --modversion libmip)
flags=$(pkg-config --cflags --libs libmip)
echo "pkg-config: libmip $version: $flags"
# shellcheck disable=SC2086  # the flags are words
"$cxx" -std=c++20 -o "$work/mip_consumer" "$source" $flags
"$work/mip_consumer" "$work/consumer-work"
