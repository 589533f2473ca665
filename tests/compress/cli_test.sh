#!/bin/sh
# tenet compress / decompress from the command line: round trip, JSON, and clear errors.
# Usage: cli_test.sh PATH/TO/tenet   (run in a scratch folder)
set -u
TENET="$1"
fail() { echo "FAIL: $*"; exit 1; }
python3 -c "
import struct, math
with open('in.raw','wb') as f:
    f.write(struct.pack('<%df' % (30*40), *[math.sin(i*0.05)*math.cos(i*0.003) for i in range(30*40)]))
" || fail "cannot write input"

"$TENET" compress --codec sz --tolerance 1e-3 --dims 30,40 in.raw out.tnz || fail "compress"
"$TENET" decompress out.tnz back.raw || fail "decompress"
python3 -c "
import struct
a = struct.unpack('<1200f', open('in.raw','rb').read())
b = struct.unpack('<1200f', open('back.raw','rb').read())
m = max(abs(x-y) for x, y in zip(a, b))
assert m <= 1e-3, m
" || fail "bound not kept"

"$TENET" compress --codec zfp --tolerance-rel 1e-4 --dims 30,40 --json in.raw z.tnz > z.json || fail "compress --json"
grep -q '"ratio"' z.json && grep -q '"max_abs_error"' z.json && grep -q '"psnr_db"' z.json \
  && grep -q '"compress_MBps"' z.json && grep -q '"decompress_MBps"' z.json || fail "json fields"
"$TENET" decompress --json z.tnz zb.raw | grep -q '"ratio"' || fail "decompress --json"
"$TENET" compress --codec zstd --lossless --dims 1200 in.raw l.tnz && "$TENET" decompress l.tnz lb.raw \
  && cmp -s in.raw lb.raw || fail "lossless not exact"

expect_error() {  # expect_error "message part" command...
  msg="$1"; shift
  if "$@" > err.txt 2>&1; then fail "succeeded: $*"; fi
  grep -qi -- "$msg" err.txt || { cat err.txt; fail "no '$msg' in the error of: $*"; }
}
expect_error "has 4800 bytes but --dims 31,40" "$TENET" compress --codec sz --tolerance 1e-3 --dims 31,40 in.raw bad.tnz
expect_error "available: sz, zfp, zstd, none" "$TENET" compress --codec sz4 --tolerance 1e-3 --dims 30,40 in.raw bad.tnz
expect_error "missing compression mode" "$TENET" compress --codec sz --dims 30,40 in.raw bad.tnz
expect_error "only one of" "$TENET" compress --codec zfp --rate 8 --precision 9 --dims 30,40 in.raw bad.tnz
expect_error ">= 0, got -1" "$TENET" compress --codec sz --tolerance -1 --dims 30,40 in.raw bad.tnz
expect_error "not a regular file" "$TENET" compress --codec sz --tolerance 1e-3 --dims 30,40 . bad.tnz
rm -f fifo.tnz; mkfifo fifo.tnz || fail "mkfifo"
expect_error "not a regular file" "$TENET" compress --codec sz --tolerance 1e-3 --dims 30,40 in.raw fifo.tnz
[ -p fifo.tnz ] || fail "the FIFO was replaced"
[ ! -e bad.tnz ] || fail "a failed compress left an output"
head -c 100 out.tnz > cut.tnz
expect_error "corrupt" "$TENET" decompress cut.tnz bad.raw
expect_error "not a Tenet" "$TENET" decompress in.raw bad.raw
[ ! -e bad.raw ] || fail "a failed decompress left an output"
ls | grep -q 'tmp-' && fail "temporary files left behind"
echo "cli ok"
