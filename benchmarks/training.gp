# Plots the training throughput that run-training.sh measured: per workload, each configuration's global samples/s
# relative to the best single process (median of the repeats' paired ratios). Data: TrainingReport's plot file,
# one row per workload, one column per configuration in TrainingReport's order.
#   gnuplot -e "data='training.dat'; out='training.png'; title_text='...'" benchmarks/training.gp
if (!exists("data")) data = 'training.dat'
if (!exists("out")) out = 'training.png'
if (!exists("title_text")) title_text = 'Training throughput relative to the best single process'

set terminal pngcairo size 1400,700 font 'DejaVu Sans,11' noenhanced
set output out
set title title_text font ',12'

bars = 6
gap = 1
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border rgb '#333333'
set boxwidth 0.9
set grid ytics lc rgb '#dddddd'
set yrange [0:*]
# Room above the tallest bar for its label.
set offsets 0, 0, graph 0.08, 0
set ylabel 'global samples/s ÷ best single process (higher is better)'
set key outside right top vertical
set datafile missing 'NaN'
# The best single process, the bar every configuration is measured against.
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb '#555555'

offset(j) = (j - (bars - 1) / 2.0) / (bars + gap)
plot data using 2:xtic(1) lc rgb '#9ecae1' title '1 process, 1 ND4J thread', \
     '' using 3 lc rgb '#3182bd' title '1 process, default threads', \
     '' using 4 lc rgb '#bdbdbd' title '2 independent processes (ceiling)', \
     '' using 5 lc rgb '#d62728' title 'DDP, AcceleratedTrainer', \
     '' using 6 lc rgb '#ff9896' title 'DDP, listener + timing barrier', \
     '' using 7 lc rgb '#2ca02c' title 'ParallelWrapper, 2 workers', \
     for [j = 0:bars - 1] '' using ($0 + offset(j)):(column(j + 2)):(sprintf('%.2f', column(j + 2))) \
         with labels offset 0,0.7 font ',9' notitle
