# Merges the members of a static library into another, in place (run after the archive is built):
#   cmake -DAR=<ar> -DRANLIB=<ranlib> -DARCHIVE=<libmip.a> -DEXTRA=<libdeflate.a> \
#         -P cmake/MipBundleArchive.cmake
# libmip.a carries libdeflate's objects this way (cmake/MipDependencies.cmake explains why). An
# ar MRI script keeps members whose names repeat (libdeflate.a has two cpu_features.o), which
# `ar x` + `ar q` would not. GNU ar and llvm-ar read MRI scripts.
foreach(var AR RANLIB ARCHIVE EXTRA)
  if(NOT ${var})
    message(FATAL_ERROR "MipBundleArchive.cmake: -D${var}=… is required")
  endif()
endforeach()
# MRI has no quoting.
foreach(path "${ARCHIVE}" "${EXTRA}")
  if(path MATCHES "[ \t,;+()*]")
    message(FATAL_ERROR "MipBundleArchive.cmake: cannot merge archives whose paths contain "
                        "spaces or ,;+()*: ${path}")
  endif()
endforeach()
# CREATE + ADDLIB both, then rename over the original: llvm-ar's MRI has no OPEN.
set(script "${ARCHIVE}.mri")
set(merged "${ARCHIVE}.merged.a")
file(REMOVE "${merged}")
file(WRITE "${script}" "CREATE ${merged}\nADDLIB ${ARCHIVE}\nADDLIB ${EXTRA}\nSAVE\nEND\n")
execute_process(COMMAND "${AR}" -M INPUT_FILE "${script}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${merged}")
  message(FATAL_ERROR "MipBundleArchive.cmake: ${AR} -M failed (${rc}) merging ${EXTRA} into "
                      "${ARCHIVE}")
endif()
execute_process(COMMAND "${RANLIB}" "${merged}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${merged}")
  message(FATAL_ERROR "MipBundleArchive.cmake: ${RANLIB} ${merged} failed (${rc})")
endif()
file(RENAME "${merged}" "${ARCHIVE}")
file(REMOVE "${script}")
