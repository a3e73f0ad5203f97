# Stan's log density + gradient alone (rstan's log_prob(..., gradient = TRUE), Debian's r-cran-rstan), as
# bench/logdensity.ts times ours (--stan-alone runs this): median over 9 batches of µs per call at a fixed unconstrained point.
# R's call overhead is in `us`; an empty R call, timed the same way, is printed beside it (bench/logdensity.ts subtracts
# it). rstan's conversion of θ to C++ remains in `us`: compare only gradients far longer than a few µs (diamonds).
# Usage: Rscript stan_grad.R MODEL.stan DATA.json
# Prints one line: STAN_GRAD: {"us": …, "r_call_overhead_us": …, "dim": …}
suppressMessages({ library(rstan) })
if (!file.exists(rstan_options("boost_lib"))) rstan_options(boost_lib = "/usr/include")  # Debian's BH is virtual
args <- commandArgs(trailingOnly = TRUE)
d <- jsonlite::fromJSON(args[2])
sm <- stan_model(args[1], auto_write = TRUE)
fit <- suppressWarnings(sampling(sm, data = d, chains = 1, iter = 1, warmup = 0, refresh = 0, seed = 1, algorithm = "Fixed_param"))
dim <- get_num_upars(fit)
theta <- 0.1 * sin(seq_len(dim))
timed <- function(f) {
  t0 <- proc.time()[["elapsed"]]; n <- 0
  while (proc.time()[["elapsed"]] - t0 < 0.3) { f(); n <- n + 1 }
  batch <- max(5, round(n / 10))
  times <- sapply(1:9, function(b) {
    s <- proc.time()[["elapsed"]]
    for (i in seq_len(batch)) f()
    1e6 * (proc.time()[["elapsed"]] - s) / batch
  })
  median(times)
}
us <- timed(function() log_prob(fit, theta, adjust_transform = TRUE, gradient = TRUE))
empty <- function(x) x
overhead <- timed(function() empty(theta))
cat(sprintf('STAN_GRAD: {"us": %.3f, "r_call_overhead_us": %.3f, "dim": %d}\n', us, overhead, dim))
