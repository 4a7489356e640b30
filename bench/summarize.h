// `herald-bench summarize FILE.jsonl`: medians over repeated runs of herald,
// Nchan and the floor (bench/floor) and the herald/Nchan and herald/floor
// ratios, as a Markdown table (pasted into RESULTS.md as is),
// plus a whitespace-separated data file for gnuplot. Written in C++ so that
// compare.sh needs nothing beyond what the build already has.
#pragma once

#include <string>

namespace herald_bench {

int Summarize(const std::string& jsonl_path, const std::string& plot_data_path);

}  // namespace herald_bench
