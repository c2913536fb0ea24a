#!/bin/sh
# Runs node (or $NODE) with the given arguments, with jemalloc as the allocator when the system
# has it (Debian/Ubuntu: apt-get install libjemalloc2). `npm start`, infra/local-cluster, the
# Docker image and the bench start the gateway through this script.
#
# Why: glibc's malloc keeps the memory a burst of joins and presence diffs freed in holes between
# live sockets, so a gateway's RSS after the burst stays ~0.8 KiB per connection higher than what
# it holds (bench/README.md, "idle --joins": 2.4 against 1.6 KiB per joined connection).
#
# PARLEY_MALLOC=system keeps the system allocator; a preloaded LD_PRELOAD is left alone. The
# gateway logs and exports (parley_allocator_info) which allocator it runs on.
if [ -z "${LD_PRELOAD:-}" ] && [ "${PARLEY_MALLOC:-jemalloc}" != system ]; then
  for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 \
    /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
    if [ -r "$lib" ]; then
      LD_PRELOAD=$lib
      export LD_PRELOAD
      break
    fi
  done
fi
exec "${NODE:-node}" "$@"
