"""The library's contracts, one run against every model and backend, on tiny synthetic data (conftest.py).

In the spirit of `implicit`'s RecommenderBaseTestMixin: each backend is trained once per session, turned into a
`Recommender`, and every contract test runs against each one. Then the ranking and Bayesian models, the sharded
backend against one process, serving without fastai in a fresh process, and the console scripts' answers to bad input.
The tests assert behaviour, not training results: nothing depends on the exact floats a run produces.

    OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests -m "not site" -q      # make unit
"""
import json, os, subprocess, sys, textwrap
from pathlib import Path

import numpy as np, pandas as pd, pytest, torch

from collab_lib.recommend import Recommender
from collab_lib.models import DotBias, predict_for_user_weights

BIN = Path(sys.executable).parent
ENV = {**os.environ, 'OMP_NUM_THREADS': '1'}
N = 5
Y_RANGE = (0.5, 5.5)



# ---- the backends: each trains on the ratings and returns a Recommender ------------------------------

def _dls(df):
    from collab_lib.loaders import CollabTensorDataLoaders
    return CollabTensorDataLoaders.from_df(df, user_name='user', item_name='item', rating_name='rating', bs=256, seed=0)

def _library(df, ranking):
    from collab_lib.train import fit_recommender
    return fit_recommender(df, n_factors=8, epochs=4, seed=0, ranking=ranking)[0]

def _fastai(df, **kwargs):
    from fastai.collab import collab_learner
    learn = collab_learner(_dls(df), y_range=Y_RANGE, **kwargs)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(4, 1e-2)
    return Recommender.from_learner(learn, df)


def _book(df, arch):
    from collab_lib.learner import fit_fast
    from collab_lib.book import DotProductBias, CollabNN
    dls = _dls(df)
    n_u, n_i = len(dls.classes['user']), len(dls.classes['item'])
    model = DotProductBias(n_u, n_i, 8, y_range=Y_RANGE) if arch == 'DotProductBias' else CollabNN((n_u, 8), (n_i, 8), y_range=Y_RANGE, n_act=16)
    return Recommender.from_learner(fit_fast(dls, model, epochs=4, lr=1e-2, seed=0, quiet=True), df)

def _sharded(df):
    pytest.importorskip('torchrec'); pytest.importorskip('fbgemm_gpu')
    from collab_lib.train import fit_recommender
    rec, info = fit_recommender(df, n_factors=8, epochs=2, ranking=False, seed=0, backend='sharded')
    rec.shard_info = info
    return rec

FIT = {
    'fit_recommender': lambda df: _library(df, ranking=False),
    'fit_recommender+GradedALS': lambda df: _library(df, ranking=True),
    'EmbeddingDotBias': lambda df: _fastai(df, n_factors=8),
    'EmbeddingNN': lambda df: _fastai(df, use_nn=True, layers=[16]),   # BatchNorm after the hidden layer, a Linear without bias
    'DotProductBias': lambda df: _book(df, 'DotProductBias'),
    'CollabNN': lambda df: _book(df, 'CollabNN'),
    'sharded': _sharded,
}
BACKENDS = [
    'fit_recommender',
    'fit_recommender+GradedALS',
    'EmbeddingDotBias',
    'EmbeddingNN',
    'DotProductBias',
    'CollabNN',
    'sharded',
]
WORKING = ['fit_recommender', 'fit_recommender+GradedALS', 'EmbeddingDotBias', 'EmbeddingNN', 'DotProductBias', 'CollabNN']   # served in one fresh process below


@pytest.fixture(scope='session')
def trained(ratings, request):
    "trained(name): the Recommender of backend `name`, trained once per session (a failure is raised again for each test)"
    if any(getattr(i, 'originalname', '') == 'test_cli_bad_input' for i in request.session.items):
        request.getfixturevalue('cli_runs')   # the console scripts start now, in the background, and run while the models train
    cache = {}
    def get(name):
        if name not in cache:
            try: cache[name] = FIT[name](ratings)
            except BaseException as e: cache[name] = e
        if isinstance(cache[name], BaseException): raise cache[name]
        return cache[name]
    return get


@pytest.fixture(params=BACKENDS)
def backend(request): return request.param


@pytest.fixture
def rec(trained, backend) -> Recommender: return trained(backend)


def users_to_check(rec, ratings):
    "Two known users: the busiest and the quietest"
    counts = ratings['user'].value_counts()
    known = [u for u in counts.index if u in rec.u2i]
    return [known[0], known[-1]]


def new_user_pairs(rec):
    "Three known items and ratings of a new user"
    items = rec.classes['item'][1:4]
    return dict(zip(items, (5., 1., 4.)))


def assert_top(df, n, key):
    "`n` distinct rows, sorted by column `key` (highest first), no '#na#'"
    assert len(df) == n, df
    assert df['item'].is_unique and '#na#' not in set(df['item']), df
    assert df[key].is_monotonic_decreasing, df


def assert_in_range(values, rec):
    v = np.asarray(values, dtype=np.float64)
    lo, hi = rec.y_range
    assert np.isfinite(v).all(), v
    assert ((lo <= v) & (v <= hi)).all(), (v.min(), v.max(), rec.y_range)


# ---- the contract: every backend -----------------------------------------------------------------------

def test_recommend_known_user(rec, ratings, rated_by):
    for u in users_to_check(rec, ratings):
        top = rec.recommend(u, N)
        assert_top(top, N, 'score' if 'score' in top else 'predicted')
        assert not set(top['item']) & rated_by[u], f'user {u} is recommended items they rated'
        assert set(top['item']) <= set(rec.i2i)
        assert_in_range(top['predicted'], rec)


def test_recommend_all_lists_every_unrated_item(rec, ratings, rated_by):
    u = users_to_check(rec, ratings)[0]
    top = rec.recommend(u, 10_000)
    assert sorted(top['item']) == sorted(set(rec.i2i) - rated_by[u])


def test_recommend_agrees_with_predict(rec, ratings):
    u = users_to_check(rec, ratings)[0]
    top = rec.recommend(u, N)
    pred = rec.predict(pd.DataFrame({'user': u, 'item': top['item']}))
    np.testing.assert_allclose(pred.to_numpy(), top['predicted'].to_numpy(), rtol=1e-5, atol=1e-5)


def test_similar(rec):
    item = rec.classes['item'][1]
    sim = rec.similar(item, N)
    assert_top(sim, N, 'similarity')
    assert item not in set(sim['item'])
    assert sim['similarity'].between(-1.001, 1.001).all(), sim
    assert sorted(rec.similar(item, 10_000)['item']) == sorted(set(rec.i2i) - {item})


def test_predict(rec, ratings):
    known = ratings[ratings['user'].isin(rec.u2i) & ratings['item'].isin(rec.i2i)].sample(200, random_state=0)
    p = rec.predict(known)
    assert len(p) == len(known) and (p.index == known.index).all()
    assert_in_range(p, rec)
    assert len(rec.predict(known.head(0))) == 0
    with pytest.raises(KeyError, match='nobody'): rec.predict(pd.DataFrame({'user': ['nobody'], 'item': [rec.classes['item'][1]]}))


def test_recommend_for_ratings(rec):
    pairs = new_user_pairs(rec)
    if not isinstance(rec.model, DotBias):   # fold-in solves against the items' factors: a clear refusal, not a wrong list
        with pytest.raises(TypeError, match='dot-product models only'): rec.recommend_for_ratings(pairs, N)
        return
    top = rec.recommend_for_ratings(pairs, N)
    assert_top(top, N, 'score' if 'score' in top else 'predicted')
    assert not set(top['item']) & set(pairs)
    assert_in_range(top['predicted'], rec)
    with pytest.raises(ValueError, match='outside the range'): rec.recommend_for_ratings({rec.classes['item'][1]: 100.}, N)


def test_fold_in_follows_the_ratings(rec):
    "A new user who gave items 5 stars is predicted to like them more than one who gave them 1 star (ridge fits move with their targets)"
    if not isinstance(rec.model, DotBias): pytest.skip('fold-in is defined for dot-product models')
    items = rec.classes['item'][1:11]
    mean_pred = lambda r: float(predict_for_user_weights(rec.model, *rec.fold_in_user({i: r for i in items}), y_range=rec.y_range)
                                [[rec.i2i[i] for i in items]].mean())
    assert mean_pred(5.) > mean_pred(1.)


def test_save_load_same_answers(rec, backend, ratings, tmp_path):
    path = rec.save(tmp_path/'model.pth')
    back = Recommender.load(path)
    assert type(back.model) is type(rec.model) and back.classes == rec.classes and repr(back) == repr(rec)
    for u in users_to_check(rec, ratings):
        a, b = rec.recommend(u, N), back.recommend(u, N)
        assert a['item'].tolist() == b['item'].tolist()
        np.testing.assert_allclose(a['predicted'], b['predicted'], rtol=1e-6)
    item = rec.classes['item'][1]
    a, b = rec.similar(item, N), back.similar(item, N)
    assert a['item'].tolist() == b['item'].tolist()
    np.testing.assert_allclose(a['similarity'], b['similarity'])
    pairs = ratings.head(100)
    pairs = pairs[pairs['user'].isin(rec.u2i) & pairs['item'].isin(rec.i2i)]
    np.testing.assert_allclose(back.predict(pairs), rec.predict(pairs), rtol=1e-6)
    if isinstance(rec.model, DotBias):
        a, b = rec.recommend_for_ratings(new_user_pairs(rec), N), back.recommend_for_ratings(new_user_pairs(rec), N)
        assert a['item'].tolist() == b['item'].tolist()
        np.testing.assert_allclose(a['predicted'], b['predicted'], rtol=1e-5)


# ---- serving in a fresh process: no fastai ---------------------------------------------------------------

SERVE = textwrap.dedent("""
    import json, sys
    from collab_lib.recommend import Recommender
    out = {}
    for name, path, user, item in json.loads(sys.argv[1]):
        rec = Recommender.load(path)
        out[name] = [rec.recommend(user, 5)['item'].tolist(), rec.similar(item, 5)['item'].tolist()]
    out['fastai loaded'] = sorted(m for m in sys.modules if m == 'fastai' or m.startswith('fastai.'))
    out['compiler loaded'] = 'torch._dynamo' in sys.modules   # about 1.5 s of every `collab_recommend` when it was
    print(json.dumps(out))
""")

def test_serving_needs_no_fastai(trained, ratings, tmp_path):
    "Models saved by every working backend load and recommend in a fresh process that never imports fastai (nor PyTorch's compiler), with the same answers"
    jobs, expected = [], {}
    for name in WORKING:
        rec = trained(name)
        user, item = users_to_check(rec, ratings)[0], rec.classes['item'][1]
        jobs.append((name, str(rec.save(tmp_path/f'{name}.pth')), int(user), item))
        expected[name] = [rec.recommend(user, 5)['item'].tolist(), rec.similar(item, 5)['item'].tolist()]
    p = subprocess.run([sys.executable, '-c', SERVE, json.dumps(jobs)], capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got.pop('fastai loaded') == []
    assert got.pop('compiler loaded') is False
    assert got == expected


# ---- the ranking model and the Bayesian model ----------------------------------------------------------

@pytest.fixture(scope='session')
def encoded(ratings):
    "(users, items, ratings, n_users, n_items): the ratings with users and items as rows 0..n-1"
    u, users = pd.factorize(ratings['user']); i, items = pd.factorize(ratings['item'])
    return u, i, ratings['rating'].to_numpy(), len(users), len(items)


def test_graded_als_rejects_bad_settings():
    from collab_lib.ranking import GradedALS
    for kw in (dict(n_factors=0), dict(iters=0), dict(reg=0.)):
        with pytest.raises(ValueError): GradedALS(**kw)
    with pytest.raises(ValueError, match='call fit first'): GradedALS().scores([0])


def test_graded_als(encoded):
    from collab_lib.ranking import GradedALS, is_liked
    u, i, r, n_u, n_i = encoded
    liked = is_liked(r, (1., 5.))
    als = GradedALS(n_factors=4, reg=1., iters=3, seed=0).fit(u, i, liked, n_u, n_i)
    assert als.U.shape == (n_u, 4) and als.V.shape == (n_i, 4)
    s = als.scores([0, 1, 2])
    assert s.shape == (3, n_i) and torch.isfinite(s).all()
    full = als.scores(np.arange(n_u)).numpy()
    rated = np.zeros((n_u, n_i), bool); rated[u[liked], i[liked]] = True
    seen = np.zeros((n_u, n_i), bool); seen[u, i] = True
    assert full[rated].mean() > full[~seen].mean(), 'liked items should score above unrated ones'
    assert als.fold_in(i[:3], liked[:3]).shape == (4,)
    again = GradedALS.from_state(als.state())
    torch.testing.assert_close(again.scores([0, 1]), als.scores([0, 1]))
    torch.testing.assert_close(GradedALS(n_factors=4, reg=1., iters=3, seed=0).fit(u, i, liked, n_u, n_i).U, als.U)   # seeded


def test_bayesian_mf_rejects_bad_settings():
    from collab_lib.bayes import BayesianMF
    for kw in (dict(n_factors=0), dict(n_samples=0), dict(burn_in=-1)):
        with pytest.raises(ValueError): BayesianMF(**kw)
    with pytest.raises(ValueError, match='call fit first'): BayesianMF().predict([0], [0])


def test_bayesian_mf(encoded):
    from collab_lib.bayes import BayesianMF
    u, i, r, n_u, n_i = encoded
    m = BayesianMF(n_factors=4, n_samples=8, burn_in=4, seed=0).fit(u, i, r, n_u, n_i, quiet=True)
    assert m.U.shape == (8, n_u, 5) and m.V.shape == (8, n_i, 5)   # kept draws x rows x (factors + bias)
    p = m.predict(u, i)
    assert p.shape == (len(r),) and np.isfinite(p).all()
    assert p.min() >= r.min() and p.max() <= r.max()   # clipped to the ratings' range
    assert np.sqrt(((p - r)**2).mean()) < r.std(), 'the fit should beat the mean rating on its own training data'
    assert m.predict(u[:0], i[:0]).shape == (0,)


# ---- the sharded backend on one process equals the one-process model it gathers into -------------------

def test_sharded_equals_one_process(trained, ratings):
    "The sharded backend on one process: the gathered plain model reproduces the validation MSE that the sharded model reported"
    import torch.distributed as dist
    from collab_lib.loaders import CollabTensorDataLoaders
    rec = trained('sharded')
    info = rec.shard_info
    assert info['world_size'] == 1 and info['rank_table_share'] == 1.0 and not dist.is_initialized()
    dls = CollabTensorDataLoaders.from_df(ratings, 0.2, 'user', 'item', 'rating', seed=0, bs=info['bs'])   # the sharded backend's split
    assert list(dls.classes['user']) == rec.classes['user'] and list(dls.classes['item']) == rec.classes['item']
    x, y = dls.valid.dataset.x, dls.valid.dataset.y
    with torch.no_grad(): mse = float(((rec.model(x.long()).view(-1) - y.view(-1))**2).mean())
    assert mse == pytest.approx(info['epochs'][-1]['valid_mse'], rel=1e-4)


# ---- the console scripts: bad input is one `error:` line, exit 1 (data) or 2 (arguments) -----------------

CLI_CASES = {   # case: (arguments, exit status, a word the error line must hold)
    'train: missing file':         (('collab_train', 'nope.csv', '--out', 'm.pth'), 1, 'nope.csv'),
    'train: empty CSV':            (('collab_train', 'empty.csv', '--out', 'm.pth'), 1, 'empty'),
    'train: missing column':       (('collab_train', 'ratings.csv', '--item', 'movie', '--out', 'm.pth'), 1, "'movie'"),
    'train: non-numeric rating':   (('collab_train', 'bad_rating.csv', '--out', 'm.pth'), 1, "'lots'"),
    'train: --valid_pct 1':        (('collab_train', 'ratings.csv', '--valid_pct', '1', '--out', 'm.pth'), 2, 'valid_pct'),
    'recommend: unknown --user':   (('collab_recommend', 'model.pth', '--user', 'nobody'), 1, 'nobody'),
    "recommend: another tool's file": (('collab_recommend', 'other_tool.pth', '--user', '100'), 1, 'not written by collab_train'),
    'recommend: --rated malformed': (('collab_recommend', 'model.pth', '--rated', 'i01=5,i02'), 2, "'i02'"),
    'recommend: --rated, an item twice': (('collab_recommend', 'model.pth', '--rated', 'i01=5,i01=1'), 2, 'more than once'),
    'recommend: an edited model file': (('collab_recommend', 'edited.pth', '--user', '100'), 1, 'damaged or edited model file'),
    'train: --encoding bogus':     (('collab_train', 'ratings.csv', '--encoding', 'bogus', '--out', 'm.pth'), 2, 'bogus'),
    "train: --sep '\\'":          (('collab_train', 'ratings.csv', '--sep', '\\', '--out', 'm.pth'), 2, '--sep'),
    'train: one column twice':     (('collab_train', 'ratings.csv', '--item', 'user', '--out', 'm.pth'), 2, 'three different columns'),
    'train: --out /dev/null':      (('collab_train', 'ratings.csv', '--out', '/dev/null'), 2, 'character device'),
    'train: gzip named .csv':      (('collab_train', 'gzip.csv', '--out', 'm.pth'), 1, 'gzip'),
    'train: --device gpu':         (('collab_train', 'ratings.csv', '--device', 'gpu', '--out', 'm.pth'), 2, '--device'),
    'train: --device cuda:99':     (('collab_train', 'ratings.csv', '--device', 'cuda:99', '--out', 'm.pth'), 2, '--device cuda:99'),
    'train: sharded on cuda':      (('collab_train', 'ratings.csv', '--nproc', '2', '--device', 'cuda', '--out', 'm.pth'), 2, 'sharded backend trains on CPUs'),
    'book: --device tpu':          (('collab_book', '--device', 'tpu'), 2, '--device'),
}


@pytest.fixture(scope='session')
def cli_runs(ratings, tmp_path_factory):
    """`(folder, {case: Popen})`: every case of CLI_CASES started at once, in the background (each start is seconds of imports).
    The folder holds ratings.csv, broken CSVs, a saved (untrained: the cases do not need a good one) model.pth and another tool's .pth file."""
    d = tmp_path_factory.mktemp('cli')
    ratings.to_csv(d/'ratings.csv', index=False)
    (d/'empty.csv').write_text('')
    ratings.astype({'rating': object}).assign(rating=lambda df: df['rating'].where(df.index != 3, 'lots')).to_csv(d/'bad_rating.csv', index=False)
    classes = {n: ['#na#', *sorted(ratings[n].unique())] for n in ('user', 'item')}
    Recommender(DotBias(len(classes['user']), len(classes['item']), 4, y_range=Y_RANGE), classes, ratings, 'user', 'item').save(d/'model.pth')
    torch.save({'weights': torch.randn(10, 4)}, d/'other_tool.pth')
    edited = torch.load(d/'model.pth', weights_only=True); edited['arch'][1]['n_factors'] = 5; torch.save(edited, d/'edited.pth')
    import gzip; (d/'gzip.csv').write_bytes(gzip.compress((d/'ratings.csv').read_bytes()))
    procs = {case: subprocess.Popen([str(BIN/cmd), *args], cwd=d, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for case, ((cmd, *args), _, _) in CLI_CASES.items()}
    yield d, procs
    for p in procs.values():   # a test that stopped early leaves none running
        if p.poll() is None: p.kill(); p.communicate()


@pytest.mark.parametrize('case', CLI_CASES)
def test_cli_bad_input(case, cli_runs):
    d, procs = cli_runs
    _, rc, word = CLI_CASES[case]
    out, err = procs[case].communicate(timeout=180)
    assert 'Traceback' not in out + err, err[-3000:]
    assert procs[case].returncode == rc, f'exit status {procs[case].returncode}, expected {rc}; stderr: {err[-2000:]}'
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), f'expected one error: line on stderr, got {lines}'
    assert word in lines[0], lines[0]
    assert not (d/'m.pth').exists()


# ---- issue 22: nothing lost, nothing silently wrong ---------------------------------------------------------

def test_refit_knows_every_user_and_item(ratings):
    "`refit=True` (collab_train's default): validated, then trained on every rating; users and items rated once are known"
    from collab_lib.train import fit_recommender
    once = pd.DataFrame({'user': [9001, 9002, 9003], 'item': ['new1', 'new2', 'new3'], 'rating': np.float32([4, 2, 5])})
    df = pd.concat([ratings, once], ignore_index=True)
    rec, info = fit_recommender(df, n_factors=4, epochs=2, seed=0, ranking=True, refit=True)
    assert set(df.user) <= set(rec.classes['user']) and set(df.item) <= set(rec.classes['item'])
    assert info['trained_on'] == 1 and info['valid_mse'] > 0 and [r['phase'] for r in info['epochs']] == ['valid'] * 2 + ['refit'] * 2
    assert rec.ranker.U.shape[0] == len(rec.classes['user'])
    rec0, info0 = fit_recommender(df, n_factors=4, epochs=1, seed=0, ranking=False, valid_pct=0)
    assert info0['valid_mse'] is None and info0['trained_on'] == 1 and set(df.item) <= set(rec0.classes['item'])
    _, info1 = fit_recommender(df, n_factors=4, epochs=1, seed=0, ranking=False)
    assert info1['trained_on'] == pytest.approx(0.8)


def test_ids_exactly_as_in_the_file(tmp_path):
    "Integer ids of any size, and text, round-trip exactly: no float ids"
    from collab_lib.ratings import read_ratings
    ids = [str(2**63 - 1), str(2**63), str(2**64 + 7), '1', '1.0', 'é']
    (tmp_path/'r.csv').write_text('u,i,r\n' + ''.join(f'{u},{k},3\n' for k, u in enumerate(ids)))
    assert read_ratings(tmp_path/'r.csv', 'u', 'i', 'r').user.tolist() == ids
    (tmp_path/'big.csv').write_text(f'u,i,r\n{2**62},1,3\n-5,2,4\n')
    assert read_ratings(tmp_path/'big.csv', 'u', 'i', 'r').user.tolist() == [2**62, -5]


def test_atomic_path_outputs_are_regular_files(tmp_path):
    "A link is followed (its target replaced, the link kept); a FIFO or a device is refused before anything is written"
    from collab_lib.core import atomic_path
    (tmp_path/'link').symlink_to(tmp_path/'target')
    with atomic_path(tmp_path/'link') as p: p.write_text('new')
    assert (tmp_path/'link').is_symlink() and (tmp_path/'target').read_text() == 'new'
    os.mkfifo(tmp_path/'fifo')
    for bad in (tmp_path/'fifo', Path('/dev/null')):
        with pytest.raises(FileExistsError, match='not a regular file'):
            with atomic_path(bad) as p: p.write_text('x')
    assert sorted(o.name for o in tmp_path.iterdir()) == ['fifo', 'link', 'target']


def test_damaged_model_file_is_one_error(trained, tmp_path):
    "Every part of a saved model is checked against the others: an edit is a `DataError`, never a PyTorch traceback"
    from collab_lib.core import DataError
    rec = trained('fit_recommender+GradedALS'); rec.save(tmp_path/'m.pth')
    edits = [lambda d: d['arch'][1].update(n_factors=3), lambda d: d.update(arch=('Nope', {})), lambda d: d['arch'][1].update(x=1),
             lambda d: d.update(rated_starts=d['rated_starts'][:-2]), lambda d: d['ranker'].update(V=d['ranker']['V'][:-1]),
             lambda d: d['classes']['user'].append(-1), lambda d: d['arch'][1].update(n_users=10**12), lambda d: d.pop('names')]
    for edit in edits:
        d = torch.load(tmp_path/'m.pth', weights_only=True); edit(d); torch.save(d, tmp_path/'e.pth')
        with pytest.raises(DataError, match='damaged or edited model file'): Recommender.load(tmp_path/'e.pth')


def test_sigterm_is_a_clean_stop(tmp_path):
    "SIGTERM inside a console script: the file being written is not left behind, one line, exit 143"
    code = textwrap.dedent("""
        import os, signal, time
        from collab_lib.cli import cli_errors
        from collab_lib.core import atomic_path
        with cli_errors():
            with atomic_path('out.bin') as p:
                p.write_text('half'); os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)
    """)
    p = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (143, 'error: stopped by SIGTERM\n')
    assert list(tmp_path.iterdir()) == []


# ---- issue 24: the device follows fastai's convention ----------------------------------------------------

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')


def test_device_default_and_explicit(ratings):
    "Without `device=`, training goes where fastai's `default_device()` points; the `Recommender` serves on the CPU either way"
    from fastai.torch_core import default_device
    from collab_lib.train import fit_recommender
    for device in (None, 'cpu'):
        rec, info = fit_recommender(ratings, n_factors=4, epochs=1, seed=0, device=device)
        assert info['device'] == str(default_device() if device is None else torch.device(device))
        assert info['learn'].dls.device == torch.device(info['device'])
        assert next(info['learn'].model.parameters()).device == torch.device(info['device'])
        assert next(rec.model.parameters()).device.type == 'cpu' and rec.ranker.U.device.type == 'cpu'


def test_bad_device_is_refused_before_training(ratings):
    from collab_lib.train import fit_recommender
    with pytest.raises(ValueError, match="unknown device 'gpu'"): fit_recommender(ratings, epochs=1, device='gpu')
    with pytest.raises(ValueError, match='sharded backend trains on CPUs'): fit_recommender(ratings, epochs=1, backend='sharded', device='cuda')


def test_collab_book_says_where_it_trains():
    out = subprocess.run([str(BIN/'collab_book'), '--epochs', '1', '--bs', '4096', '--device', 'cpu'], env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == 'training on cpu (1 thread)' and lines[-1].startswith('valid_mse=')


@CUDA
def test_cuda_training_serves_on_the_cpu(ratings, tmp_path):
    "On a GPU: trained there by default, saved, and loaded and served on the CPU with the same answers"
    from collab_lib.train import fit_recommender
    rec, info = fit_recommender(ratings, n_factors=4, epochs=2, seed=0)
    assert info['device'].startswith('cuda') and next(info['learn'].model.parameters()).is_cuda
    assert next(rec.model.parameters()).device.type == 'cpu'
    again = Recommender.load(rec.save(tmp_path/'m.pth'))
    u = ratings.user.iloc[0]
    pd.testing.assert_frame_equal(again.recommend(u, 5), rec.recommend(u, 5))


@CUDA
def test_cuda_models_match_the_cpu(encoded):
    "GradedALS and BayesianMF draw their random numbers on the CPU: the same seed gives the same model on either device"
    from collab_lib.ranking import GradedALS, is_liked
    from collab_lib.bayes import BayesianMF
    u, i, r, n_u, n_i = encoded
    liked = is_liked(r, (1., 5.))
    a, b = [GradedALS(n_factors=4, reg=1., iters=3, seed=0).fit(u, i, liked, n_u, n_i, device=d) for d in ('cpu', 'cuda')]
    assert b.U.is_cuda
    torch.testing.assert_close(b.U.cpu(), a.U, atol=1e-4, rtol=1e-3)
    p, q = [BayesianMF(n_factors=4, n_samples=8, burn_in=4, seed=0).fit(u, i, r, n_u, n_i, quiet=True, device=d).predict(u, i) for d in ('cpu', 'cuda')]
    assert np.sqrt(((p - r)**2).mean()) == pytest.approx(np.sqrt(((q - r)**2).mean()), abs=1e-3)
