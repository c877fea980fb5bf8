use super::*;
use crate::covariance::{
    cov_to_corr, is_positive_semidefinite, min_eigenvalue, validate_covariance,
};
use crate::market::PriceTable;
use proptest::prelude::*;

/// 25 days of 5 hand-made prices: E lists on day 7, D has a two-day gap, B a one-day gap.
pub(crate) const FIXTURE_CSV: &str = "date,A,B,C,D,E
2023-01-02,49.95,100.92,151.63,199.29,
2023-01-03,49.05,99.96,151.72,197.56,
2023-01-04,48.78,99.86,150.57,197.52,
2023-01-05,48.52,99.72,148.45,202.41,
2023-01-06,48.45,99.15,150.9,198.33,
2023-01-09,47.59,99.03,148.2,193.24,
2023-01-10,47.44,99.1,147.87,194.42,232.09
2023-01-11,47.47,101.18,151.39,200.74,239.5
2023-01-12,47.04,102.38,150.33,198.8,230.22
2023-01-13,47.28,101.1,148.87,196.35,233.52
2023-01-16,47.14,101.88,147.69,,243.05
2023-01-17,47.24,101.79,148.54,,244.98
2023-01-18,47.63,102.12,148.0,201.02,244.66
2023-01-19,47.16,99.95,148.78,197.93,239.72
2023-01-20,47.13,99.37,150.26,198.27,235.38
2023-01-23,47.38,99.89,151.77,197.35,244.36
2023-01-24,47.04,99.67,150.68,194.08,235.5
2023-01-25,46.47,,149.23,190.07,233.53
2023-01-26,45.99,97.35,147.86,187.44,221.24
2023-01-27,46.15,95.37,145.51,184.29,213.09
2023-01-30,45.09,94.44,143.34,179.17,200.06
2023-01-31,45.35,92.23,140.47,176.95,204.53
2023-02-01,45.07,90.72,138.97,173.1,199.02
2023-02-02,44.93,90.93,136.35,168.29,204.37
2023-02-03,45.71,92.39,132.91,165.77,205.48
";

/// PyPortfolioOpt 1.6.0 (pandas 3.1.1, scikit-learn 1.9.1) on [`FIXTURE_CSV`] read with
/// `pd.read_csv(..., index_col="date", parse_dates=True)` as `prices`, and on
/// [`synthetic_returns`] as the DataFrame `r`; each doc line is the call that produced it
/// (`expected_returns.*`, `risk_models.*`).
#[rustfmt::skip]
pub(crate) mod reference {
/// `mean_historical_return(prices)`
pub const MEAN_CAGR: [f64; 5] = [-0.6060009708937404, -0.5237280862421723, -0.749324729750575, -0.9172544194806806, -0.8182042193516628];
/// `mean_historical_return(prices, compounding=False)`
pub const MEAN_ARITH: [f64; 5] = [-0.9194951297606476, -0.724253735378658, -1.361900330073955, -2.450182931605107, -1.5778747064447511];
/// `ema_historical_return(prices, span=5)`
pub const EMA_CAGR_SPAN5: [f64; 5] = [1.0131433078180017, -0.12074417776223678, -0.9903281982236849, -0.9928343913317871, -0.3340757372942299];
/// `ema_historical_return(prices, compounding=False)`
pub const EMA_ARITH: [f64; 5] = [-0.9035958113950147, -0.740419227142053, -1.3996475673541908, -2.5075802230438833, -1.6133179755679732];
/// `capm_return(prices, risk_free_rate=0.02)`
pub const CAPM_RF2: [f64; 5] = [-0.35472218758965024, -0.47754439741546095, -0.4174154613708351, -0.775053703115187, -2.1296122713220047];
/// `capm_return(prices, compounding=False)`
pub const CAPM_ARITH: [f64; 5] = [-0.6627530770925076, -0.8799828013876109, -0.7736356495357064, -1.406173174806521, -3.801915644596386];
/// `capm_return(prices, market_prices=pd.DataFrame(prices["A"] * 0.5 + prices["C"] * 0.5), risk_free_rate=0.02)`
pub const CAPM_MARKET: [f64; 5] = [-0.16921371968081073, -0.22238559471529087, -0.8963799765116921, -0.6391134019088258, -0.8980026768937454];
/// `sample_cov(prices)`
pub const SAMPLE_COV: [[f64; 5]; 5] = [
    [0.02118794954860574, 0.0061999642497228315, 0.0009252240290259593, 0.009068108992567488, 0.04450524268584553],
    [0.0061999642497228315, 0.03431672808942295, 0.007808347436407667, 0.02168310156943225, 0.04058873377554963],
    [0.0009252240290259593, 0.007808347436407667, 0.037359391288074924, 0.024129781074063654, 0.02336589779393417],
    [0.009068108992567488, 0.02168310156943225, 0.024129781074063654, 0.06222542969041041, 0.04883752837234256],
    [0.04450524268584553, 0.04058873377554963, 0.02336589779393417, 0.04883752837234256, 0.25450663666360734],
];
/// `semicovariance(prices)`
pub const SEMICOV: [[f64; 5]; 5] = [
    [0.01890958366025515, 0.008208568279514515, 0.013405788159610733, 0.02392549147513749, 0.03217907582462708],
    [0.008208568279514515, 0.022260127048777854, 0.013803433139113735, 0.021304555869533833, 0.025434521022344787],
    [0.013405788159610733, 0.013803433139113735, 0.03194611446220751, 0.03347055130389881, 0.030576872483773807],
    [0.02392549147513749, 0.021304555869533833, 0.03347055130389881, 0.05519407362189265, 0.05380422621191482],
    [0.03217907582462708, 0.025434521022344787, 0.030576872483773807, 0.05380422621191482, 0.12875245094475452],
];
/// `exp_cov(prices, span=5)  (repaired: the raw matrix is not PSD)`
pub const EXP_COV_SPAN5: [[f64; 5]; 5] = [
    [0.04737904632244478, 0.0327393496908065, -0.03536336138365293, -0.003153787782278447, 0.049285051507176214],
    [0.0327393496908065, 0.05645398004687239, -0.02324497823760935, -0.002665610683488939, 0.039318428089004244],
    [-0.03536336138365293, -0.02324497823760935, 0.053552925559047226, 0.03038421440284025, -0.03586047551171038],
    [-0.003153787782278447, -0.002665610683488939, 0.03038421440284025, 0.03367147232980493, -0.009819450882593535],
    [0.049285051507176214, 0.039318428089004244, -0.03586047551171038, -0.009819450882593535, 0.1943941606791545],
];
/// `exp_cov(prices)`
pub const EXP_COV: [[f64; 5]; 5] = [
    [0.02094630798072393, 0.006338727080448511, 0.00016037555034445578, 0.008634143405049581, 0.04264253303465073],
    [0.006338727080448511, 0.03380941481437361, 0.007128710067642023, 0.019648692744835206, 0.037964531142754256],
    [0.00016037555034445578, 0.007128710067642023, 0.035771444967209645, 0.023368078035578457, 0.020196442645696058],
    [0.008634143405049581, 0.019648692744835206, 0.023368078035578457, 0.05680580243212267, 0.04557938395772941],
    [0.04264253303465073, 0.037964531142754256, 0.020196442645696058, 0.04557938395772941, 0.2405793396938173],
];
/// `CovarianceShrinkage(prices).ledoit_wolf("constant_variance")`
pub const LW_CV: [[f64; 5]; 5] = [
    [0.0298781313926776, 0.003893597621566916, 0.000694943171861342, 0.00739198960532231, 0.023197801473428887],
    [0.003893597621566916, 0.037622530815493355, 0.0051658287144607466, 0.013706379585444732, 0.018638399037473774],
    [0.000694943171861342, 0.0051658287144607466, 0.04202463068737149, 0.016592752319393122, 0.013371041415677975],
    [0.00739198960532231, 0.013706379585444732, 0.016592752319393122, 0.05664765759594425, 0.03028289487053073],
    [0.023197801473428887, 0.018638399037473774, 0.013371041415677975, 0.03028289487053073, 0.1567092067301721],
];
/// `... .delta`
pub const LW_CV_DELTA: f64 = 0.2162351283283524;
/// `CovarianceShrinkage(prices).ledoit_wolf("single_factor")`
pub const LW_SF: [[f64; 5]; 5] = [
    [0.020305118317413835, 0.005748160965304257, 0.0026245409173520267, 0.010519469764113908, 0.029372280333681503],
    [0.005748160965304257, 0.030186142209564237, 0.007474419534729181, 0.0175399610563846, 0.026879652771669368],
    [0.0026245409173520267, 0.007474419534729181, 0.03580274998440512, 0.020248135860317786, 0.02163429385682886],
    [0.010519469764113908, 0.0175399610563846, 0.020248135860317786, 0.05446016553989452, 0.04434865275261746],
    [0.029372280333681503, 0.026879652771669368, 0.02163429385682886, 0.04434865275261746, 0.18212798117038106],
];
/// `... .delta`
pub const LW_SF_DELTA: f64 = 0.2434445557669174;
/// `CovarianceShrinkage(prices).ledoit_wolf("constant_correlation")`
pub const LW_CC: [[f64; 5]; 5] = [
    [0.02118794954860574, 0.009082820121506534, 0.009476929990538977, 0.012230711687448654, 0.02473530856845621],
    [0.009082820121506534, 0.03431672808942295, 0.01206080078559582, 0.015565396945597491, 0.031479353473352505],
    [0.009476929990538977, 0.01206080078559582, 0.037359391288074924, 0.016240790322280364, 0.03284526446890695],
    [0.012230711687448654, 0.015565396945597491, 0.016240790322280364, 0.06222542969041041, 0.042389356090870016],
    [0.02473530856845621, 0.031479353473352505, 0.03284526446890695, 0.042389356090870016, 0.25450663666360734],
];
/// `... .delta`
pub const LW_CC_DELTA: f64 = 1.0;
// ---- synthetic returns, passed with returns_data=True ----
/// `mean_historical_return(r, returns_data=True)`
pub const S_MEAN_CAGR: [f64; 6] = [0.1341063375108893, 0.23550614777948198, 1.069575431977384, -0.011577145935836142, 1.1583544711450027, 0.6635966152378228];
/// `mean_historical_return(r, returns_data=True, compounding=False)`
pub const S_MEAN_ARITH: [f64; 6] = [0.13536388208491215, 0.22399237606790326, 0.7461654145369633, 0.00585924778182413, 0.7937421926039088, 0.5410047713130793];
/// `ema_historical_return(r, returns_data=True, span=50)`
pub const S_EMA_SPAN50: [f64; 6] = [0.29497622584021377, -0.1628526877448202, 0.8337871989158463, 0.12393033429303402, 2.345123072012939, 1.9038125498798584];
/// `capm_return(r, returns_data=True, risk_free_rate=0.02)`
pub const S_CAPM: [f64; 6] = [0.017576391441122125, 0.07145714294158621, 0.4550829669651113, 0.40820160993851184, 0.9317713641066634, 1.1783893358127477];
/// `sample_cov(r, returns_data=True)`
pub const S_SAMPLE_COV: [[f64; 6]; 6] = [
    [0.019082305406988694, 0.007000454342445973, -0.011942995165328615, -0.020864886461718836, -0.009658414948303391, 0.018527813047010663],
    [0.007000454342445973, 0.025001976385685305, 0.013461283689767484, -0.012634435100503327, -0.026181121900545435, -0.00785807453580343],
    [-0.011942995165328615, 0.013461283689767484, 0.03578113714406835, 0.012846537719382437, -0.0115830959075619, -0.02792247493456684],
    [-0.020864886461718836, -0.012634435100503327, 0.012846537719382437, 0.035226878163448355, 0.017618910207839313, -0.02258409959463099],
    [-0.009658414948303391, -0.026181121900545435, -0.0115830959075619, 0.017618910207839313, 0.04679131400015867, 0.023154800247406005],
    [0.018527813047010663, -0.00785807453580343, -0.02792247493456684, -0.02258409959463099, 0.023154800247406005, 0.06358469233209266],
];
/// `semicovariance(r, returns_data=True)`
pub const S_SEMICOV: [[f64; 6]; 6] = [
    [0.008230452054925716, 0.004419597458237552, 0.0011549898322273718, 3.415182717279844e-05, 0.0010053501170728884, 0.0066397758688431],
    [0.004419597458237552, 0.010041055959183857, 0.004900237159890046, 0.001097600593530534, 0.00020481837064954996, 0.0030462664071365204],
    [0.0011549898322273718, 0.004900237159890046, 0.011743344524356755, 0.007120258620748162, 0.002315690641132233, 0.0006239596715302194],
    [3.415182717279844e-05, 0.001097600593530534, 0.007120258620748162, 0.016039200393270996, 0.009150531937586616, 0.0013902300282806596],
    [0.0010053501170728884, 0.00020481837064954996, 0.002315690641132233, 0.009150531937586616, 0.015220659406675328, 0.0062276868686923816],
    [0.0066397758688431, 0.0030462664071365204, 0.0006239596715302194, 0.0013902300282806596, 0.0062276868686923816, 0.019052238151260337],
];
/// `exp_cov(r, returns_data=True, span=60)`
pub const S_EXP_COV_SPAN60: [[f64; 6]; 6] = [
    [0.02040913650394027, 0.010811883729655468, -0.011532945989586514, -0.02201461250124061, -0.010684236748782473, 0.019208985815735782],
    [0.010811883729655468, 0.02720863295951624, 0.01202197716980488, -0.017475616297491166, -0.02750009692086569, -0.0037082891816445744],
    [-0.011532945989586514, 0.01202197716980488, 0.03316713754501184, 0.009507706445630306, -0.015996823588020643, -0.02843302544690971],
    [-0.02201461250124061, -0.017475616297491166, 0.009507706445630306, 0.0362444773904977, 0.019613946440768477, -0.021446667636122532],
    [-0.010684236748782473, -0.02750009692086569, -0.015996823588020643, 0.019613946440768477, 0.04562238468199101, 0.021960904031319988],
    [0.019208985815735782, -0.0037082891816445744, -0.02843302544690971, -0.021446667636122532, 0.021960904031319988, 0.05826045577196916],
];
/// `CovarianceShrinkage(r, returns_data=True).ledoit_wolf("constant_variance")`
pub const S_LW_CV: [[f64; 6]; 6] = [
    [0.018210093224424333, 0.005877251764914854, -0.010339933032687213, -0.01780164600611823, -0.007961327210390329, 0.013101091932429839],
    [0.005877251764914854, 0.023625392187783197, 0.012089143223224838, -0.010497052341554871, -0.022836824415077193, -0.0061112238407664225],
    [-0.010339933032687213, 0.012089143223224838, 0.03358424354671115, 0.010933035172543135, -0.010935896113008586, -0.020985702627232348],
    [-0.01780164600611823, -0.010497052341554871, 0.010933035172543135, 0.03295610902141858, 0.015013752848179447, -0.015831273623308155],
    [-0.007961327210390329, -0.022836824415077193, -0.010935896113008586, 0.015013752848179447, 0.0438771879859513, 0.017766011883342793],
    [0.013101091932429839, -0.0061112238407664225, -0.020985702627232348, -0.015831273623308155, 0.017766011883342793, 0.0503476594268926],
];
/// `... .delta`
pub const S_LW_CV_DELTA: f64 = 0.02286558781804149;
/// `CovarianceShrinkage(r, returns_data=True).ledoit_wolf("single_factor")`
pub const S_LW_SF: [[f64; 6]; 6] = [
    [0.017846056502615077, 0.005936558909854835, -0.010443611484557584, -0.01798053045415151, -0.0080401750567233, 0.013234719601069436],
    [0.005936558909854835, 0.023388077022869196, 0.012213479570439017, -0.010600336361311403, -0.02306085396120483, -0.006166027552158682],
    [-0.010443611484557584, 0.012213479570439017, 0.03357997205263247, 0.011068332664792258, -0.0109849729000211, -0.021130069432149394],
    [-0.01798053045415151, -0.010600336361311403, 0.011068332664792258, 0.032937138766380755, 0.015228211137794673, -0.015921558013523518],
    [-0.0080401750567233, -0.02306085396120483, -0.0109849729000211, 0.015228211137794673, 0.04411377816049005, 0.018114190019801715],
    [0.013234719601069436, -0.006166027552158682, -0.021130069432149394, -0.015921558013523518, 0.018114190019801715, 0.05073566288819362],
];
/// `... .delta`
pub const S_LW_SF_DELTA: f64 = 0.013014811262970945;
/// `CovarianceShrinkage(r, returns_data=True).ledoit_wolf("constant_correlation")`
pub const S_LW_CC: [[f64; 6]; 6] = [
    [0.019082305406988694, 0.00687242490185816, -0.011825643796545814, -0.020628423386441514, -0.009577461255028447, 0.01822559497441483],
    [0.00687242490185816, 0.02500197638568531, 0.013234371569248345, -0.012513533001180384, -0.025887072742965506, -0.007817018824657051],
    [-0.011825643796545814, 0.013234371569248345, 0.03578113714406835, 0.012618893271552103, -0.011494112165274002, -0.02762675632241219],
    [-0.020628423386441514, -0.012513533001180384, 0.012618893271552103, 0.03522687816344836, 0.01731960002778295, -0.022358865854136947],
    [-0.009577461255028447, -0.025887072742965506, -0.011494112165274002, 0.01731960002778295, 0.04679131400015867, 0.02275954957396381],
    [0.01822559497441483, -0.007817018824657051, -0.02762675632241219, -0.022358865854136947, 0.02275954957396381, 0.06358469233209266],
];
/// `... .delta`
pub const S_LW_CC_DELTA: f64 = 0.013314193301138182;
/// `fix_nonpositive_semidefinite(np.array([[1, .9, .2], [.9, 1, .9], [.2, .9, 1]]))`
pub const REPAIRED: [[f64; 3]; 3] = [
    [1.0407182957447618, 0.8377139227440384, 0.24071829574476114],
    [0.8377139227440384, 1.0952779419908463, 0.8377139227440382],
    [0.2407182957447611, 0.8377139227440382, 1.0407182957447616],
];
}

pub(crate) fn fixture_prices() -> PriceTable {
    PriceTable::from_csv(FIXTURE_CSV.as_bytes()).expect("fixture parses")
}

/// 200 periods of 6 synthetic returns with scattered gaps and a late listing (S5), given
/// to PyPortfolioOpt as `returns_data=True`. Python builds the same table with `math.sin`,
/// `math.cos` and the same operation order.
pub(crate) fn synthetic_returns() -> ReturnTable {
    let value = |t: usize, j: usize| {
        if (3 * t + 5 * j).is_multiple_of(17) || (j == 5 && t < 30) {
            return None;
        }
        let (tf, jf) = (t as f64, j as f64);
        Some(
            0.0003 * (jf + 1.0)
                + 0.01 * (0.37 * tf + 1.1 * jf).sin() * (1.0 + 0.2 * jf)
                + 0.006 * (0.23 * tf * (jf + 1.0)).cos()
                + 0.004 * (0.05 * tf).sin() * ((j % 3) as f64),
        )
    };
    ReturnTable {
        assets: (0..6).map(|j| format!("S{j}")).collect(),
        rows: (0..200)
            .map(|t| (0..6).map(|j| value(t, j)).collect())
            .collect(),
    }
}

/// Every entry within `tol` times the largest absolute reference entry.
pub(crate) fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    let scale = expected.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * scale,
            "entry {i}: got {a:e}, expected {e:e} (tolerance {tol} x {scale:e})"
        );
    }
}

pub(crate) fn assert_vector(actual: Result<DVector<f64>>, expected: &[f64]) {
    assert_close(actual.expect("estimate").as_slice(), expected, 1e-9);
}

pub(crate) fn assert_matrix<const N: usize>(actual: &DMatrix<f64>, expected: &[[f64; N]; N]) {
    let flat: Vec<f64> = expected.iter().flatten().copied().collect();
    let actual: Vec<f64> = actual.transpose().iter().copied().collect();
    assert_close(&actual, &flat, 1e-9);
}

pub(crate) fn matrix<const N: usize>(rows: [[f64; N]; N]) -> DMatrix<f64> {
    DMatrix::from_fn(N, N, |i, j| rows[i][j])
}

use reference as py;

#[test]
fn mean_historical_return_matches_pypfopt() {
    let r = fixture_prices().returns();
    assert_vector(mean_historical_return(&r, true, 252), &py::MEAN_CAGR);
    assert_vector(mean_historical_return(&r, false, 252), &py::MEAN_ARITH);
    let s = synthetic_returns();
    assert_vector(mean_historical_return(&s, true, 252), &py::S_MEAN_CAGR);
    assert_vector(mean_historical_return(&s, false, 252), &py::S_MEAN_ARITH);
}

#[test]
fn ema_historical_return_matches_pypfopt() {
    let r = fixture_prices().returns();
    assert_vector(ema_historical_return(&r, true, 5, 252), &py::EMA_CAGR_SPAN5);
    assert_vector(
        ema_historical_return(&r, false, DEFAULT_RETURN_SPAN, 252),
        &py::EMA_ARITH,
    );
    let s = synthetic_returns();
    assert_vector(ema_historical_return(&s, true, 50, 252), &py::S_EMA_SPAN50);
}

#[test]
fn ewm_follows_pandas_with_gaps() {
    // pd.Series([nan, 1, nan, 2, 3, nan]).ewm(span=3).mean().iloc[-1]
    let x = [None, Some(1.0), None, Some(2.0), Some(3.0), None];
    assert!((ewm_mean_last(&x, 3).unwrap() - 2.5384615384615383).abs() < 1e-15);
    assert_eq!(ewm_mean_last(&[None, None], 3), None);
    assert_eq!(ewm_mean_last(&[Some(0.5); 4], 10), Some(0.5));
}

#[test]
fn capm_return_matches_pypfopt() {
    let prices = fixture_prices();
    let r = prices.returns();
    assert_vector(capm_return(&r, None, 0.02, true, 252), &py::CAPM_RF2);
    assert_vector(capm_return(&r, None, 0.0, false, 252), &py::CAPM_ARITH);
    // Market prices 0.5 A + 0.5 C; every fixture row keeps a return, so row t of the
    // returns is the move from date t to date t + 1.
    let level: Vec<f64> = prices
        .prices
        .iter()
        .map(|row| row[0].unwrap() * 0.5 + row[2].unwrap() * 0.5)
        .collect();
    let market: Vec<Option<f64>> = level.windows(2).map(|w| Some(w[1] / w[0] - 1.0)).collect();
    assert_vector(
        capm_return(&r, Some(&market), 0.02, true, 252),
        &py::CAPM_MARKET,
    );
    assert_vector(
        capm_return(&synthetic_returns(), None, 0.02, true, 252),
        &py::S_CAPM,
    );
    let e = capm_return(&r, Some(&[Some(0.01); 3]), 0.02, true, 252).unwrap_err();
    assert_eq!(e.field(), Some("market"));
}

#[test]
fn sample_cov_matches_pypfopt_pairwise() {
    assert_matrix(
        &sample_cov(&fixture_prices().returns(), 252).unwrap(),
        &py::SAMPLE_COV,
    );
    assert_matrix(
        &sample_cov(&synthetic_returns(), 252).unwrap(),
        &py::S_SAMPLE_COV,
    );
}

#[test]
fn semicovariance_matches_pypfopt() {
    let r = fixture_prices().returns();
    let semi = semicovariance(&r, DEFAULT_SEMICOV_BENCHMARK, 252).unwrap();
    assert_matrix(&semi, &py::SEMICOV);
    let semi = semicovariance(&synthetic_returns(), DEFAULT_SEMICOV_BENCHMARK, 252).unwrap();
    assert_matrix(&semi, &py::S_SEMICOV);
}

#[test]
fn exp_cov_matches_pypfopt() {
    let r = fixture_prices().returns();
    assert_matrix(&exp_cov(&r, 5, 252).unwrap(), &py::EXP_COV_SPAN5);
    assert_matrix(&exp_cov(&r, DEFAULT_COV_SPAN, 252).unwrap(), &py::EXP_COV);
    assert_matrix(
        &exp_cov(&synthetic_returns(), 60, 252).unwrap(),
        &py::S_EXP_COV_SPAN60,
    );
}

fn check_ledoit_wolf<const N: usize>(
    r: &ReturnTable,
    target: ShrinkageTarget,
    expected: &[[f64; N]; N],
    expected_delta: f64,
) {
    let (cov, delta) = ledoit_wolf(r, target, 252).unwrap();
    assert!(
        (delta - expected_delta).abs() <= 1e-9 * expected_delta,
        "{target:?}: {delta}"
    );
    assert_matrix(&cov, expected);
}

#[test]
fn ledoit_wolf_matches_pypfopt() {
    use ShrinkageTarget::*;
    let r = fixture_prices().returns();
    check_ledoit_wolf(&r, ConstantVariance, &py::LW_CV, py::LW_CV_DELTA);
    check_ledoit_wolf(&r, SingleFactor, &py::LW_SF, py::LW_SF_DELTA);
    // Few rows: the constant-correlation intensity clips at 1.
    check_ledoit_wolf(&r, ConstantCorrelation, &py::LW_CC, py::LW_CC_DELTA);
    let s = synthetic_returns();
    check_ledoit_wolf(&s, ConstantVariance, &py::S_LW_CV, py::S_LW_CV_DELTA);
    check_ledoit_wolf(&s, SingleFactor, &py::S_LW_SF, py::S_LW_SF_DELTA);
    check_ledoit_wolf(&s, ConstantCorrelation, &py::S_LW_CC, py::S_LW_CC_DELTA);
}

#[test]
fn spectral_repair_matches_pypfopt() {
    let m = matrix([[1.0, 0.9, 0.2], [0.9, 1.0, 0.9], [0.2, 0.9, 1.0]]);
    assert!(!is_positive_semidefinite(&m));
    // np.linalg.eigvalsh(m)[0]
    assert!((min_eigenvalue(&m) + 0.17671453).abs() < 1e-8);
    let (fixed, repaired) = fix_nonpositive_semidefinite(&m);
    assert!(repaired);
    assert_matrix(&fixed, &py::REPAIRED);
    let (same, repaired) = fix_nonpositive_semidefinite(&DMatrix::identity(3, 3));
    assert!(!repaired);
    assert_eq!(same, DMatrix::identity(3, 3));
}

#[test]
fn psd_test_is_pypfopts_cholesky() {
    // risk_models._is_positive_semidefinite: False for np.ones((2, 2)), True for np.eye(2)
    assert!(!is_positive_semidefinite(&DMatrix::from_element(2, 2, 1.0)));
    assert!(is_positive_semidefinite(&DMatrix::identity(2, 2)));
    assert!(!is_positive_semidefinite(&DMatrix::zeros(2, 3)));
}

#[test]
fn cov_to_corr_matches_pypfopt_bitwise() {
    let c = matrix([
        [0.04, 0.006, 0.01],
        [0.006, 0.09, -0.012],
        [0.01, -0.012, 0.0225],
    ]);
    // risk_models.cov_to_corr(c), including the asymmetric rounding of entry (2, 0)
    #[rustfmt::skip]
    let expected = [
        [1.0, 0.1, 0.3333333333333333],
        [0.1, 1.0, -0.26666666666666666],
        [0.33333333333333337, -0.26666666666666666, 1.0],
    ];
    assert_eq!(cov_to_corr(&c), matrix(expected));
}

#[test]
fn validate_covariance_names_the_problem() {
    assert!(validate_covariance(&matrix([[0.04, 0.01], [0.01, 0.09]]), "cov").is_ok());
    let e = validate_covariance(&DMatrix::zeros(2, 3), "cov").unwrap_err();
    assert_eq!((e.code(), e.field()), ("invalid_input", Some("cov")));
    let e = validate_covariance(&matrix([[0.04, f64::NAN], [0.01, 0.09]]), "cov").unwrap_err();
    assert!(e.to_string().contains("(0, 1) is not finite"), "{e}");
    let e = validate_covariance(&matrix([[0.04, 0.02], [0.01, 0.09]]), "cov").unwrap_err();
    assert!(e.to_string().contains("not symmetric"), "{e}");
    let e = validate_covariance(&matrix([[0.04, 0.1], [0.1, 0.09]]), "risk_model").unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("not_positive_semidefinite", Some("risk_model"))
    );
    // Rounding-level negative eigenvalues of a singular matrix are tolerated.
    assert!(validate_covariance(&DMatrix::from_element(3, 3, 0.04), "cov").is_ok());
}

#[test]
fn inputs_are_checked() {
    let r = fixture_prices().returns();
    let e = mean_historical_return(&r, true, 0).unwrap_err();
    assert_eq!(e.field(), Some("frequency"));
    let e = ema_historical_return(&r, true, 0, 252).unwrap_err();
    assert_eq!(e.field(), Some("span"));
    let sparse = ReturnTable {
        assets: vec!["X".into(), "Y".into()],
        rows: vec![
            vec![Some(0.01), None],
            vec![Some(0.02), None],
            vec![None, Some(0.01)],
        ],
    };
    let e = sample_cov(&sparse, 252).unwrap_err();
    assert!(
        e.to_string()
            .contains("0 (X) and 1 (Y) have fewer than 2 returns in common"),
        "{e}"
    );
    let single = ReturnTable {
        assets: vec!["X".into()],
        rows: vec![vec![Some(0.01)]],
    };
    let e = sample_cov(&single, 252).unwrap_err();
    assert!(
        e.to_string()
            .contains("asset 0 (X) has fewer than 2 returns"),
        "{e}"
    );
    let e = exp_cov(&sparse, 10, 252).unwrap_err();
    assert!(e.to_string().contains("(X) and 1 (Y)"), "{e}");
    let empty = ReturnTable {
        assets: vec!["X".into()],
        rows: vec![vec![None]],
    };
    let e = mean_historical_return(&empty, true, 252).unwrap_err();
    assert!(e.to_string().contains("asset 0 (X) has no returns"), "{e}");
}

#[test]
fn one_asset_shrinks_to_itself() {
    let x = DMatrix::from_column_slice(4, 1, &[0.01, -0.02, 0.03, 0.0]);
    let r = ReturnTable::from_matrix(vec!["X".into()], &x);
    use ShrinkageTarget::*;
    for target in [ConstantVariance, SingleFactor, ConstantCorrelation] {
        let (cov, delta) = ledoit_wolf(&r, target, 252).unwrap();
        assert_eq!(delta, 0.0);
        assert!(cov[(0, 0)] > 0.0);
    }
}

fn symmetric(n: usize, values: &[f64]) -> DMatrix<f64> {
    let mut m = DMatrix::zeros(n, n);
    let mut k = 0;
    for i in 0..n {
        for j in 0..=i {
            m[(i, j)] = values[k];
            m[(j, i)] = values[k];
            k += 1;
        }
    }
    m
}

proptest! {
    #[test]
    fn repair_always_gives_a_psd_matrix(values in prop::collection::vec(-1.0..1.0_f64, 15)) {
        let (fixed, _) = fix_nonpositive_semidefinite(&symmetric(5, &values));
        prop_assert!(min_eigenvalue(&fixed) >= -1e-12);
        prop_assert!(validate_covariance(&fixed, "cov").is_ok());
    }

    #[test]
    fn estimates_of_complete_data_are_valid(values in prop::collection::vec(-0.05..0.05_f64, 40)) {
        let m = DMatrix::from_row_slice(10, 4, &values);
        let r = ReturnTable::from_matrix((0..4).map(|j| j.to_string()).collect(), &m);
        prop_assert!(validate_covariance(&sample_cov(&r, 252).unwrap(), "cov").is_ok());
        prop_assert!(validate_covariance(&exp_cov(&r, 5, 252).unwrap(), "cov").is_ok());
        use ShrinkageTarget::*;
        for target in [ConstantVariance, SingleFactor, ConstantCorrelation] {
            let (shrunk, delta) = ledoit_wolf(&r, target, 252).unwrap();
            prop_assert!((0.0..=1.0).contains(&delta));
            prop_assert!(validate_covariance(&shrunk, "cov").is_ok());
        }
    }
}
