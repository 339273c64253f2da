# unixcap.cmake — fcgiscope --unix: the eBPF capture (analyzer/bpf/unixcap.bpf.c).
# Built when clang, bpftool, libbpf and the running kernel's BTF are found;
# otherwise src/unixcap.c compiles its stub (--unix then says how to get it).
# FCGISCOPE_UNIX=OFF turns it off; FCGISCOPE_UNIX_REQUIRED=ON makes a missing
# piece a configuration error (default ON when CI=true).
option(FCGISCOPE_UNIX "Build fcgiscope --unix (eBPF capture of Unix-socket FastCGI)" ON)
if("$ENV{CI}" STREQUAL "true")
  set(_uc_req_default ON)   # CI builds and tests it
else()
  set(_uc_req_default OFF)
endif()
option(FCGISCOPE_UNIX_REQUIRED "Fail configuration when --unix cannot be built" ${_uc_req_default})
set(FCGISCOPE_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
    "BTF of the kernel the vmlinux.h for the BPF program is generated from")

set(_uc_why "")
if(FCGISCOPE_UNIX)
  find_program(FCGISCOPE_BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
  find_program(FCGISCOPE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
  if(PkgConfig_FOUND)
    pkg_check_modules(LIBBPF IMPORTED_TARGET libbpf>=0.8)
  endif()
  if(NOT FCGISCOPE_BPF_CLANG)
    set(_uc_why "clang not found (apt-get install clang)")
  elseif(NOT FCGISCOPE_BPFTOOL)
    set(_uc_why "bpftool not found (apt-get install bpftool)")
  elseif(NOT LIBBPF_FOUND)
    set(_uc_why "libbpf not found (apt-get install libbpf-dev)")
  elseif(NOT EXISTS ${FCGISCOPE_VMLINUX_BTF})
    set(_uc_why "no kernel BTF at ${FCGISCOPE_VMLINUX_BTF}")
  endif()
else()
  set(_uc_why "FCGISCOPE_UNIX=OFF")
endif()

if(_uc_why)
  if(FCGISCOPE_UNIX_REQUIRED)
    message(FATAL_ERROR "fcgiscope --unix cannot be built: ${_uc_why}")
  endif()
  message(STATUS "fcgiscope --unix is not built: ${_uc_why}")
  set(FCGISCOPE_HAVE_UNIX OFF)
  return()
endif()
set(FCGISCOPE_HAVE_UNIX ON)

set(_uc_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
set(_uc_src ${CMAKE_CURRENT_SOURCE_DIR}/bpf)
file(MAKE_DIRECTORY ${_uc_dir})
add_custom_command(OUTPUT ${_uc_dir}/vmlinux.h
  COMMAND ${FCGISCOPE_BPFTOOL} btf dump file ${FCGISCOPE_VMLINUX_BTF} format c > ${_uc_dir}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${_uc_dir}/vmlinux.h.tmp ${_uc_dir}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${FCGISCOPE_VMLINUX_BTF}" VERBATIM)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_uc_arch x86)
else()
  message(FATAL_ERROR "fcgiscope --unix: only x86_64 syscall numbers are known (set FCGISCOPE_UNIX=OFF)")
endif()
# Two builds of the same source: unixcap_btf (tp_btf hooks reading kernel
# memory by plain loads; Linux 6.2 or later) and unixcap (raw tracepoints and
# probe reads: the fallback where the first cannot load).
set(_uc_skels "")
foreach(_uc_v unixcap unixcap_btf)
  if(_uc_v STREQUAL "unixcap_btf")
    set(_uc_def -DUC_BTF=1)
  else()
    set(_uc_def -DUC_BTF=0)
  endif()
  add_custom_command(OUTPUT ${_uc_dir}/${_uc_v}.bpf.o
    COMMAND ${FCGISCOPE_BPF_CLANG} -g -O2 -Wall -target bpf -mcpu=v3 -D__TARGET_ARCH_${_uc_arch} ${_uc_def}
            -I${_uc_dir} -I${_uc_src} -I${LIBBPF_INCLUDEDIR}
            -c ${_uc_src}/unixcap.bpf.c -o ${_uc_dir}/${_uc_v}.bpf.o
    DEPENDS ${_uc_src}/unixcap.bpf.c ${_uc_src}/unixcap.h ${_uc_dir}/vmlinux.h
    COMMENT "Compiling the BPF program ${_uc_v}.bpf.o" VERBATIM)
  add_custom_command(OUTPUT ${_uc_dir}/${_uc_v}.skel.h
    COMMAND ${FCGISCOPE_BPFTOOL} gen skeleton ${_uc_dir}/${_uc_v}.bpf.o name ${_uc_v}_bpf > ${_uc_dir}/${_uc_v}.skel.h.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${_uc_dir}/${_uc_v}.skel.h.tmp ${_uc_dir}/${_uc_v}.skel.h
    DEPENDS ${_uc_dir}/${_uc_v}.bpf.o
    COMMENT "Generating the BPF skeleton ${_uc_v}.skel.h" VERBATIM)
  list(APPEND _uc_skels ${_uc_dir}/${_uc_v}.skel.h)
endforeach()
add_custom_target(fcgiscope_unixcap_skel DEPENDS ${_uc_skels})
