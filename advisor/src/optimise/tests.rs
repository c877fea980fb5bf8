//! Tests of the optimisers. Reference weights come from PyPortfolioOpt 1.6.0 with
//! `solver="CLARABEL"` and tolerances `tol_gap_abs = tol_gap_rel = tol_feas = 1e-10`, on the
//! deterministic data of [`scenarios`] (the same formula in Python), each case commented with
//! its PyPortfolioOpt call on `ef = EfficientFrontier(mu, S, weight_bounds=...)`.
//!
//! Except `efficient_risk`: maximising return on the risk ellipsoid is flat to second order, so
//! at 1e-10 cvxpy reports "optimal_inaccurate" and its weights move by up to 3.4e-6 when the
//! tolerances tighten; those references use tolerances 1e-14 (and `max_iter=500`), where
//! PyPortfolioOpt converges to Sextant's exact answer.

use super::*;
use proptest::prelude::*;

const N: usize = 8;
const TOLERANCE: f64 = 1e-6;

/// `T x n` returns from sines: a common factor with growing loadings, own noise, a drift.
fn scenarios(t: usize, n: usize) -> DMatrix<f64> {
    DMatrix::from_fn(t, n, |s, i| {
        let (tt, fi) = ((s + 1) as f64, i as f64);
        let f = 0.01 * (0.71 * tt).sin() + 0.004 * (2.3 * tt + 0.4).sin();
        0.0002 * (fi + 1.0)
            + (0.3 + 0.25 * fi) * f
            + 0.008 * (1.0 + 0.1 * fi) * (0.37 * tt * (fi + 2.0) + 1.3 * fi).sin()
    })
}

/// `mu = mean * 252`, `S = cov * 252` (ddof 1), as `R.mean(0) * 252, np.cov(R.T) * 252`.
fn mu_cov(r: &DMatrix<f64>) -> (DVector<f64>, DMatrix<f64>) {
    let t = r.nrows() as f64;
    let mean = r.row_mean().transpose();
    let centred = DMatrix::from_fn(r.nrows(), r.ncols(), |s, i| r[(s, i)] - mean[i]);
    let cov = centred.transpose() * &centred / (t - 1.0) * 252.0;
    (mean * 252.0, cov)
}

fn data() -> (DVector<f64>, DMatrix<f64>) {
    mu_cov(&scenarios(150, N))
}

fn long_only() -> Constraints {
    Constraints::long_only(N)
}

fn l2() -> Constraints {
    Constraints {
        l2_gamma: 0.05,
        ..long_only()
    }
}

/// `ef.add_objective(objective_functions.transaction_cost, w_prev=PREVIOUS, k=0.002)`.
const PREVIOUS: [f64; N] = [0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];

fn costs() -> Constraints {
    Constraints {
        current: Some(DVector::from_row_slice(&PREVIOUS)),
        transaction_cost: 0.002,
        ..long_only()
    }
}

fn group(name: &str, members: &[usize], lower: f64, upper: f64) -> GroupLimit {
    GroupLimit {
        name: name.into(),
        members: members.to_vec(),
        lower,
        upper,
    }
}

/// `ef.add_sector_constraints({0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c", 6: "d", 7: "d"},
/// {"b": 0.2, "d": 0.1}, {"a": 0.5, "c": 0.3})`.
fn sectors() -> Constraints {
    let inf = f64::INFINITY;
    Constraints {
        groups: vec![
            group("a", &[0, 1], -inf, 0.5),
            group("b", &[2, 3], 0.2, inf),
            group("c", &[4, 5], -inf, 0.3),
            group("d", &[6, 7], 0.1, inf),
        ],
        ..long_only()
    }
}

fn shorts() -> Constraints {
    Constraints::bounded(N, -1.0, 1.0)
}

fn narrow() -> Constraints {
    Constraints::bounded(N, 0.02, 0.3)
}

struct Case {
    constraints: fn() -> Constraints,
    objective: Objective,
    weights: [f64; N],
}

#[rustfmt::skip]
const REFERENCE: &[Case] = &[
    // ef.min_volatility()
    Case { constraints: long_only, objective: Objective::MinVolatility, weights: [0.5944068801052864, 0.2854467661029452, 0.1198026727454056, 0.0003436809520139, 5.18543e-11, 2.07829e-11, 1.28229e-11, 8.8891e-12] },
    // ef.max_sharpe(0.02)
    Case { constraints: long_only, objective: Objective::MaxSharpe { risk_free: 0.02 }, weights: [0.3436371357557399, 1.1068e-12, 8.223e-13, 2.610767e-10, 0.1352355844217121, 0.135476285272388, 0.1609121995409552, 0.2247387947461991] },
    // ef.efficient_risk(0.12)  (tolerances 1e-14)
    Case { constraints: long_only, objective: Objective::EfficientRisk { target_volatility: 0.12 }, weights: [0.47090513523307, 0.0344877337302697, 1.1855e-12, 0.0486786289745998, 0.1183095460106339, 0.0982170367975877, 0.098064442700964, 0.1313374765516893] },
    // ef.efficient_return(0.25)
    Case { constraints: long_only, objective: Objective::EfficientReturn { target_return: 0.25 }, weights: [0.2982875775607808, 2.12968e-11, 1.57664e-11, 7.240809e-10, 0.1362606811305032, 0.1424773222399548, 0.1751061247045095, 0.2478682936031076] },
    // ef.max_quadratic_utility(3.0)
    Case { constraints: long_only, objective: Objective::QuadraticUtility { risk_aversion: 3.0 }, weights: [3.08616e-11, 2.62948e-11, 3.16626e-11, 5.92805e-11, 2.142035e-10, 2.0006849e-09, 0.2708165300590166, 0.7291834675779948] },
    // L2_reg(gamma=0.05); ef.min_volatility()
    Case { constraints: l2, objective: Objective::MinVolatility, weights: [0.3015839589407654, 0.228837376756129, 0.1786941631532592, 0.1319749595618043, 0.0906786418578348, 0.0518475289108277, 0.0163833620669764, 8.7524031e-09] },
    // L2_reg(gamma=0.05); ef.max_sharpe(0.02)
    Case { constraints: l2, objective: Objective::MaxSharpe { risk_free: 0.02 }, weights: [0.0875424521326704, 0.0062624441275848, 0.0156546852514938, 0.0885669999628074, 0.1581657133830209, 0.1779800019030596, 0.205261090871268, 0.2605666123680952] },
    // L2_reg(gamma=0.05); ef.efficient_risk(0.12)  (tolerances 1e-14)
    Case { constraints: l2, objective: Objective::EfficientRisk { target_volatility: 0.12 }, weights: [0.3534996740807614, 0.1044385989737136, 0.0470059590789591, 0.083284539628624, 0.1183610899378929, 0.0963419610938781, 0.0880671727725427, 0.1090010044336285] },
    // L2_reg(gamma=0.05); ef.efficient_return(0.25)
    Case { constraints: l2, objective: Objective::EfficientReturn { target_return: 0.25 }, weights: [0.1362645684951158, 0.0571477352681566, 0.0531387263221226, 0.0989596886251486, 0.1434318221992559, 0.1499994734200578, 0.1629777649378328, 0.1980802207323098] },
    // L2_reg(gamma=0.05); ef.max_quadratic_utility(3.0)
    Case { constraints: l2, objective: Objective::QuadraticUtility { risk_aversion: 3.0 }, weights: [2.8665e-12, 2.3306e-12, 3.1592e-12, 1.07168e-11, 0.0221706984433003, 0.1586730513104914, 0.3057599079868603, 0.5133963422402745] },
    // transaction_cost(w_prev, k=0.002); ef.min_volatility()
    Case { constraints: costs, objective: Objective::MinVolatility, weights: [0.5721818640807605, 0.2401016677961623, 0.1000000000611532, 0.0877164667380052, 1.2649798e-09, 3.5704e-11, 1.482e-11, 8.4149e-12] },
    // transaction_cost(w_prev, k=0.002); ef.max_quadratic_utility(3.0)
    Case { constraints: costs, objective: Objective::QuadraticUtility { risk_aversion: 3.0 }, weights: [2.661e-13, 2.382e-13, 2.626e-13, 3.896e-13, 2.4202e-12, 1.22109e-10, 0.270816531237472, 0.7291834686368422] },
    // transaction_cost(w_prev, k=0.002); ef.max_sharpe(0.02)
    Case { constraints: costs, objective: Objective::MaxSharpe { risk_free: 0.02 }, weights: [0.3247612588307715, 3.00913e-11, 2.54529e-11, 0.0186612691467813, 0.1325887464454551, 0.1343399101244001, 0.1614872077744172, 0.2281616076226309] },
    // transaction_cost(w_prev, k=0.002); ef.efficient_risk(0.12)  (tolerances 1e-14)
    Case { constraints: costs, objective: Objective::EfficientRisk { target_volatility: 0.12 }, weights: [0.4529665746916592, 0.0488340510031832, 9.9348e-12, 0.0602206403485271, 0.1105602462735283, 0.099999999998238, 0.0999999999941329, 0.1274184876807964] },
    // add_sector_constraints; ef.min_volatility()
    Case { constraints: sectors, objective: Objective::MinVolatility, weights: [0.4661280736433685, 0.0338719263556925, 0.3088275836378845, 0.0911724163165203, 3.79312e-11, 6.9181e-12, 0.0989887678678221, 0.0010112321338627] },
    // add_sector_constraints; ef.max_sharpe(0.02)
    Case { constraints: sectors, objective: Objective::MaxSharpe { risk_free: 0.02 }, weights: [0.26482221127338, 3.1771e-12, 0.0265172179278681, 0.1734827820730846, 0.103864559153133, 0.1043840371364441, 0.128770676820878, 0.1981585156120351] },
    // add_sector_constraints; ef.efficient_return(0.25)
    Case { constraints: sectors, objective: Objective::EfficientReturn { target_return: 0.25 }, weights: [0.1983734284850047, 6.171e-12, 0.0105475517235168, 0.1894524482778313, 0.1054945923620855, 0.1145518566801928, 0.1493604153422121, 0.2322197071229856] },
    // add_sector_constraints; ef.efficient_risk(0.12)  (tolerances 1e-14)
    Case { constraints: sectors, objective: Objective::EfficientRisk { target_volatility: 0.12 }, weights: [0.4184397955113548, 1.642152e-10, 0.0634361943271792, 0.1365638056822567, 0.1000962317154325, 0.0808778890741073, 0.0811709043706477, 0.1194151791548065] },
    // weight_bounds=(-1, 1); ef.min_volatility()
    Case { constraints: shorts, objective: Objective::MinVolatility, weights: [0.5443272472633888, 0.3151555460651508, 0.1883895125814084, 0.0936541518661442, 0.0276163853459336, -0.0200437303347058, -0.0632345785028763, -0.0858645342844436] },
    // weight_bounds=(-1, 1); ef.max_sharpe(0.02)
    Case { constraints: shorts, objective: Objective::MaxSharpe { risk_free: 0.02 }, weights: [0.4284810368099396, -0.1818161487810446, -0.2059549115896445, 0.0188138479495111, 0.197589996950837, 0.1989757472512678, 0.2331451666407249, 0.3107652647684084] },
    // weight_bounds=(-1, 1); ef.efficient_return(0.4)
    Case { constraints: shorts, objective: Objective::EfficientReturn { target_return: 0.4 }, weights: [0.3775007095381506, -0.4005179905644552, -0.379493671956109, -0.0141210504906189, 0.2723901159799068, 0.2953594319613362, 0.3635727077087652, 0.4853097478230242] },
    // weight_bounds=(-1, 1); ef.efficient_risk(0.15)  (tolerances 1e-14)
    Case { constraints: shorts, objective: Objective::EfficientRisk { target_volatility: 0.15 }, weights: [0.4583021358116857, -0.0538860608553214, -0.1044430702457625, 0.0380791789396075, 0.1538355122825359, 0.1425959063415296, 0.1568512991194794, 0.2086650986062458] },
    // weight_bounds=(-1, 1); ef.max_quadratic_utility(3.0)
    Case { constraints: shorts, objective: Objective::QuadraticUtility { risk_aversion: 3.0 }, weights: [0.2572441068209061, -0.9164099393432148, -0.7888512183884554, -0.0918106063537734, 0.4488348084251783, 0.5227172199783088, 0.6712359530148282, 0.8970396758462221] },
    // weight_bounds=(0.02, 0.3); ef.min_volatility()
    Case { constraints: narrow, objective: Objective::MinVolatility, weights: [0.2999999999711897, 0.2999999998851386, 0.2663773598107818, 0.053622640084412, 0.0200000001372717, 0.0200000000533881, 0.0200000000338578, 0.0200000000239602] },
    // weight_bounds=(0.02, 0.3); ef.max_sharpe(0.02)
    Case { constraints: narrow, objective: Objective::MaxSharpe { risk_free: 0.02 }, weights: [0.2999999999976238, 0.0200000000172128, 0.0200000000114295, 0.0200000003120518, 0.1321721085287652, 0.1313922078953612, 0.1559181377883734, 0.2205175454491822] },
    // weight_bounds=(0.02, 0.3); ef.efficient_risk(0.12)  (tolerances 1e-14)
    Case { constraints: narrow, objective: Objective::EfficientRisk { target_volatility: 0.12 }, weights: [0.2999999999985552, 0.1565060648302851, 0.0482370303059607, 0.0925900141026174, 0.1326575885663791, 0.0939709437387614, 0.0767994039581011, 0.0992389544993404] },
];

fn max_difference(a: &DVector<f64>, b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn weights_match_pypfopt() {
    let (mu, cov) = data();
    for case in REFERENCE {
        let c = (case.constraints)();
        let w = optimise(Some(&mu), &cov, &c, &case.objective)
            .unwrap_or_else(|e| panic!("{:?}: {e}", case.objective));
        let d = max_difference(&w, &case.weights);
        assert!(
            d < TOLERANCE,
            "{:?} under {c:?}: differs by {d}: {w}",
            case.objective
        );
    }
}

#[test]
fn clarabel_and_the_active_set_route_agree() {
    let (mu, cov) = data();
    for case in REFERENCE {
        let c = (case.constraints)();
        let input = Input::new(Some(&mu), &cov, &c, true).expect("valid");
        let fast = optimise(Some(&mu), &cov, &c, &case.objective).expect("solves");
        let slow = DVector::from_vec(input.solve_conic(&case.objective).expect("solves"));
        if let Objective::EfficientRisk { target_volatility } = case.objective {
            // Max return on the risk ellipsoid is flat to second order, so a conic solver's
            // weights are only good to ~1e-6 there; compare what it optimises instead.
            let f = performance(&fast, Some(&mu), &cov, 0.0);
            let s = performance(&slow, Some(&mu), &cov, 0.0);
            assert!(f.volatility <= target_volatility + 1e-9);
            assert!(f.expected_return >= s.expected_return - 1e-9, "{c:?}");
            continue;
        }
        let d = max_difference(&fast, slow.as_slice());
        assert!(
            d < TOLERANCE,
            "{:?} under {c:?}: routes differ by {d}",
            case.objective
        );
    }
}

#[test]
fn frontier_matches_pypfopt_efficient_return() {
    // rmv = 0.0828582319285575 (min_volatility), rmax = 0.3906808034037642 (_max_return);
    // the middle points are ef.efficient_return(t) for t in np.linspace(rmv, rmax, 6)[1:5].
    #[rustfmt::skip]
    let middle = [
        // frontier efficient_return(0.14442274622359885)
        [0.5011841853816207, 0.1300749925969411, 0.0415290679071407, 0.0657823735367775, 0.0909173949370929, 0.061522778333887, 0.0471421849725945, 0.0618470223339457],
        // frontier efficient_return(0.2059872605186402)
        [0.4375393805392716, 5.9835383e-08, 6.6195052e-09, 0.033590501574195, 0.127580612454804, 0.1136888948853208, 0.1219224346522601, 0.1656781094392592],
        // frontier efficient_return(0.26755177481368153)
        [0.236214874162551, 9.39402e-11, 8.34759e-11, 2.3134373e-09, 0.1376637932717022, 0.1520600678807957, 0.1945342145994344, 0.2795270475946632],
        // frontier efficient_return(0.32911628910872287)
        [0.0184889852503409, 1.830675e-10, 1.869265e-10, 9.212362e-10, 0.1425853435595352, 0.1856724576773097, 0.2626800828076262, 0.3905731294139579],
    ];
    let (mu, cov) = data();
    let points = frontier(&mu, &cov, &long_only(), 6, 0.02).expect("frontier");
    assert_eq!(points.len(), 6);
    assert!(max_difference(&points[0].weights, &REFERENCE[0].weights) < TOLERANCE);
    for (p, want) in points[1..5].iter().zip(&middle) {
        assert!(
            max_difference(&p.weights, want) < TOLERANCE,
            "{}",
            p.weights
        );
    }
    let mut top = [0.0; N];
    top[N - 1] = 1.0;
    assert!(max_difference(&points[5].weights, &top) < 1e-9);
    assert!((points[5].performance.expected_return - 0.3906808034037642).abs() < 1e-9);
    for pair in points.windows(2) {
        assert!(pair[1].performance.expected_return > pair[0].performance.expected_return);
        assert!(pair[1].performance.volatility > pair[0].performance.volatility);
    }
}

#[test]
fn performance_follows_portfolio_performance() {
    // ef.min_volatility(); ef.portfolio_performance(risk_free_rate=0.02) ->
    // (0.0828582319285575, 0.07347362838237281, ...); Sharpe = (0.0828... - 0.02) / 0.0734...
    let (mu, cov) = data();
    let w = DVector::from_row_slice(&REFERENCE[0].weights);
    let p = performance(&w, Some(&mu), &cov, 0.02);
    assert!((p.expected_return - 0.0828582319285575).abs() < 1e-9);
    assert!((p.volatility - 0.07347362838237281).abs() < 1e-9);
    assert!((p.sharpe - (p.expected_return - 0.02) / p.volatility).abs() < 1e-12);
    let q = performance(&w, None, &cov, 0.02);
    assert!(q.expected_return.is_nan() && q.sharpe.is_nan());
}

fn error_of(c: &Constraints, objective: Objective) -> AdvisorError {
    let (mu, cov) = data();
    optimise(Some(&mu), &cov, c, &objective).expect_err("should fail")
}

#[test]
fn unreachable_targets_name_the_target_and_the_range() {
    // PyPortfolioOpt: "The minimum volatility is 0.069" (sqrt(1 / sum(pinv(S))) = 0.06888...).
    let e = error_of(
        &long_only(),
        Objective::EfficientRisk {
            target_volatility: 0.05,
        },
    );
    assert_eq!(
        (e.code(), e.field()),
        ("impossible_target", Some("target_volatility"))
    );
    assert!(e.to_string().contains("0.0688804391"), "{e}");
    // Above the global minimum but below the long-only minimum 0.07347...
    let e = error_of(
        &long_only(),
        Objective::EfficientRisk {
            target_volatility: 0.07,
        },
    );
    assert_eq!(e.field(), Some("target_volatility"));
    assert!(e.to_string().contains("0.0734736"), "{e}");
    // PyPortfolioOpt: "target_return must be lower than the maximum possible return".
    let e = error_of(
        &long_only(),
        Objective::EfficientReturn { target_return: 0.5 },
    );
    assert_eq!(
        (e.code(), e.field()),
        ("impossible_target", Some("target_return"))
    );
    assert!(e.to_string().contains("0.3906808"), "{e}");
    let e = error_of(&long_only(), Objective::MaxSharpe { risk_free: 0.5 });
    assert_eq!(e.field(), Some("risk_free"));
    let capped = Constraints::bounded(N, 0.0, 0.2);
    let e = error_of(&capped, Objective::MaxSharpe { risk_free: 0.35 });
    assert_eq!(
        (e.code(), e.field()),
        ("impossible_target", Some("risk_free"))
    );
}

#[test]
fn a_target_below_the_min_volatility_return_gives_min_volatility() {
    let (mu, cov) = data();
    let w = optimise(
        Some(&mu),
        &cov,
        &long_only(),
        &Objective::EfficientReturn {
            target_return: 0.01,
        },
    )
    .expect("solves");
    assert!(max_difference(&w, &REFERENCE[0].weights) < TOLERANCE);
}

#[test]
fn infeasible_constraints_are_named() {
    let inf = f64::INFINITY;
    let cases: Vec<(Constraints, &str)> = vec![
        (Constraints::bounded(N, 0.2, 1.0), "bounds"),
        (Constraints::bounded(N, 0.0, 0.1), "bounds"),
        (
            Constraints {
                upper: DVector::from_element(N, 0.3),
                groups: vec![group("equity", &[0, 1], 0.7, inf)],
                ..long_only()
            },
            "groups.equity",
        ),
        (
            Constraints {
                groups: vec![group("x", &[0, 1], 0.6, inf), group("y", &[2, 3], 0.6, inf)],
                ..long_only()
            },
            "groups",
        ),
        (
            Constraints {
                upper: DVector::from_element(N, 0.5),
                current: Some(DVector::from_fn(N, |i, _| f64::from(i == 0))),
                max_turnover: Some(0.1),
                ..long_only()
            },
            "max_turnover",
        ),
        (
            Constraints {
                groups: vec![group("first", &[0], -inf, 0.5)],
                current: Some(DVector::from_fn(N, |i, _| f64::from(i == 0))),
                max_turnover: Some(0.3),
                ..long_only()
            },
            "max_turnover",
        ),
        (
            Constraints {
                upper: DVector::from_element(N, 0.4),
                cardinality: Some(Cardinality {
                    max_assets: 2,
                    min_weight: 0.0,
                }),
                ..long_only()
            },
            "cardinality",
        ),
    ];
    for (c, field) in cases {
        let e = error_of(&c, Objective::MinVolatility);
        assert_eq!(
            (e.code(), e.field()),
            ("infeasible_constraints", Some(field)),
            "{e}"
        );
    }
    let mut flipped = long_only();
    flipped.lower[3] = 0.5;
    flipped.upper[3] = 0.4;
    assert_eq!(
        error_of(&flipped, Objective::MinVolatility).field(),
        Some("bounds[3]")
    );
}

#[test]
fn invalid_inputs_are_named() {
    let (mu, cov) = data();
    let e = optimise(
        None,
        &cov,
        &long_only(),
        &Objective::MaxSharpe { risk_free: 0.02 },
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("mu"));
    let mut bad = cov.clone();
    bad[(0, 0)] = -1.0;
    let e = optimise(Some(&mu), &bad, &long_only(), &Objective::MinVolatility).unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("not_positive_semidefinite", Some("cov"))
    );
    let e = optimise(
        Some(&mu),
        &cov,
        &long_only(),
        &Objective::QuadraticUtility { risk_aversion: 0.0 },
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("risk_aversion"));
    let c = Constraints {
        transaction_cost: 0.01,
        ..long_only()
    };
    let e = optimise(Some(&mu), &cov, &c, &Objective::MinVolatility).unwrap_err();
    assert_eq!(e.field(), Some("current"));
    assert!(frontier(&mu, &cov, &long_only(), 0, 0.02).is_err());
}

#[test]
fn a_singular_covariance_still_solves() {
    // Asset 8 duplicates asset 7: PSD but singular; min volatility stays well defined in
    // variance, and the weights must stay feasible.
    let r = scenarios(150, N);
    let r = DMatrix::from_fn(150, N + 1, |s, i| r[(s, i.min(N - 1))]);
    let (mu, cov) = mu_cov(&r);
    for objective in [
        Objective::MinVolatility,
        Objective::MaxSharpe { risk_free: 0.02 },
    ] {
        let w =
            optimise(Some(&mu), &cov, &Constraints::long_only(N + 1), &objective).expect("solves");
        assert!((w.sum() - 1.0).abs() < 1e-8 && w.iter().all(|&v| v >= 0.0));
    }
}

#[test]
fn turnover_cap_holds_and_binds() {
    let (mu, cov) = data();
    let current = DVector::from_element(N, 1.0 / N as f64);
    let c = Constraints {
        current: Some(current.clone()),
        max_turnover: Some(0.2),
        ..long_only()
    };
    let w = optimise(Some(&mu), &cov, &c, &Objective::MinVolatility).expect("solves");
    let turnover: f64 = (&w - &current).abs().sum();
    assert!(
        turnover <= 0.2 + 1e-8 && turnover > 0.2 - 1e-6,
        "turnover {turnover}"
    );
    assert!((w.sum() - 1.0).abs() < 1e-9);
    // Better than standing still, worse than the uncapped minimum.
    let var = |w: &DVector<f64>| (&cov * w).dot(w);
    let free = DVector::from_row_slice(&REFERENCE[0].weights);
    assert!(var(&w) < var(&current) && var(&w) > var(&free));
    let s = optimise(
        Some(&mu),
        &cov,
        &c,
        &Objective::MaxSharpe { risk_free: 0.02 },
    )
    .expect("solves");
    assert!((&s - &current).abs().sum() <= 0.2 + 1e-7);
}

#[test]
fn frontier_with_a_turnover_cap_uses_clarabel_and_respects_it() {
    let (mu, cov) = data();
    let current = DVector::from_element(N, 1.0 / N as f64);
    let c = Constraints {
        current: Some(current.clone()),
        max_turnover: Some(0.5),
        ..long_only()
    };
    let points = frontier(&mu, &cov, &c, 5, 0.02).expect("frontier");
    for p in &points {
        assert!((&p.weights - &current).abs().sum() <= 0.5 + 1e-7);
        assert!((p.weights.sum() - 1.0).abs() < 1e-8);
    }
    for pair in points.windows(2) {
        assert!(pair[1].performance.expected_return > pair[0].performance.expected_return);
    }
}

/// Degenerate vertices (as many active rows as free assets where the target row joins)
/// stall the continuation; it must step past them rather than give up.
#[test]
fn the_continuation_steps_past_degenerate_vertices() {
    let inf = f64::INFINITY;
    #[rustfmt::skip]
    let cases: [([f64; 3], [f64; 9], Option<f64>); 3] = [
        ([0.0202811411722897, 0.0, 0.0],
         [0.10179166030934182, 0.0, 0.0, 0.0, 0.0025, 0.0, 0.0, 0.0, 0.0025], None),
        ([0.17707203088755394, 0.0986408623705283, 0.0],
         [0.0025, 0.0, 0.0, 0.0, 0.15581352795160938, 0.0, 0.0, 0.0, 0.0025], Some(0.31)),
        ([0.18790006662076877, 0.16826832391223753, 0.16834798085777036],
         [0.015138974785614757, -0.0034084409975602336, 0.0, -0.0034084409975602336,
          0.010282414276158433, 0.0, 0.0, 0.0, 0.02287669509269157], Some(0.31)),
    ];
    for (mu, cov, cap) in cases {
        let mu = DVector::from_row_slice(&mu);
        let cov = DMatrix::from_row_slice(3, 3, &cov);
        let mut c = Constraints::bounded(3, 0.0, 0.35);
        if let Some(cap) = cap {
            c.groups.push(group("g", &[0], -inf, cap));
        }
        let input = Input::new(Some(&mu), &cov, &c, true).expect("valid");
        let r_max = max_return(&mu, &c).expect("bounded");
        let objective = Objective::MaxSharpe { risk_free: 0.0 };
        let fast = path::max_sharpe(&input, 0.0, r_max)
            .expect("runs")
            .expect("no fallback");
        let slow = DVector::from_vec(input.solve_conic(&objective).expect("solves"));
        let fast = DVector::from_vec(fast);
        let (f, s) = (
            objective_value(&fast, &mu, &cov, &objective),
            objective_value(&slow, &mu, &cov, &objective),
        );
        assert!(
            f <= s + 1e-10 && max_difference(&fast, slow.as_slice()) < 1e-5,
            "{fast} vs {slow}"
        );
        let targets = |r_mv: f64| vec![r_mv, 0.5 * (r_mv + r_max), r_max];
        assert!(path::frontier(&input, &targets, r_max)
            .expect("runs")
            .is_some());
    }
}

/// Every subset of at most `k` assets, as index lists.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (1u32..1 << n)
        .filter(|m| m.count_ones() as usize <= k)
        .map(|m| (0..n).filter(|&i| m & (1 << i) != 0).collect())
        .collect()
}

#[test]
fn cardinality_matches_brute_force() {
    let (mu, cov) = data();
    let card = Cardinality {
        max_assets: 3,
        min_weight: 0.1,
    };
    let c = Constraints {
        cardinality: Some(card.clone()),
        ..long_only()
    };
    for objective in [
        Objective::MinVolatility,
        Objective::MaxSharpe { risk_free: 0.02 },
        Objective::EfficientReturn { target_return: 0.3 },
    ] {
        let w = optimise(Some(&mu), &cov, &c, &objective).expect("solves");
        let held = w.iter().filter(|&&v| v > 1e-9).count();
        assert!(
            held <= 3 && w.iter().all(|&v| v <= 1e-9 || v >= 0.1 - 1e-9),
            "{w}"
        );
        // The best portfolio over every support, each solved with its bounds fixed.
        let score = |w: &DVector<f64>| {
            let p = performance(w, Some(&mu), &cov, 0.02);
            match objective {
                Objective::MaxSharpe { .. } => -p.sharpe,
                _ => p.volatility,
            }
        };
        let best = subsets(N, 3)
            .into_iter()
            .filter_map(|s| {
                let mut b = long_only();
                for i in 0..N {
                    let inside = s.contains(&i);
                    b.lower[i] = if inside { 0.1 } else { 0.0 };
                    b.upper[i] = if inside { 1.0 } else { 0.0 };
                }
                optimise(Some(&mu), &cov, &b, &objective).ok()
            })
            .map(|w| score(&w))
            .fold(f64::INFINITY, f64::min);
        assert!(
            (score(&w) - best).abs() < 1e-8,
            "{objective:?}: {} vs {best}",
            score(&w)
        );
    }
}

/// A random problem: a factor covariance, returns, bounds (a quarter of them allowing
/// shorts), maybe a cap on a group.
fn problem() -> impl Strategy<Value = (DVector<f64>, DMatrix<f64>, Constraints)> {
    (3usize..9).prop_flat_map(|n| {
        (
            proptest::collection::vec(-1.0f64..1.0, n * 3),
            proptest::collection::vec(0.05f64..0.4, n),
            proptest::collection::vec(-0.05f64..0.3, n),
            proptest::collection::vec(0.0f64..0.1, n),
            proptest::collection::vec(0.35f64..1.0, n),
            proptest::option::of(0.0f64..0.5),
            proptest::bool::weighted(0.25),
        )
            .prop_map(move |(b, idio, mu, lo, hi, group_upper, shorts)| {
                let b = DMatrix::from_row_slice(n, 3, &b) * 0.15;
                let mut cov = &b * b.transpose();
                for i in 0..n {
                    cov[(i, i)] += idio[i] * idio[i];
                }
                let scale = (lo.iter().sum::<f64>() / 0.9).max(1.0);
                let mut c = Constraints::long_only(n);
                c.lower = DVector::from_iterator(n, lo.iter().map(|v| v / scale));
                if shorts {
                    c.lower.iter_mut().for_each(|v| *v -= 0.5);
                }
                c.upper = DVector::from_vec(hi);
                if let Some(u) = group_upper {
                    // A cap on the first half that the bounds leave room for.
                    let members: Vec<usize> = (0..n / 2).collect();
                    let least: f64 = members.iter().map(|&i| c.lower[i]).sum();
                    let others: f64 = (n / 2..n).map(|i| c.upper[i]).sum();
                    let cap = u.max(least + 0.01).max(1.0 - others + 0.01);
                    c.groups.push(group("g", &members, -f64::INFINITY, cap));
                }
                (DVector::from_vec(mu), cov, c)
            })
    })
}

/// Feasible portfolios to compare against: the central point and mixes with the greedy
/// max-return corner.
fn feasible_portfolios(mu: &DVector<f64>, c: &Constraints) -> Vec<DVector<f64>> {
    let centre = DVector::from_vec(central_point(c));
    let corner = DVector::from_vec(greedy_max_return(mu, c));
    (0..=10)
        .map(|k| &centre * (1.0 - k as f64 / 10.0) + &corner * (k as f64 / 10.0))
        .filter(|w| {
            c.groups.iter().all(|g| {
                let s: f64 = g.members.iter().map(|&i| w[i]).sum();
                s <= g.upper + 1e-12 && s >= g.lower - 1e-12
            })
        })
        .collect()
}

/// What `objective` minimises, for comparing answers (max Sharpe: minus the Sharpe ratio).
fn objective_value(
    w: &DVector<f64>,
    mu: &DVector<f64>,
    cov: &DMatrix<f64>,
    objective: &Objective,
) -> f64 {
    let variance = (cov * w).dot(w);
    match *objective {
        Objective::QuadraticUtility { risk_aversion } => 0.5 * risk_aversion * variance - mu.dot(w),
        Objective::MaxSharpe { risk_free } => -(mu.dot(w) - risk_free) / variance.sqrt(),
        _ => variance,
    }
}

fn assert_feasible(w: &DVector<f64>, c: &Constraints) -> Result<(), TestCaseError> {
    prop_assert!((w.sum() - 1.0).abs() < 1e-8, "sum {}", w.sum());
    for i in 0..w.len() {
        prop_assert!(
            w[i] >= c.lower[i] - 1e-9 && w[i] <= c.upper[i] + 1e-9,
            "w[{}] = {}",
            i,
            w[i]
        );
    }
    for g in &c.groups {
        let s: f64 = g.members.iter().map(|&i| w[i]).sum();
        prop_assert!(s <= g.upper + 1e-8 && s >= g.lower - 1e-8);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn min_volatility_is_feasible_and_least_volatile((mu, cov, c) in problem()) {
        let w = optimise(Some(&mu), &cov, &c, &Objective::MinVolatility).expect("solves");
        assert_feasible(&w, &c)?;
        let var = |w: &DVector<f64>| (&cov * w).dot(w);
        for other in feasible_portfolios(&mu, &c) {
            prop_assert!(var(&w) <= var(&other) + 1e-12);
        }
    }

    #[test]
    fn the_active_set_route_agrees_with_clarabel((mu, cov, c) in problem()) {
        let input = Input::new(Some(&mu), &cov, &c, true).expect("valid");
        // The exact route must not have fallen back to clarabel for min volatility (max Sharpe
        // may, rarely, at a degenerate vertex it cannot step past).
        prop_assert!(path::min_volatility(&input).expect("runs").is_some());
        let r_max = max_return(&mu, &c).expect("bounded");
        let objectives = [
            Objective::MinVolatility,
            Objective::QuadraticUtility { risk_aversion: 2.0 },
            Objective::EfficientReturn { target_return: 0.5 * r_max },
            Objective::MaxSharpe { risk_free: 0.0 },
        ];
        for objective in objectives {
            let fast = optimise(Some(&mu), &cov, &c, &objective);
            let slow = input.solve_conic(&objective);
            match (fast, slow) {
                (Ok(f), Ok(s)) => {
                    assert_feasible(&f, &c)?;
                    // Clarabel's weights are good to sqrt(gap / curvature), a few 1e-6 where the
                    // objective is flat; the exact route must never do worse on the objective.
                    let s = DVector::from_vec(s);
                    let (of, os) = (objective_value(&f, &mu, &cov, &objective), objective_value(&s, &mu, &cov, &objective));
                    prop_assert!(of <= os + 1e-8 * (1.0 + os.abs()), "{:?}: {} vs {}", objective, of, os);
                    prop_assert!(max_difference(&f, s.as_slice()) < 1e-4, "{:?}: {} vs {}", objective, f, s);
                }
                // The checks PyPortfolioOpt makes first (e.g. max Sharpe needs a return above
                // the risk-free rate) come before either route.
                (Err(a), _) => {
                    let impossible = matches!(a, AdvisorError::ImpossibleTarget { .. });
                    prop_assert!(impossible, "{}", a);
                }
                (f, s) => prop_assert!(false, "{:?}: {:?} vs {:?}", objective, f, s),
            }
        }
    }

    #[test]
    fn frontier_rises_in_return_and_risk((mu, cov, c) in problem()) {
        let points = frontier(&mu, &cov, &c, 7, 0.0).expect("frontier");
        for p in &points {
            assert_feasible(&p.weights, &c)?;
        }
        for pair in points.windows(2) {
            prop_assert!(pair[1].performance.expected_return >= pair[0].performance.expected_return - 1e-10);
            prop_assert!(pair[1].performance.volatility >= pair[0].performance.volatility - 1e-10);
        }
    }
}
