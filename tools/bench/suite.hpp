#pragma once
// The self-contained suites: start tradeshardd and the echo / discard baselines as pinned child
// processes on free loopback ports, measure each with the same client right before and after the
// daemon, and write one JSON report with the ratios and the targets.
#include "options.hpp"

namespace tradeshard::bench {

// Runs opts.suite (smoke | quick | full); returns the process exit code (targets never fail it).
int run_suite(const Options& opts);

}  // namespace tradeshard::bench
