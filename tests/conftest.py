"""Fixtures of the library's contract tests (test_contract.py): tiny synthetic ratings, one torch thread.

The browser suite of the website has its own conftest.py, in tests/site/.
"""
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')   # before torch loads; the console scripts the tests start inherit it

import numpy as np, pandas as pd, pytest, torch

torch.set_num_threads(1)

N_USERS, N_ITEMS, PER_USER = 150, 60, 20   # 3,000 ratings, a third of the (user, item) grid: 40 unrated items per user


def make_ratings(n_users=N_USERS, n_items=N_ITEMS, per_user=PER_USER, seed=0) -> pd.DataFrame:
    "Whole-star ratings 1-5 from planted biases and rank-2 factors plus noise; popular items rated more; no duplicate pairs"
    rng = np.random.default_rng(seed)
    U, V = rng.normal(0, .8, (n_users, 2)), rng.normal(0, .8, (n_items, 2))
    ub, ib = rng.normal(0, .5, n_users), rng.normal(0, .7, n_items)
    p = np.exp(ib) / np.exp(ib).sum()
    items = np.concatenate([rng.choice(n_items, per_user, replace=False, p=p) for _ in range(n_users)])
    users = np.repeat(np.arange(n_users), per_user)
    r = 3 + ub[users] + ib[items] + (U[users] * V[items]).sum(1) + rng.normal(0, .5, len(users))
    # users are numbers from 100 on (a command line's `--user 7` is then unknown), items text ('i07')
    return pd.DataFrame({'user': users + 100, 'item': [f'i{i:02d}' for i in items],
                         'rating': np.clip(np.rint(r), 1, 5).astype(np.float32)})


@pytest.fixture(scope='session')
def ratings() -> pd.DataFrame:
    "The tiny synthetic ratings: columns user (int), item (str), rating (float32, 1-5)"
    return make_ratings()


@pytest.fixture(scope='session')
def rated_by(ratings) -> dict:
    "{user: set of the items they rated}"
    return ratings.groupby('user')['item'].agg(set).to_dict()
