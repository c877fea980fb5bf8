"""PyPortfolioOpt reference runner for `sextant bench portfolio`.

Sextant embeds this file, writes it to a temporary file and runs it with the benchmark venv's
Python (PyPortfolioOpt 1.6.0, cvxpy, clarabel, numpy, pandas). It computes PyPortfolioOpt's answers
and timings for the parity and speed tables; it uses only the standard library and those packages.

I/O contract
------------
stdin: ONE JSON object, {"cases": [CASE, ...]}. A CASE holds
  "id"       echoed back;
  "method"   "estimate" | "min_volatility" | "max_sharpe" | "efficient_risk" | "efficient_return"
             | "quadratic_utility" | "frontier" | "hrp" | "black_litterman" | "cvar" | "cdar"
             | "discrete_greedy" | "discrete_lp";
  data       either "prices": "/abs/path.csv" (date column first, read with
             read_csv(parse_dates=True, index_col="date")), or "mu": [..] (optional where the method
             needs no returns) and "cov": [[..]] (already annualised);
  options    "returns_model" ("mean" | "ema" | "capm", default "mean"), "risk_model" ("sample" |
             "semi" | "exp" | "ledoit-wolf" | "ledoit-wolf-single-factor" |
             "ledoit-wolf-constant-correlation", default "sample"), "risk_free" (0.02), "target",
             "risk_aversion" (1.0), "bounds" ([0, 1]), "l2_gamma" (0), "solver" ("default" |
             "clarabel"), "tolerance" (Clarabel's gap and feasibility tolerances, default 1e-10), "points" (100), "repeat" (1); black_litterman: "market_caps", "views"
             ({asset: absolute view}; with mu/cov input an asset is its index), "confidences"
             (optional: Idzorek's omega), "market_prices" (optional SPY-like CSV giving the risk
             aversion); discrete_*: "weights" or "weights_from": "max_sharpe", "total_value" (10000).

stdout: ONE JSON object,
  {"versions": {"pypfopt", "cvxpy", "numpy", "pandas"},
   "results": [{"id", "assets", "weights", "expected_return", "volatility", "sharpe", "mu", "cov",
                "frontier", "units", "leftover", "bl_returns", "objective", "seconds", "solver",
                "error"}, ...]}
  with every key present (null where it does not apply) and non-finite numbers written as null.
  Everything else (warnings, library chatter, tracebacks) goes to stderr.

Semantics
---------
* "seconds" is the median, over "repeat" runs, of the wall time (time.perf_counter) of the case's
  computation: estimating mu/cov from prices when prices are given, building the optimiser and
  solving. Reading CSV files, the discrete methods' preparatory weights ("weights_from"), and
  formatting the answer (portfolio_performance included) are outside the timed region.
* An exception inside one case is reported in that case's "error"; the other cases still run.
* "solver" is the solver cvxpy actually used (problem.solver_stats.solver_name), null where no cvxpy
  problem is solved. "default" lets cvxpy choose; "clarabel" asks for CLARABEL with tight
  tolerances (those of CLARABEL_TIGHT that this Clarabel version accepts). A final solver status
  other than "optimal" (PyPortfolioOpt accepts "optimal_inaccurate") is noted on stderr.
* expected_return / volatility / sharpe come from the optimiser's own
  portfolio_performance(risk_free_rate=risk_free): for hrp that is PyPortfolioOpt's arithmetic
  daily mean and sample covariance, times 252 (no return when only cov is given); for
  black_litterman the posterior returns and covariance. cvar/cdar report the expected return and put
  the CVaR/CDaR in "objective"; their volatility and sharpe are null.
* "mu"/"cov" echo the estimates used; for black_litterman "mu" is the market-implied prior and
  "bl_returns" the posterior. hrp and the discrete methods report neither.
* frontier: the min-volatility portfolio gives r_min; targets are
  np.linspace(r_min, r_max - 1e-6 * abs(r_max), points) with r_max = max(mu); each target is solved
  by efficient_return on a fresh EfficientFrontier, the way users do it.
"""

import contextlib
import json
import math
import os
import statistics
import sys
import time
import traceback

import clarabel
import cvxpy as cp
import numpy as np
import pandas as pd
import pypfopt
from pypfopt import (
    BlackLittermanModel,
    DiscreteAllocation,
    EfficientCDaR,
    EfficientCVaR,
    EfficientFrontier,
    HRPOpt,
    black_litterman,
    expected_returns,
    get_latest_prices,
    objective_functions,
    risk_models,
)

RETURN_MODELS = {
    "mean": expected_returns.mean_historical_return,
    "ema": expected_returns.ema_historical_return,
    "capm": expected_returns.capm_return,
}

# The contract's names -> PyPortfolioOpt's risk_matrix() method names.
RISK_MODELS = {
    "sample": "sample_cov",
    "semi": "semicovariance",
    "exp": "exp_cov",
    "ledoit-wolf": "ledoit_wolf",
    "ledoit-wolf-single-factor": "ledoit_wolf_single_factor",
    "ledoit-wolf-constant-correlation": "ledoit_wolf_constant_correlation",
}

CLARABEL_TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}

RESULT_KEYS = (
    "id", "assets", "weights", "expected_return", "volatility", "sharpe", "mu", "cov", "frontier",
    "units", "leftover", "bl_returns", "objective", "seconds", "solver", "error",
)


# ---------------------------------------------------------------------------------------------
# Inputs, estimators and shared helpers
# ---------------------------------------------------------------------------------------------

def clarabel_options(case):
    """The tight tolerances that this Clarabel build accepts (cvxpy rejects unknown settings);
    a case's "tolerance" tightens them further where 1e-10 leaves the answer short of the optimum."""
    defaults = clarabel.DefaultSettings()
    tolerance = case.get("tolerance")
    return {name: (tolerance if tolerance is not None else value)
            for name, value in CLARABEL_TIGHT.items() if hasattr(defaults, name)}


def solver_arguments(case):
    """Keyword arguments selecting the case's cvxpy solver for a PyPortfolioOpt optimiser."""
    solver = case.get("solver", "default")
    if solver == "default":
        return {"solver": None}
    if solver == "clarabel":
        return {"solver": "CLARABEL", "solver_options": clarabel_options(case)}
    raise ValueError(f"unknown solver {solver!r} (expected 'default' or 'clarabel')")


def weight_bounds(case):
    low, high = case.get("bounds") or [0, 1]
    return (low, high)


def require(case, key):
    if case.get(key) is None:
        raise ValueError(f"method {case.get('method')!r} needs {key!r}")
    return case[key]


class Inputs:
    """A case's data, read before the timed region: prices (or mu/cov) and extra frames."""

    def __init__(self, case, read_csv):
        self.prices = read_csv(case["prices"]) if case.get("prices") else None
        self.market_prices = read_csv(case["market_prices"]) if case.get("market_prices") else None
        self.mu = None
        self.cov = None
        if self.prices is None:
            if case.get("cov") is None:
                raise ValueError("a case needs either 'prices' or 'cov' (with 'mu')")
            self.cov = np.asarray(case["cov"], dtype=float)
            if case.get("mu") is not None:
                self.mu = np.asarray(case["mu"], dtype=float)

    @property
    def assets(self):
        return None if self.prices is None else [str(t) for t in self.prices.columns]

    def labels(self):
        """Asset labels as PyPortfolioOpt sees them: tickers, or 0..n-1 for mu/cov input."""
        if self.prices is not None:
            return list(self.prices.columns)
        return list(range(len(self.cov)))

    def require_prices(self, method):
        if self.prices is None:
            raise ValueError(f"method {method!r} needs 'prices'")
        return self.prices


def estimate_mu(case, inputs):
    if inputs.prices is None:
        return inputs.mu
    model = case.get("returns_model", "mean")
    if model not in RETURN_MODELS:
        raise ValueError(f"unknown returns_model {model!r}")
    return RETURN_MODELS[model](inputs.prices)


def estimate_cov(case, inputs):
    if inputs.prices is None:
        return inputs.cov
    model = case.get("risk_model", "sample")
    return risk_models.risk_matrix(inputs.prices, method=RISK_MODELS.get(model, model))


def add_l2(case, optimiser):
    gamma = case.get("l2_gamma", 0) or 0
    if gamma > 0:
        optimiser.add_objective(objective_functions.L2_reg, gamma=gamma)
    return optimiser


def new_frontier(case, mu, cov):
    """A fresh EfficientFrontier with the case's bounds, solver and L2 regularisation."""
    ef = EfficientFrontier(mu, cov, weight_bounds=weight_bounds(case), **solver_arguments(case))
    return add_l2(case, ef)


def solver_used(case, *problems):
    """The name of the cvxpy solver that solved `problems` (the last one's), or None.

    A status other than "optimal" (PyPortfolioOpt also accepts "optimal_inaccurate") is noted on
    stderr, since it explains parity gaps.
    """
    problems = [problem for problem in problems if problem is not None]
    for index, problem in enumerate(problems):
        if problem.status != "optimal":
            where = f" (problem {index} of {len(problems)})" if len(problems) > 1 else ""
            print(f"case {case.get('id')!r}: solver status {problem.status}{where}", file=sys.stderr)
    return problems[-1].solver_stats.solver_name if problems else None


@contextlib.contextmanager
def recorded_solves():
    """Collect the cvxpy problems solved inside the block.

    Only for DiscreteAllocation.lp_portfolio, which keeps its problem in a local variable: this is
    how the runner learns which MIP solver cvxpy picked.
    """
    solved = []
    original = cp.Problem.solve

    def solve(problem, *args, **kwargs):
        solved.append(problem)
        return original(problem, *args, **kwargs)

    cp.Problem.solve = solve
    try:
        yield solved
    finally:
        cp.Problem.solve = original


def timed(case, compute):
    """Run compute() `repeat` times; return its last value and the median wall seconds."""
    repeat = int(case.get("repeat", 1) or 1)
    if repeat < 1:
        raise ValueError("'repeat' must be at least 1")
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        value = compute()
        seconds.append(time.perf_counter() - started)
    return value, statistics.median(seconds)


def vector(values):
    return None if values is None else np.asarray(values, dtype=float).ravel().tolist()


def matrix(values):
    return None if values is None else np.asarray(values, dtype=float).tolist()


def performance(triple):
    expected_return, volatility, sharpe = triple
    return {"expected_return": expected_return, "volatility": volatility, "sharpe": sharpe}


# ---------------------------------------------------------------------------------------------
# One function per method: each returns the fields it fills in.
# ---------------------------------------------------------------------------------------------

def run_estimate(case, inputs):
    inputs.require_prices("estimate")
    (mu, cov), seconds = timed(case, lambda: (estimate_mu(case, inputs), estimate_cov(case, inputs)))
    return {"mu": vector(mu), "cov": matrix(cov), "seconds": seconds}


def mean_variance(case, inputs, optimise):
    """Shared body of the single-portfolio EfficientFrontier methods."""

    def compute():
        mu, cov = estimate_mu(case, inputs), estimate_cov(case, inputs)
        ef = new_frontier(case, mu, cov)
        optimise(ef)
        return mu, cov, ef

    (mu, cov, ef), seconds = timed(case, compute)
    risk_free = case.get("risk_free", 0.02)
    return {
        "weights": vector(ef.weights),
        **performance(ef.portfolio_performance(risk_free_rate=risk_free)),
        "mu": vector(mu),
        "cov": matrix(cov),
        "seconds": seconds,
        "solver": solver_used(case, ef._opt),
    }


def run_min_volatility(case, inputs):
    return mean_variance(case, inputs, lambda ef: ef.min_volatility())


def run_max_sharpe(case, inputs):
    risk_free = case.get("risk_free", 0.02)
    return mean_variance(case, inputs, lambda ef: ef.max_sharpe(risk_free_rate=risk_free))


def run_efficient_risk(case, inputs):
    target = float(require(case, "target"))
    return mean_variance(case, inputs, lambda ef: ef.efficient_risk(target))


def run_efficient_return(case, inputs):
    target = float(require(case, "target"))
    return mean_variance(case, inputs, lambda ef: ef.efficient_return(target))


def run_quadratic_utility(case, inputs):
    aversion = case.get("risk_aversion", 1.0)
    return mean_variance(case, inputs, lambda ef: ef.max_quadratic_utility(risk_aversion=aversion))


def run_frontier(case, inputs):
    points = int(case.get("points", 100))
    if points < 1:
        raise ValueError("'points' must be at least 1")

    def compute():
        mu, cov = estimate_mu(case, inputs), estimate_cov(case, inputs)
        if mu is None:
            raise ValueError("method 'frontier' needs 'mu'")
        min_vol = new_frontier(case, mu, cov)
        min_vol.min_volatility()
        r_min = min_vol.portfolio_performance()[0]
        r_max = float(np.max(mu))
        frontiers = []
        targets = np.linspace(r_min, r_max - 1e-6 * abs(r_max), points)
        for index, target in enumerate(targets):
            ef = new_frontier(case, mu, cov)
            try:
                ef.efficient_return(float(target))
            except Exception as error:
                raise RuntimeError(
                    f"frontier point {index} of {points} (target return {float(target)!r}) failed"
                ) from error
            frontiers.append(ef)
        return mu, cov, frontiers

    (mu, cov, frontiers), seconds = timed(case, compute)
    curve = []
    for ef in frontiers:
        expected_return, volatility, _ = ef.portfolio_performance()
        curve.append({"weights": vector(ef.weights), "expected_return": expected_return,
                      "volatility": volatility})
    return {
        "frontier": curve,
        "mu": vector(mu),
        "cov": matrix(cov),
        "seconds": seconds,
        "solver": solver_used(case, *(ef._opt for ef in frontiers)),
    }


def run_hrp(case, inputs):
    def compute():
        if inputs.prices is not None:
            hrp = HRPOpt(expected_returns.returns_from_prices(inputs.prices))
        else:
            hrp = HRPOpt(cov_matrix=pd.DataFrame(inputs.cov))
        hrp.optimize(linkage_method="single")
        return hrp

    hrp, seconds = timed(case, compute)
    risk_free = case.get("risk_free", 0.02)
    return {
        "weights": vector(hrp.weights),
        **performance(hrp.portfolio_performance(risk_free_rate=risk_free)),
        "cov": matrix(inputs.cov),
        "seconds": seconds,
    }


def run_black_litterman(case, inputs):
    labels = inputs.labels()
    market_caps = pd.Series(require(case, "market_caps"), index=labels, dtype=float)
    # Views are keyed by ticker; with mu/cov input (labels 0..n-1) the JSON key is the index.
    views = {(key if inputs.prices is not None else int(key)): value
             for key, value in require(case, "views").items()}
    confidences = case.get("confidences")

    def compute():
        cov = pd.DataFrame(estimate_cov(case, inputs), index=labels, columns=labels)
        if inputs.market_prices is not None:
            delta = black_litterman.market_implied_risk_aversion(inputs.market_prices)
        else:
            delta = case.get("risk_aversion", 1.0)
        prior = black_litterman.market_implied_prior_returns(market_caps, delta, cov)
        bl = BlackLittermanModel(
            cov,
            pi=prior,
            absolute_views=views,
            omega="idzorek" if confidences is not None else None,
            view_confidences=confidences,
        )
        posterior = bl.bl_returns()
        bl.bl_weights(delta)
        return cov, prior, posterior, bl

    (cov, prior, posterior, bl), seconds = timed(case, compute)
    risk_free = case.get("risk_free", 0.02)
    return {
        "weights": vector(bl.weights),
        **performance(bl.portfolio_performance(risk_free_rate=risk_free)),
        "mu": vector(prior),
        "cov": matrix(cov),
        "bl_returns": vector(posterior),
        "seconds": seconds,
    }


def tail_risk(case, inputs, optimiser_class, minimise):
    """Shared body of cvar and cdar: EfficientCVaR/CDaR(mu, returns, beta=0.95), minimised."""
    prices = inputs.require_prices(case.get("method"))

    def compute():
        mu = estimate_mu(case, inputs)
        returns = expected_returns.returns_from_prices(prices)
        optimiser = optimiser_class(mu, returns, beta=0.95, weight_bounds=weight_bounds(case),
                                    **solver_arguments(case))
        add_l2(case, optimiser)
        minimise(optimiser)
        return mu, optimiser

    (mu, optimiser), seconds = timed(case, compute)
    expected_return, risk = optimiser.portfolio_performance()
    return {
        "weights": vector(optimiser.weights),
        "expected_return": expected_return,
        "objective": risk,
        "mu": vector(mu),
        "seconds": seconds,
        "solver": solver_used(case, optimiser._opt),
    }


def run_cvar(case, inputs):
    return tail_risk(case, inputs, EfficientCVaR, lambda opt: opt.min_cvar())


def run_cdar(case, inputs):
    return tail_risk(case, inputs, EfficientCDaR, lambda opt: opt.min_cdar())


def discrete_weights(case, inputs):
    """The continuous weights to allocate: given, or from max_sharpe (prepared, not timed)."""
    if case.get("weights") is not None:
        return np.asarray(case["weights"], dtype=float)
    source = case.get("weights_from")
    if source != "max_sharpe":
        raise ValueError("discrete allocation needs 'weights' or 'weights_from': 'max_sharpe'")
    ef = new_frontier(case, estimate_mu(case, inputs), estimate_cov(case, inputs))
    ef.max_sharpe(risk_free_rate=case.get("risk_free", 0.02))
    return ef.weights


def discrete(case, inputs, allocate):
    """Shared body of discrete_greedy and discrete_lp."""
    prices = inputs.require_prices(case.get("method"))
    weights = discrete_weights(case, inputs)
    tickers = list(prices.columns)
    if len(weights) != len(tickers):
        raise ValueError(f"{len(weights)} weights for {len(tickers)} assets")
    total_value = case.get("total_value", 10000)

    def compute():
        latest = get_latest_prices(prices)
        allocation = DiscreteAllocation(dict(zip(tickers, weights)), latest,
                                        total_portfolio_value=total_value)
        return allocate(allocation)

    (allocation, leftover, problem), seconds = timed(case, compute)
    return {
        "weights": vector(weights),
        "units": [int(allocation.get(ticker, 0)) for ticker in tickers],
        "leftover": float(leftover),
        "seconds": seconds,
        "solver": solver_used(case, problem),
    }


def run_discrete_greedy(case, inputs):
    def allocate(allocation):
        units, leftover = allocation.greedy_portfolio()
        return units, leftover, None

    return discrete(case, inputs, allocate)


def run_discrete_lp(case, inputs):
    def allocate(allocation):
        with recorded_solves() as solved:
            units, leftover = allocation.lp_portfolio()
        return units, leftover, solved[-1] if solved else None

    return discrete(case, inputs, allocate)


METHODS = {
    "estimate": run_estimate,
    "min_volatility": run_min_volatility,
    "max_sharpe": run_max_sharpe,
    "efficient_risk": run_efficient_risk,
    "efficient_return": run_efficient_return,
    "quadratic_utility": run_quadratic_utility,
    "frontier": run_frontier,
    "hrp": run_hrp,
    "black_litterman": run_black_litterman,
    "cvar": run_cvar,
    "cdar": run_cdar,
    "discrete_greedy": run_discrete_greedy,
    "discrete_lp": run_discrete_lp,
}


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------

def describe(error):
    """'Type: message', followed by the chain of causes."""
    parts = []
    while error is not None:
        parts.append(f"{type(error).__name__}: {error}")
        error = error.__cause__
    return " <- caused by ".join(parts)


def run_case(case, read_csv):
    result = dict.fromkeys(RESULT_KEYS)
    try:
        if not isinstance(case, dict):
            raise ValueError("a case must be a JSON object")
        result["id"] = case.get("id")
        method = case.get("method")
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        inputs = Inputs(case, read_csv)
        result["assets"] = inputs.assets
        result.update(METHODS[method](case, inputs))
    except Exception as error:  # one failing case never stops the run
        print(f"case {result['id']!r} failed:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        result["error"] = describe(error)
    return result


def json_safe(value):
    """Plain JSON values: numpy scalars to Python numbers, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def versions():
    return {
        "pypfopt": pypfopt.__version__,
        "cvxpy": cp.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def main():
    # Keep stdout for the one JSON answer: route anything else written to fd 1 (Python prints,
    # native solver output) to stderr while the cases run.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr

    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as error:
        raise SystemExit(f"input is not JSON: {error}")
    cases = request.get("cases") if isinstance(request, dict) else None
    if not isinstance(cases, list):
        raise SystemExit('input must be a JSON object {"cases": [...]}')

    frames = {}

    def read_csv(path):
        if path not in frames:
            frames[path] = pd.read_csv(path, parse_dates=True, index_col="date")
        return frames[path]

    results = [run_case(case, read_csv) for case in cases]
    answer.write(json.dumps(json_safe({"versions": versions(), "results": results}),
                            allow_nan=False))
    answer.write("\n")
    answer.close()


if __name__ == "__main__":
    main()
