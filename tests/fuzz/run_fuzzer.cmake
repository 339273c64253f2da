# run_fuzzer.cmake — runs a libFuzzer binary for SECONDS over a working corpus seeded from SEEDS; fails on a crash.
# Reference: https://llvm.org/docs/LibFuzzer.html (options -max_total_time, -timeout, -rss_limit_mb).
file(MAKE_DIRECTORY ${CORPUS})
file(GLOB _seedfiles ${SEEDS}/*.bin)
file(COPY ${_seedfiles} DESTINATION ${CORPUS})
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=20 -rss_limit_mb=2048 -max_len=20000
          -print_final_stats=1 ${CORPUS}
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _err)
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" _execs "${_err}")
string(REGEX MATCH "Done [0-9]+ runs in [0-9]+ second" _done "${_err}")
message(STATUS "fuzz_decoder: ${_done} (${_execs}), exit ${_rc}")
if(NOT _rc EQUAL 0)
  message("${_err}")
  message(FATAL_ERROR "fuzz_decoder failed (exit ${_rc}): crash or log difference; reproducer in the working directory")
endif()
