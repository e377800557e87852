# The permission flags of each binary: `make build` compiles these in, bin/cloudcore and bin/edgecore run
# with them, and the tests start the entrypoints through those scripts. One place, so they cannot drift.
# shellcheck shell=bash
CLOUDCORE_PERMISSIONS="--allow-net --allow-env --allow-sys=hostname,networkInterfaces,osRelease --allow-read --allow-write"
EDGECORE_PERMISSIONS="--allow-net --allow-env --allow-sys --allow-read --allow-write --allow-run --allow-ffi"
# V8 for edgecore: lite mode (no optimizing compiler, feedback allocated lazily). An idle edgecore held
# 34 MiB anonymous memory and 84 MiB RSS with it against 38 and 96 without (bench/README.md); it does
# little enough JavaScript work that the optimizer does not pay for its memory.
# --expose-gc for lib/idle_gc.ts, whose full collections (once a minute, and on 2 MiB of growth) do what V8's
# memory reducer would: --no-memory-reducer drops the reducer's own, which ran two or three more full
# collections in the first minute after each start (first minute after Ready: 0.46 -> 0.36 % of a core,
# medians of 12 A/B pairs; bench/README.md "Start to connected and the first minute").
# No concurrent ArrayBuffer sweeping: every node:net read (the cloud link, MQTT) lands in a 64 KiB slab that
# Deno 2.8 hands back to a pool of the thread that frees it; freed on V8's background threads, the slabs were
# never reused and an idle edgecore's malloc heap grew 0.4-0.55 MiB a minute
# (tests/socket_reads_memory_test.ts, bench/README.md). Swept on the main thread, they go back to the pool its
# reads take from.
EDGECORE_RUNTIME_FLAGS="--v8-flags=--lite-mode,--expose-gc,--no-memory-reducer,--no-concurrent-array-buffer-sweeping"
