#!/usr/bin/env bash
# plot.sh PLOT.dat OUT.png — latency percentiles and server CPU per delivery,
# herald vs Nchan (and the floor's CPU), from the data file `herald-bench summarize` writes.
set -euo pipefail
dat=$1
png=$2
command -v gnuplot >/dev/null || { echo "gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 1; }
gnuplot <<EOF
set terminal pngcairo size 1200,900 noenhanced font ",10"
set output "$png"
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set xtics rotate by -20
set multiplot layout 2,1 title "herald vs Nchan (medians of runs; lower is better)"
set title "delivery latency (ms, log scale)"
set logscale y
plot "$dat" using 2:xtic(1) title "herald p50", "" using 3 title "herald p90", \
     "" using 4 title "herald p99", "" using 5 title "Nchan p50", "" using 6 title "Nchan p90", \
     "" using 7 title "Nchan p99"
set title "server CPU per delivery (µs, utime+stime from /proc, log scale)"
plot "$dat" using 8:xtic(1) title "herald", "" using 9 title "Nchan", "" using 10 title "floor"
unset multiplot
EOF
