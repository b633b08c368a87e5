# Operator RSS and Ready clusters over a many-clusters benchmark run.
# gnuplot -e "data='many-clusters.csv'; out='many-clusters.png'; clusters=50" plot-many-clusters.gp
set datafile separator ","
set terminal pngcairo size 1000,500 font ",10"
set output out
set title sprintf("One operator, %d RedisClusters: created at once, at rest, scaled 3 -> 4 masters at once", clusters)
set xlabel "seconds"
set ylabel "operator RSS (MiB)"
set y2label "Ready clusters / operator CPU (% of one core)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key outside bottom center horizontal
set grid
plot data using 1:3 skip 1 with lines lw 2 title "RSS (MiB)", \
     data using 1:5 skip 1 axes x1y2 with lines lw 2 title "Ready clusters", \
     data using 1:4 skip 1 axes x1y2 with lines lw 1 title "CPU %"
