#!/usr/bin/env bash
# Runs the benchmark set named in the issues and prints one JSON object per line.
# Usage: bench/run.sh [quick]   (quick: smaller grids, for a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
T=build/apps/tenet/tenet
[ -x "$T" ] || make cli >/dev/null
# OpenMP's own wait policy (threads spin briefly at barriers): time-tiled kernels meet a barrier
# per tile step; OMP_WAIT_POLICY=passive cost 256^3 order 8 forward 2.05 -> 1.84 Gpts/s.
if [ "${1:-}" = quick ]; then
  $T bench forward --shape 64,64,64 --space-order 8 --steps 10 --json
  $T bench adjoint --shape 64,64,64 --space-order 8 --steps 10 --json
  $T bench gradient --shape 64,64,64 --space-order 8 --steps 10 --json
  $T bench compress --quick
  exit 0
fi
for so in 4 8 12; do
  for n in 128 256; do $T bench forward --shape $n,$n,$n --space-order $so --steps 30 --json; done
done
$T bench forward --shape 1001,1001 --space-order 8 --steps 100 --json
$T bench adjoint --shape 256,256,256 --space-order 8 --json
$T bench gradient --shape 256,256,256 --space-order 8 --json   # 50 steps: 3.8 GB of history
$T bench gradient --shape 128,128,128 --space-order 8 --steps 50 --checkpoints 8 --json
$T bench compress
