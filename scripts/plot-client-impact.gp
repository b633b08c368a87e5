# Client throughput and p99 latency per second while slots move, three runs side by side.
# gnuplot -e "dir='docs/benchmarks'; settings='slotkeeper: ...'" plot-client-impact.gp
set datafile separator ","
set datafile commentschars "#"
set terminal pngcairo size 1000,800 font ",10"
set output dir."/client-impact.png"
if (!exists("settings")) settings = ""
set multiplot layout 2,1 title "go-redis client (SET+GET) during a 3 -> 4 master rebalance of 1M keys; the move starts at 0\n".settings
set grid
set key outside right
set xlabel "seconds from the move's start"
set ylabel "ops per second"
set yrange [0:*]
plot dir."/none.csv" using 1:2 skip 1 with lines lw 2 title "no migration", \
     dir."/slotkeeper.csv" using 1:2 skip 1 with lines lw 2 title "slotkeeper", \
     dir."/redis-cli.csv" using 1:2 skip 1 with lines lw 2 title "redis-cli"
set ylabel "p99 latency (ms), log scale"
set logscale y
set yrange [*:*]
plot dir."/none.csv" using 1:6 skip 1 with lines lw 2 title "no migration", \
     dir."/slotkeeper.csv" using 1:6 skip 1 with lines lw 2 title "slotkeeper", \
     dir."/redis-cli.csv" using 1:6 skip 1 with lines lw 2 title "redis-cli"
unset multiplot
