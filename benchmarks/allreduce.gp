# Plots the all-reduce sweep that run-allreduce.sh measured: median time (log-log) and bus bandwidth per size,
# one column per rank count, accelerate against Open MPI. Data: AllReduceReport's plot file (one block per rank
# count, see AllReduceReport.writePlotData).
#   gnuplot -e "data='allreduce.dat'; out='allreduce.png'; title_text='...'" benchmarks/allreduce.gp
if (!exists("data")) data = 'allreduce.dat'
if (!exists("out")) out = 'allreduce.png'
if (!exists("title_text")) title_text = 'allReduce(SUM, float) vs MPI\_Allreduce'

set terminal pngcairo size 1400,900 font 'DejaVu Sans,11' noenhanced
set output out
stats data using 1 nooutput
blocks = STATS_blocks

# Times read best in the unit that suits them: 0.41 µs, 81.2 µs, 54.1 ms.
label(us) = us >= 1000 ? sprintf('%.3g ms', us / 1000) : sprintf('%.3g µs', us)

set multiplot layout 2, blocks title title_text font ',13'
set logscale x 2
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set key top left
set xtics ('4 B' 4, '64 B' 64, '1 KiB' 1024, '16 KiB' 16384, '256 KiB' 262144, '4 MiB' 4194304, '100 MiB' 104857600)
set xrange [2:2e8]

do for [b = 0:blocks - 1] {
    stats data index b using 1 nooutput
    ranks = int(STATS_min)
    set title sprintf('%d ranks: median time per call (lower is better)', ranks)
    set logscale y 10
    set ylabel 'µs'
    set format y '%g'
    plot data index b using 2:3 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'dl4j-accelerate', \
         data index b using 2:4 with linespoints lw 2 pt 5 lc rgb '#1f77b4' title 'Open MPI', \
         data index b using 2:3:(label($3)) with labels offset 0,1 font ',8' tc rgb '#d62728' notitle, \
         data index b using 2:4:(label($4)) with labels offset 0,-1 font ',8' tc rgb '#1f77b4' notitle
}
do for [b = 0:blocks - 1] {
    stats data index b using 1 nooutput
    ranks = int(STATS_min)
    set title sprintf('%d ranks: bus bandwidth 2(n-1)/n · bytes / time (higher is better)', ranks)
    unset logscale y
    set yrange [0:*]
    set ylabel 'GB/s'
    plot data index b using 2:5 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'dl4j-accelerate', \
         data index b using 2:6 with linespoints lw 2 pt 5 lc rgb '#1f77b4' title 'Open MPI'
    set autoscale y
}
unset multiplot
