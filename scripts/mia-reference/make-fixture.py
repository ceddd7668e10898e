#!/usr/bin/python3
"""Reference values for src/evaluation/mia.ts and logistic-regression.ts from scikit-learn itself.

Run with Debian's python3-sklearn (never a dependency of the project):
    /usr/bin/python3 scripts/mia-reference/make-fixture.py > test/fixtures/mia/sklearn-reference.json

For each case: the features and labels, sklearn's LogisticRegression() coefficients (defaults: L2, C=1.0, lbfgs,
tol 1e-4) and the optimum (solver newton-cholesky, tol 1e-12), and the starting kit's attack:
StratifiedShuffleSplit(n_splits=10, random_state=0) with cross_val_score(scoring="accuracy"), with the split
indices, so that the TypeScript test can score the very same splits.
"""
import json
import sys

import numpy as np
import sklearn
from sklearn import linear_model, model_selection


def case(name, x, y, C=1.0):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    default = linear_model.LogisticRegression(C=C).fit(x, y)
    # lbfgs also stops on a relative change of the objective, so the optimum comes from the Newton solver
    tight = linear_model.LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(x, y)
    cv = model_selection.StratifiedShuffleSplit(n_splits=10, random_state=0)
    splits = list(cv.split(x, y))
    scores = model_selection.cross_val_score(
        linear_model.LogisticRegression(C=C), x, y, cv=cv, scoring="accuracy"
    )
    return {
        "name": name,
        "C": C,
        "d": int(x.shape[1]),
        "x": x.reshape(-1).tolist(),
        "y": y.tolist(),
        "default": {"coef": default.coef_[0].tolist(), "intercept": float(default.intercept_[0])},
        "optimum": {"coef": tight.coef_[0].tolist(), "intercept": float(tight.intercept_[0])},
        "splits": [{"train": tr.tolist(), "test": te.tolist()} for tr, te in splits],
        "cvAccuracies": scores.tolist(),
    }


def losses(rng, n, scale):
    # cross-entropy-like: non-negative, heavy right tail
    return rng.gamma(shape=0.7, scale=scale, size=n)


rng = np.random.default_rng(20261127)
cases = []
# members (forget, label 1) with lower losses than non-members (test, label 0): an overfit model
test_l, forget_l = losses(rng, 100, 0.9), losses(rng, 100, 0.35)
cases.append(case("overfit-1d", np.concatenate([test_l, forget_l])[:, None], [0] * 100 + [1] * 100))
# the same distribution on both sides: nothing to detect
a, b = losses(rng, 101, 0.5), losses(rng, 101, 0.5)
cases.append(case("same-1d-odd", np.concatenate([a, b])[:, None], [0] * 101 + [1] * 101))
# two features and another C, for the n-D path
x2 = np.concatenate([rng.normal([0.0, 1.0], 1.0, (80, 2)), rng.normal([0.8, 0.2], 1.0, (80, 2))])
cases.append(case("shifted-2d-C0.1", x2, [0] * 80 + [1] * 80, C=0.1))

json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}, sys.stdout)
sys.stdout.write("\n")
