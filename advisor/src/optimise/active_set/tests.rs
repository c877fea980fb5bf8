use super::*;

fn spd(n: usize) -> DMatrix<f64> {
    let a = DMatrix::from_fn(n, n, |i, j| ((i * 7 + j * 3) as f64 * 0.37).sin());
    &a * a.transpose() + DMatrix::identity(n, n) * 0.5
}

#[test]
fn cholesky_append_and_delete_match_a_fresh_factor() {
    let n = 7;
    let h = spd(n);
    let full = FullFactor::new(&h).expect("positive definite");
    let mut chol = full.chol.clone();
    chol.delete(2);
    chol.delete(4);
    let keep = [0usize, 1, 3, 4, 6];
    let sub = DMatrix::from_fn(5, 5, |i, j| h[(keep[i], keep[j])]);
    let fresh = FullFactor::new(&sub).expect("positive definite").chol;
    for i in 0..5 {
        for j in 0..=i {
            assert!((chol.row(i)[j] - fresh.row(i)[j]).abs() < 1e-12);
        }
    }
    let col: Vec<f64> = keep.iter().map(|&i| h[(i, 2)]).collect();
    chol.append(&col, h[(2, 2)]).expect("positive definite");
    let order = [0usize, 1, 3, 4, 6, 2];
    let sub = DMatrix::from_fn(6, 6, |i, j| h[(order[i], order[j])]);
    let fresh = FullFactor::new(&sub).expect("positive definite").chol;
    for i in 0..6 {
        for j in 0..=i {
            assert!((chol.row(i)[j] - fresh.row(i)[j]).abs() < 1e-12);
        }
    }
}

#[test]
fn solves_a_box_constrained_budget_problem() {
    // min ½ x'x - x0 s.t. sum x = 1, 0 <= x <= 1: the optimum puts x0 = 1.
    let n = 3;
    let qp = DenseQp {
        h: DMatrix::identity(n, n),
        q: vec![-2.0, 0.0, 0.0],
        rows: vec![DenseRow {
            a: vec![1.0; n],
            lo: 1.0,
            hi: 1.0,
        }],
        lower: vec![0.0; n],
        upper: vec![1.0; n],
    };
    let mut s = ActiveSet::start(&qp, &[1.0 / 3.0; 3], None).expect("starts");
    s.solve().expect("solves");
    assert!(s.certify());
    assert!((s.x[0] - 1.0).abs() < 1e-12 && s.x[1].abs() < 1e-12 && s.x[2].abs() < 1e-12);
}
