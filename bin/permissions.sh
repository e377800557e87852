# The permission flags of each binary: `make build` compiles these in, bin/cloudcore and bin/edgecore run
# with them, and the tests start the entrypoints through those scripts. One place, so they cannot drift.
# shellcheck shell=bash
CLOUDCORE_PERMISSIONS="--allow-net --allow-env --allow-sys=hostname,networkInterfaces,osRelease --allow-read --allow-write"
EDGECORE_PERMISSIONS="--allow-net --allow-env --allow-sys --allow-read --allow-write --allow-run --allow-ffi"
