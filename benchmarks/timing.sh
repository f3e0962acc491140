# Sourced by the merge benchmark scripts: wall-clock helpers and the I/O floor.
#   best                  the smallest of the numbers on stdin
#   now                   seconds since the epoch, with nanoseconds
#   seconds START END     END - START, 3 decimals
#   io_floor OUT FILE...  best of 3: cat every FILE to /dev/null + cp the first into OUT + sync (warm cache)
best() { sort -g | head -n 1; }
now() { date +%s.%N; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
io_floor() {
  local out=$1
  shift
  for _ in 1 2 3; do
    local s e
    s=$(now); cat "$@" > /dev/null; cp "$1" "$out/copy.safetensors"; sync -f "$out/copy.safetensors"; e=$(now)
    rm -f "$out/copy.safetensors"; seconds "$s" "$e"
  done | best
}
