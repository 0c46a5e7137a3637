"""The scaling benchmark's Spark ALS baseline, not part of the library: how long Spark MLlib's ALS (pyspark, local[2])
takes on the same ratings and the same held-out rows as collab_lib, and what RMSE it reaches. The rows are split exactly
like the project (`collab_lib.ratings.random_split(n, valid_pct, seed)`); the valid part is only scored once, at the end.
ALS's settings are tuned on a seeded `carve_pct` of the training rows (the tune part), fitting on the rest (train-fit),
then the best setting is refitted on all training rows and scored on the valid part.
Users or items of the tune or valid part that the fitting rows lack are not dropped (coldStartStrategy 'drop' would
flatter Spark by scoring only the easy rows): ALS runs with coldStartStrategy 'nan' and a NaN prediction becomes the
fitting rows' mean rating, so every row is scored. Untimed preparation: reading the CSV, splitting, and writing the four
parts as parquet (int32 user, int32 item, float32 rating) into `out_dir`. During tuning, train-fit and tune are read
once and cached in Spark's memory, so the grid's fit seconds time ALS, not parquet reading; the final fit is timed from
reading the train parquet (uncached) to the fitted model (`secs_to_rmse`). `spark_secs` is the Spark part of the run:
JVM start, tuning, final fit and scoring (not the preparation, reported as `prep_secs`). `peak_rss_gb` is the JVM's
peak resident memory (VmHWM), read from /proc before the session stops; each call starts and ends its own JVM.
`py_peak_rss_gb` is this Python process's peak (ru_maxrss), the pandas preparation included."""
import argparse, json, os, resource, shutil, sys, tempfile, time, warnings
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, so that `collab_lib` imports when run as a script
import numpy as np

__all__ = ['DEFAULT_GRID', 'DEFAULT_RANKS', 'SparkUnavailable', 'spark_als']

# Tuning in two steps, sized so that a 25M-rating run takes about 17 minutes on 2 cores (one rank-20 fit of 10 iterations
# on 18M ratings: ~150 s; rank 10: ~100 s; rank 40: ~3x rank 20, out of reach). First regParam at rank 10 (Spark scales
# regParam by each user's and item's number of ratings, ALS-WR; 0.01-0.1 brackets the optimum: 0.02 won at 500k ratings,
# 0.03 at 5M), then rank 20 at
# the best regParam and the next larger one (a larger rank wants more regularisation: at 5M, rank 20 preferred 0.05 where
# rank 10 preferred 0.03). maxIter stays at Spark's default of 10: each further value would cost a whole fit.
DEFAULT_GRID = [(10, 0.01, 10), (10, 0.02, 10), (10, 0.03, 10), (10, 0.05, 10), (10, 0.1, 10)]  # (rank, regParam, maxIter) points tried first
DEFAULT_RANKS = (20,)  # then these ranks, at the best point's regParam and the next larger one, and the best point's maxIter

_LOG4J = """rootLogger.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


class SparkUnavailable(RuntimeError):
    "pyspark is not installed, or its JVM (Java 17+) does not start"


def _write_parquet(df, path):
    "`df`'s user, item (int32) and rating (float32) as a parquet file"
    import pyarrow as pa, pyarrow.parquet as pq
    cols = {}
    for c in ('user', 'item'):
        v = df[c].to_numpy()
        if len(v) and (v.min() < -2**31 or v.max() >= 2**31): raise ValueError(f'{c} ids do not fit int32, which Spark ALS needs')
        cols[c] = pa.array(v.astype(np.int32, copy=False))
    cols['rating'] = pa.array(df['rating'].to_numpy().astype(np.float32, copy=False))
    pq.write_table(pa.table(cols), path)


def _prepare(csv, out_dir, seed, valid_pct, carve_pct) -> dict:
    "Read and split `csv` like the project, write the parts as parquet: their paths, sizes and fitting means"
    from collab_lib.ratings import read_ratings
    from collab_lib.ratings import random_split
    df = read_ratings(csv)
    tr, va = random_split(len(df), valid_pct, seed)             # valid: the held-out rows every path reports on
    fit_pos, tune_pos = random_split(len(tr), carve_pct, seed)  # the tune part: a seeded carve of the training rows only
    parts = dict(train_fit=tr[fit_pos], tune=tr[tune_pos], train=tr, valid=va)
    res = dict(n_ratings=len(df))
    for name, idx in parts.items():
        part = df.iloc[idx.numpy()]
        _write_parquet(part, out_dir/f'{name}.parquet')
        res[f'n_{name}'] = len(part)
        if name in ('train_fit', 'train'): res[f'mean_{name}'] = float(part.rating.astype(np.float64).mean())
    return res


def _start_spark(tmp_dir, driver_memory, partitions):
    "A fresh local[2] SparkSession, its scratch files under `tmp_dir`, its JVM's output in `tmp_dir`/jvm.log; its JVM's pid"
    try:
        with warnings.catch_warnings():  # pyspark warns at import that it does not fully support pandas 3 (ALS does not use pandas)
            warnings.filterwarnings('ignore', 'PySpark does not yet fully support pandas', FutureWarning)
            from pyspark import SparkConf, SparkContext
            from pyspark.java_gateway import launch_gateway
            from pyspark.sql import SparkSession
            import pyspark.ml.recommendation
    except ImportError as e: raise SparkUnavailable(f'cannot import pyspark ({e})') from None
    if SparkContext._active_spark_context is not None or SparkContext._gateway is not None:
        raise RuntimeError('a Spark JVM already runs in this process; the benchmark starts (and measures) its own')
    log4j, jvm_log = tmp_dir/'log4j2.properties', tmp_dir/'jvm.log'
    log4j.write_text(_LOG4J)
    conf = SparkConf().setMaster('local[2]').setAppName('collab_lib-bench-als').setAll([
        ('spark.driver.memory', driver_memory), ('spark.driver.extraJavaOptions', f'-Dlog4j2.configurationFile=file:{log4j}'),
        ('spark.sql.shuffle.partitions', str(partitions)), ('spark.default.parallelism', str(partitions)),
        ('spark.ui.enabled', 'false'), ('spark.ui.showConsoleProgress', 'false'),
        ('spark.local.dir', str(tmp_dir/'local')), ('spark.sql.warehouse.dir', str(tmp_dir/'warehouse'))])
    # the JVM's own stderr (its banner, netlib's note that no native BLAS is installed, Spark's ERROR lines) goes to jvm.log;
    # errors of Spark jobs still reach Python as exceptions
    try:
        with open(jvm_log, 'ab') as f: gw = launch_gateway(conf, popen_kwargs=dict(stdout=f, stderr=f))
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', 'PySpark does not yet fully support pandas', FutureWarning)
            spark = SparkSession(SparkContext(conf=conf, gateway=gw))
    except Exception as e:
        tail = jvm_log.read_text(errors='replace').strip().splitlines()[-3:] if jvm_log.exists() else []
        raise SparkUnavailable(f'the Spark JVM did not start: {str(e).strip().splitlines()[0][:200]} {" | ".join(tail)[:400]}') from None
    spark.sparkContext.setLogLevel('ERROR')
    spark.sparkContext.setCheckpointDir(str(tmp_dir/'checkpoints'))  # ALS cuts its lineage every checkpointInterval (10) iterations
    return spark, int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())


def _stop_spark(spark):
    "Stop the session and end its JVM, so that a later call starts (and measures) a fresh one"
    from pyspark import SparkContext
    spark.stop()
    gw = SparkContext._gateway
    if gw is not None:
        proc = getattr(gw, 'proc', None)
        try: gw.shutdown()
        except Exception: pass
        if proc is not None:
            if proc.stdin: proc.stdin.close()  # the JVM exits when its stdin pipe closes
            try: proc.wait(timeout=30)
            except Exception: proc.kill(); proc.wait()
    SparkContext._gateway = SparkContext._jvm = None


def _vm_hwm_gb(pid) -> float:
    "Peak resident memory (VmHWM) of process `pid`, in GB"
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmHWM:'): return int(line.split()[1]) * 1024 / 1e9
    return float('nan')


def _rmse(model, df, mean) -> float:
    "RMSE of `model` on `df`; NaN predictions (users or items it was not fitted on) count as the fitting rows' `mean`"
    from pyspark.sql import functions as F
    pred = F.nanvl(F.col('prediction'), F.lit(mean))
    return float(model.transform(df).select(F.sqrt(F.avg((pred - F.col('rating'))**2))).first()[0])


def _als(rank, reg, iters, seed):
    from pyspark.ml.recommendation import ALS
    return ALS(userCol='user', itemCol='item', ratingCol='rating', nonnegative=False, implicitPrefs=False, seed=seed,
               rank=rank, regParam=reg, maxIter=iters, coldStartStrategy='nan')


def spark_als(csv, # MovieLens-layout ratings file (userId,movieId,rating,timestamp)
              out_dir, # folder for the parquet parts and Spark's scratch files
              seed=42, valid_pct=0.2, # the project's split: `random_split(n, valid_pct, seed)`
              carve_pct=0.1, # share of the training rows carved out to tune on
              grid=None, # (rank, regParam, maxIter) points tried first; `None`: `DEFAULT_GRID`
              ranks=DEFAULT_RANKS, # then these ranks at the best point's regParam and maxIter (`()`: none)
              log=print, driver_memory='12g', partitions=4) -> dict:
    "Tune Spark ALS on a carve of the training rows, refit the best on all of them, score the valid part once"
    t0 = time.perf_counter()
    try: import pyspark  # fail before the (slow) preparation when Spark is missing
    except ImportError as e: raise SparkUnavailable(f'cannot import pyspark ({e})') from None
    if shutil.which('java') is None and not os.environ.get('JAVA_HOME'): raise SparkUnavailable('no `java` on PATH and no JAVA_HOME')
    out_dir = Path(out_dir); out_dir.mkdir(parents=True, exist_ok=True)
    res = _prepare(csv, out_dir, seed, valid_pct, carve_pct)
    res['prep_secs'] = time.perf_counter() - t0
    grid = [tuple(g) for g in (grid or DEFAULT_GRID)]
    t_spark = time.perf_counter()
    spark, pid = _start_spark(out_dir, driver_memory, partitions)
    try:
        res['jvm_start_secs'] = time.perf_counter() - t_spark
        read = lambda name: spark.read.parquet(str(out_dir/f'{name}.parquet'))
        fit_df, tune_df = read('train_fit').cache(), read('tune').cache()
        fit_df.count(); tune_df.count()  # materialise the caches: the grid's fit times are ALS's, not parquet reading
        tuning = []
        def tune(points, step):
            for rank, reg, iters in points:
                if any((r['rank'], r['regParam'], r['maxIter']) == (rank, reg, iters) for r in tuning): continue
                t = time.perf_counter()
                model = _als(rank, reg, iters, seed).fit(fit_df)  # fit materialises the factors (ALS counts them)
                fit_secs = time.perf_counter() - t
                row = dict(step=step, rank=rank, regParam=reg, maxIter=iters, tune_rmse=_rmse(model, tune_df, res['mean_train_fit']), fit_secs=fit_secs)
                tuning.append(row)
                log(' '.join(f'{k}={v:.4f}' if isinstance(v, float) else f'{k}={v}' for k, v in row.items()))
                model.userFactors.unpersist(); model.itemFactors.unpersist()
            return min(tuning, key=lambda r: r['tune_rmse'])
        best = tune(grid, 1)
        regs = sorted({g[1] for g in grid})
        near = [best['regParam']] + [g for g in regs if g > best['regParam']][:1]
        best = tune([(r, g, best['maxIter']) for r in ranks for g in near], 2)
        fit_df.unpersist(); tune_df.unpersist()
        t = time.perf_counter()  # the final fit: from reading the train parquet to the fitted model
        model = _als(best['rank'], best['regParam'], best['maxIter'], seed).fit(read('train'))
        secs = time.perf_counter() - t
        rmse = _rmse(model, read('valid'), res['mean_train'])
        res.update(spark_rmse=rmse, secs_to_rmse=secs, secs_per_iter=secs/best['maxIter'], rank=best['rank'],
                   regParam=best['regParam'], maxIter=best['maxIter'], tuning=tuning, peak_rss_gb=_vm_hwm_gb(pid))
    finally: _stop_spark(spark)
    res.update(spark_secs=time.perf_counter() - t_spark, total_secs=time.perf_counter() - t0,
               py_peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
               seed=seed, valid_pct=valid_pct, carve_pct=carve_pct, master='local[2]', driver_memory=driver_memory,
               partitions=partitions, pyspark=pyspark.__version__,
               note='secs_to_rmse: final fit on all training rows, parquet reading included; secs_per_iter = secs_to_rmse/maxIter; '
                    'tuning fit_secs: ALS on cached train-fit rows; spark_secs: JVM start to stop (preparation excluded); '
                    'cold-start rows scored with the fitting rows\' mean; peak_rss_gb: the JVM\'s VmHWM')
    return res


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('csv', help='MovieLens-layout ratings CSV (e.g. data/synth/ratings_25000095.csv)')
    p.add_argument('--out-dir', help='folder for the parquet parts and Spark scratch (default: a temporary folder, removed at the end)')
    p.add_argument('--out', help='JSON file for the results (written atomically)')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--carve-pct', type=float, default=0.1)
    p.add_argument('--grid', nargs='+', metavar='RANK,REG,ITERS', help=f'grid points (default: {" ".join(",".join(map(str, g)) for g in DEFAULT_GRID)})')
    p.add_argument('--ranks', type=int, nargs='*', default=list(DEFAULT_RANKS), help="ranks then tried at the best point's regParam and maxIter")
    p.add_argument('--driver-memory', default='12g')
    args = p.parse_args()
    grid = [(int(r), float(g), int(i)) for r, g, i in (s.split(',') for s in args.grid)] if args.grid else None
    out_dir = Path(args.out_dir) if args.out_dir else Path(tempfile.mkdtemp(prefix='spark_als_'))
    try: res = spark_als(args.csv, out_dir, args.seed, args.valid_pct, args.carve_pct, grid, args.ranks, driver_memory=args.driver_memory)
    except SparkUnavailable as e:
        print(f'error: Spark ALS needs pyspark (the [bench] extra) and Java 17+: {e}', flush=True); sys.exit(1)
    finally:
        if not args.out_dir: shutil.rmtree(out_dir, ignore_errors=True)
    if args.out:
        from collab_lib.core import atomic_path
        out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp: tmp.write_text(json.dumps(res, indent=1))
    print(f"spark_rmse={res['spark_rmse']:.4f} secs_to_spark_rmse={res['secs_to_rmse']:.1f} spark_secs={res['spark_secs']:.1f} "
          f"secs_per_iter={res['secs_per_iter']:.2f} peak_rss_gb={res['peak_rss_gb']:.2f}", flush=True)
