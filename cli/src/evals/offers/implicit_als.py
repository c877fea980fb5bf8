"""The peer of `sextant marketing eval-offers`: implicit's ALS on the same adoption matrix.

Reads one JSON file (argv[1]): the customers x products adoption matrix after the hold-out,
as (user, item) pairs; one validation pair per user who still holds two or more products (the
latest adoption left, carved out of the matrix by the same rule as the hold-out); the users
to score; k and a seed. Items are numbered in product-id order, so ties here break as they do
in Sextant.

Chooses factors, regularization, alpha and iterations by NDCG@k on the validation pairs
(fitted on the matrix without them; the held-out products are never seen), refits on the whole
matrix with the choice, and prints one JSON object: the choice, the grid, and every item's
score for each user to score. Sextant ranks those scores itself, because every method must
face the same per-customer candidate set (not held, suitable for the customer's level).
"""
import itertools
import json
import sys
import time

import numpy as np
import scipy.sparse as sp

import implicit
from implicit.als import AlternatingLeastSquares

GRID = {
    "factors": [4, 8, 16],
    "regularization": [0.01, 0.1, 1.0],
    "alpha": [1.0, 10.0],
    "iterations": [15, 50],
}


def adoption_matrix(pairs, users, items):
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    data = np.ones(len(pairs), dtype=np.float32)
    matrix = sp.csr_matrix((data, (pairs[:, 0], pairs[:, 1])), shape=(users, items))
    matrix.data[:] = 1.0  # a repeated pair is still one adoption
    return matrix


def fit(user_items, params, seed):
    model = AlternatingLeastSquares(
        factors=params["factors"],
        regularization=params["regularization"],
        alpha=params["alpha"],
        iterations=params["iterations"],
        random_state=seed,
        use_gpu=False,
        calculate_training_loss=False,
    )
    model.fit(user_items, show_progress=False)
    return model


def scores(model, users):
    return np.asarray(model.user_factors)[users] @ np.asarray(model.item_factors).T


def ndcg_at_k(model, user_items, users, targets, k):
    """Mean NDCG@k of one relevant item per user among the items the user does not hold;
    ties go to the lower item number."""
    if len(users) == 0:
        return 0.0
    s = scores(model, users)
    held = user_items[users].toarray() > 0
    s[held] = -np.inf
    target = s[np.arange(len(users)), targets][:, None]
    index = np.arange(s.shape[1])[None, :]
    ahead = (s > target) | ((s == target) & (index < targets[:, None]))
    rank = ahead.sum(axis=1) + 1
    return float(np.where(rank <= k, 1.0 / np.log2(rank + 1.0), 0.0).mean())


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    started = time.perf_counter()
    users, items, k, seed = request["users"], request["items"], request["k"], request["seed"]
    train = adoption_matrix(request["train"], users, items)

    validation = np.asarray(request["validation"], dtype=np.int64).reshape(-1, 2)
    fit_pairs = set(map(tuple, np.asarray(request["train"]).reshape(-1, 2).tolist()))
    fit_pairs -= set(map(tuple, validation.tolist()))
    fit_matrix = adoption_matrix(sorted(fit_pairs), users, items)

    grid = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID.keys(), values))
        model = fit(fit_matrix, params, seed)
        params["validation_ndcg"] = ndcg_at_k(
            model, fit_matrix, validation[:, 0], validation[:, 1], k
        )
        grid.append(params)
    best = max(grid, key=lambda p: p["validation_ndcg"])  # the first of equals
    chosen = {name: best[name] for name in GRID}

    model = fit(train, chosen, seed)
    evaluate = np.asarray(request["evaluate"], dtype=np.int64)
    json.dump(
        {
            "implicit_version": implicit.__version__,
            "chosen": chosen,
            "validation_ndcg": best["validation_ndcg"],
            "validation_users": int(len(validation)),
            "grid": grid,
            "scores": scores(model, evaluate).astype(float).tolist(),
            "seconds": time.perf_counter() - started,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
