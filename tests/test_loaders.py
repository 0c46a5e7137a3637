"""fastai's documented collaborative filtering calls on `CollabTensorDataLoaders`, against fastai's own `CollabDataLoaders`.

Each call of fastai's `45_collab` and `46_tutorial.collab` notebooks (`from_csv`, `show_batch`, `show_results`,
`predict`, `test_dl` with `get_preds`, `export` with `load_learner`) runs on both kinds of loaders, built on the same
synthetic ratings with the same seed (so the same split and the same classes), after one epoch of `collab_learner`;
what the tensor loaders show and predict is compared with what the stock ones do for the same model.

    cd /work/main && OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests/test_loaders.py -q
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

warnings.filterwarnings('ignore')
from fastai.collab import CollabDataLoaders, collab_learner  # noqa: E402
from fastai.learner import Learner, load_learner  # noqa: E402
from fastai.losses import MSELossFlat  # noqa: E402

from collab_lib.loaders import CollabTensorDataLoaders, CollabTensorDL  # noqa: E402

N_USERS, N_ITEMS, N, SEED, BS = 60, 40, 2000, 42, 64


@pytest.fixture(scope='module')
def ratings() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({'user': rng.integers(1, N_USERS + 1, N),
                         'movie': rng.choice([f'movie {i}' for i in range(N_ITEMS)], N),
                         'rating': rng.integers(1, 6, N).astype(float)})


@pytest.fixture(scope='module')
def csv(ratings, tmp_path_factory):
    p = tmp_path_factory.mktemp('collab') / 'ratings.csv'
    ratings.to_csv(p, index=False)
    return p


@pytest.fixture(scope='module')
def dls(csv):
    "{'stock': CollabDataLoaders, 'tensor': CollabTensorDataLoaders}, both from the CSV, the same seed."
    return {'stock': CollabDataLoaders.from_csv(csv, bs=BS, seed=SEED),
            'tensor': CollabTensorDataLoaders.from_csv(csv, bs=BS, seed=SEED)}


def fit(dls):
    torch.manual_seed(0)
    learn = collab_learner(dls, n_factors=8, y_range=(0, 5.5))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 5e-3, wd=0.1)
    return learn


@pytest.fixture(scope='module')
def learners(dls):
    "One epoch of `collab_learner` on each; 'shared': the stock model on the tensor loaders (the same predictions expected)."
    res = {k: fit(d) for k, d in dls.items()}
    res['shared'] = Learner(dls['tensor'], res['stock'].model, loss_func=MSELossFlat())
    return res


@pytest.fixture
def shown(monkeypatch):
    "The DataFrames that `show_batch` / `show_results` pass to `display_df` (fastai's tabular ones and ours)."
    import fastai.tabular.core, fastai.tabular.learner, collab_lib.loaders
    out = []
    for m in (fastai.tabular.core, fastai.tabular.learner, collab_lib.loaders): monkeypatch.setattr(m, 'display_df', out.append)
    return out


def preds(learn, dl):
    with learn.no_bar(): return learn.get_preds(dl=dl)


def test_from_csv(dls, ratings):
    s, t = dls['stock'], dls['tensor']
    assert isinstance(t, CollabTensorDataLoaders) and isinstance(t.train, CollabTensorDL)
    assert list(t.classes) == list(s.classes) == ['user', 'movie']
    for n in t.classes: assert list(t.classes[n]) == list(s.classes[n])
    assert list(t.cat_names) == ['user', 'movie'] and list(t.y_names) == ['rating']
    # the same validation rows, in the same order, encoded the same way
    (xs, ys), (xt, yt) = s.valid.one_batch(), t.valid.one_batch()
    assert torch.equal(xs, xt[:BS]) and torch.equal(ys, yt[:BS])
    # and the same as from_df on the table itself
    t2 = CollabTensorDataLoaders.from_df(ratings, bs=BS, seed=SEED)
    assert torch.equal(t2.valid.dataset.x, t.valid.dataset.x) and torch.equal(t2.train.dataset.y, t.train.dataset.y)


def test_show_batch(dls, ratings, shown):
    s, t = dls['stock'], dls['tensor']
    s.valid.show_batch(b=s.valid.one_batch())
    t.valid.show_batch(b=t.valid.one_batch())
    assert len(shown) == 2
    assert shown[0].to_html() == shown[1].to_html()   # the same decoded users, items, ratings, in the same table
    assert list(shown[1].columns) == ['user', 'movie', 'rating'] and len(shown[1]) == 10
    # a random training batch: 10 decoded rows, each one of the table's ratings
    t.show_batch()
    df = shown[2]
    assert len(df) == 10 and len(df.merge(ratings.drop_duplicates())) >= 10
    # show=False returns the table; unique: the first row max_n times
    b = t.valid.one_batch()
    assert t.valid.show_batch(b=b, show=False).shape == (10, 3)
    assert t.valid.show_batch(b=b, max_n=3, unique=True, show=False).drop_duplicates().shape == (1, 3)


def test_show_results(dls, learners, shown):
    s, t = dls['stock'], dls['tensor']
    with learners['stock'].no_bar(): learners['stock'].show_results(dl=s.valid, max_n=5)
    with learners['shared'].no_bar(): learners['shared'].show_results(dl=t.valid, max_n=5)
    stock, ours = shown
    assert list(ours.columns) == list(stock.columns) == ['user', 'movie', 'rating', 'rating_pred']
    assert len(ours) == len(stock) == 5
    # fastai's tabular show_results shows the encoded indices (as floats); ours decodes them with dls.classes
    for n in ['user', 'movie']:
        assert list(ours[n]) == [s.classes[n][int(i)] for i in stock[n]]
    np.testing.assert_allclose(ours['rating'], stock['rating'])
    np.testing.assert_allclose(ours['rating_pred'], stock['rating_pred'], rtol=1e-5)
    # the tensor loaders' own learner, with its defaults (a shuffled validation batch, 9 rows)
    with learners['tensor'].no_bar(): learners['tensor'].show_results()
    assert len(shown[2]) == 9 and shown[2]['rating_pred'].between(0, 5.5).all()


def test_test_dl_get_preds(dls, learners, ratings):
    s, t = dls['stock'], dls['tensor']
    test = ratings.iloc[:7].copy()
    test.loc[test.index[0], 'movie'] = 'a movie nobody rated'   # unseen item: #na#
    test.loc[test.index[1], 'user'] = 10_000                    # unseen user: #na#
    dl_s, dl_t = s.test_dl(test), t.test_dl(test)
    assert isinstance(dl_t, CollabTensorDL)
    (xs, ys), (xt, yt) = dl_s.one_batch(), dl_t.one_batch()
    assert torch.equal(xs, xt) and torch.equal(ys, yt) and xt[0, 1] == 0 and xt[1, 0] == 0
    ps, ts = preds(learners['stock'], dl_s)
    pt, tt = preds(learners['shared'], dl_t)
    assert pt.shape == ps.shape == (7,)
    torch.testing.assert_close(pt, ps)
    torch.testing.assert_close(tt, ts)
    # without ratings: no targets, the same predictions
    ps2, ts2 = preds(learners['stock'], s.test_dl(test.drop(columns='rating')))
    pt2, tt2 = preds(learners['shared'], t.test_dl(test.drop(columns='rating')))
    assert ts2 is None and tt2 is None
    torch.testing.assert_close(pt2, ps2)
    torch.testing.assert_close(pt2, pt)


def test_predict(dls, learners, ratings):
    # fastai's own `Learner.predict` fails on stock collab loaders (TypeError in `TabularPandas.new([row])`);
    # on the tensor loaders it returns the decoded row with its prediction, and the prediction (decoded, raw)
    row = ratings.iloc[3]
    with learners['shared'].no_bar(): full, pred, raw = learners['shared'].predict(row)
    assert isinstance(full, pd.Series) and list(full.index) == ['user', 'movie', 'rating']
    assert full['user'] == row['user'] and full['movie'] == row['movie']
    assert isinstance(pred, torch.Tensor) and pred.ndim == 0 and isinstance(raw, torch.Tensor)
    assert float(full['rating']) == pytest.approx(float(pred)) and float(pred) == pytest.approx(float(raw))
    ps, _ = preds(learners['stock'], dls['stock'].test_dl(ratings.iloc[:5]))
    assert float(pred) == pytest.approx(float(ps[3]), rel=1e-5)
    # a row as a dict or a (user, item) tuple, with_input
    with learners['shared'].no_bar():
        assert float(learners['shared'].predict(dict(row))[1]) == pytest.approx(float(pred))
        inp, full2, pred2, _ = learners['shared'].predict((row['user'], row['movie']), with_input=True)
    assert list(inp.index) == ['user', 'movie'] and float(pred2) == pytest.approx(float(pred))


def test_export_load_learner(dls, learners, ratings, tmp_path):
    test = ratings.iloc[:20]
    for k in ['stock', 'tensor']:
        learn = learners[k]
        before, _ = preds(learn, dls[k].test_dl(test))
        learn.export(tmp_path / f'{k}.pkl')
        learn2 = load_learner(tmp_path / f'{k}.pkl')
        assert type(learn2.dls) is type(dls[k]) and len(learn2.dls.train_ds) == 0
        after, _ = preds(learn2, learn2.dls.test_dl(test))
        torch.testing.assert_close(after, before)
        if k == 'tensor':
            assert list(learn2.dls.classes['movie']) == list(dls[k].classes['movie'])
            assert learn.dls is dls[k] and len(learn.dls.train_ds) > 0   # export leaves the learner's own loaders
            with learn2.no_bar(): assert float(learn2.predict(test.iloc[0])[1]) == pytest.approx(float(before[0]))


def test_model_lookups(learners, dls):
    "`model.bias` / `model.weight` by user and item name, as in fastai's tutorial (already worked)."
    m = learners['tensor'].model
    items = list(dls['tensor'].classes['movie'][1:4])
    assert m.bias(items).shape == (3,) and m.weight(items).shape == (3, 8)
    assert m.bias([5, 6], is_item=False).shape == (2,)
