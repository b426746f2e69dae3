"""`python -m harness STAGE ...`: the pipeline stages that dvc.yaml calls, and the stable scoring entry points."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import InputError

STAGES = "fetch -> prepare -> train -> index -> evaluate -> reader-train -> vqa -> report"


def _params(args: argparse.Namespace) -> dict:
    from harness.params import load_params

    return load_params(args.params)


def cmd_fetch(args: argparse.Namespace) -> int:
    from harness import paths
    from harness.data.fetch import fetch

    if args.resolve:
        return cmd_fetch_resolve(args)
    params = _params(args)
    rec = fetch(params, paths.fetch_record(params))
    print(json.dumps({d["card"]: d["counts"] for d in rec["downloads"]} or "nothing to fetch", sort_keys=True))
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from harness.pipeline.prepare import prepare

    print(json.dumps(prepare(_params(args)), sort_keys=True))
    return 0


def cmd_prepare_corpus(args: argparse.Namespace) -> int:
    from harness import paths
    from harness.data.prepared_corpus import prepare_corpus, shared_corpus

    params = _params(args)
    out = paths.corpus_dir(str(shared_corpus(params)))
    print(json.dumps(prepare_corpus(params, out), sort_keys=True))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from harness.pipeline.fit import fit

    s = fit(_params(args), args.run, args.device)
    print(f"{args.run}: best {s['selected_on']} = {s['best_score']:.2f} at step {s['best_step']} "
          f"({s['steps_run']} steps, {s['seconds']:.0f}s)")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from harness.pipeline.build_index import build_index

    s = build_index(_params(args), args.run, args.corpus, args.device)
    if s:  # under torchrun only rank 0 holds the built index
        print(f"{args.run}: {s['backend']} {s['vectors']} vectors, {s['bytes_on_disk']:,} bytes")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from harness.pipeline.evaluate import evaluate

    rec = evaluate(_params(args), args.run, args.task, args.device)
    print(json.dumps({k: round(v, 2) for k, v in rec["metrics"].items()}, sort_keys=True))
    return 0


def cmd_reader_train(args: argparse.Namespace) -> int:
    from harness.pipeline.read import train_reader

    s = train_reader(_params(args), args.device)
    print(f"reader: best {s['selected_on']} = {s['best_score']:.2f} at step {s['best_step']} ({s['seconds']:.0f}s)")
    return 0


def cmd_vqa(args: argparse.Namespace) -> int:
    from harness.pipeline.read import answer

    if (args.run is None) == (args.bound is None):
        raise InputError("command line", "--run/--bound", "give exactly one")
    rec = answer(_params(args), run_id=args.run, bound=args.bound, device=args.device)
    print(json.dumps({"vqa": rec["metrics"]["VQA"], "em": rec["metrics"]["EM"], "n": rec["counts"]["queries"]}))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness import paths
    from harness.report.plots import success_plot
    from harness.report.tables import write_tables

    params = _params(args)
    write_tables(params)
    success_plot(params)
    print((paths.tables_dir(params) / "summary.md").read_text(encoding="utf-8"))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from harness.score_cli import score

    print(json.dumps(score(args), sort_keys=True))
    return 0


def cmd_vqa_score(args: argparse.Namespace) -> int:
    from harness.score_cli import vqa_score

    print(json.dumps(vqa_score(args), sort_keys=True))
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from harness.methods import discover

    for name, spec in discover().items():
        print(f"{name}\t{spec.family}\t{','.join(spec.modalities)}\t{spec.description}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.data.images import check_images
    from harness.data.schema import Dataset

    ds = Dataset(args.dataset)
    check_images(ds.queries, Path(args.dataset) / "queries.jsonl")
    pids = {p.pid for p in ds.corpus}
    for split, rels in ds.qrels.items():  # a judgement on a passage the corpus lacks can never be retrieved
        stray = sorted({pid for judged in rels.values() for pid in judged} - pids)
        if stray:
            raise InputError(Path(args.dataset) / "qrels" / f"{split}.tsv", "corpus-id",
                             f"{len(stray)} passage ids not in corpus.jsonl (first: {stray[0]!r})")
    print(json.dumps({"queries": len(ds.queries), "passages": len(ds.corpus),
                      "qrels": {s: len(q) for s, q in ds.qrels.items()}}))
    return 0


def cmd_export_beir(args: argparse.Namespace) -> int:
    from harness.data.beir import export_beir

    print(json.dumps(export_beir(Path(args.dataset), Path(args.out)), sort_keys=True))
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    """A study's table (the DVC stage `study-<name>` in studies/dvc.yaml runs this)."""
    from harness.studies import write_table

    for path in write_table(args.name):
        print(f"wrote {path}")
    return 0


def cmd_pipelines(args: argparse.Namespace) -> int:
    from harness import dvcfile

    if args.check:
        stale = dvcfile.stale()
        print("\n".join(f"stale: {f}" for f in stale) or "every pipeline file is up to date")
        return 1 if stale else 0
    changed = dvcfile.write_all()
    print("\n".join(f"wrote {f}" for f in changed) or "every pipeline file is up to date")
    return 0


def cmd_repro_all(args: argparse.Namespace) -> int:
    from harness.repro_all import repro_all

    return repro_all(args.pipelines, dry=args.dry)


def cmd_site(args: argparse.Namespace) -> int:
    from harness.report.site import refresh_latency, write_site

    refresh_latency()
    for f in write_site(readme=args.readme):
        print(f"wrote {f}")
    return 0


def cmd_fetch_resolve(args: argparse.Namespace) -> int:
    from harness.pins import pin

    for line in pin(_params(args)):
        print(line)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """An argument error is one line naming the command (`--help` shows the usage)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def _adder(sub: Any) -> Callable[..., argparse.ArgumentParser]:
    """`add(name, fn, help, run=False)`: a subcommand; `run` gives it the stage options a run's stages take."""

    def add(name: str, fn, help: str, run: bool = False) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(fn=fn)
        if run:
            sp.add_argument("--run", required=True, help="run id (a key of `runs` in params.yaml)")
            sp.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
        if run and name == "index":
            sp.add_argument("--corpus", default="full", help="corpus id of a task (full, subset<N>-seed<S>)")
        if run and name == "evaluate":
            sp.add_argument("--task", help="task name (a key of `tasks` in params; default: the main task)")
        return sp

    return add


def _stage_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    sp = add("fetch", cmd_fetch, "stage 0: download and verify what the pipeline needs from the hub (nothing for toy)")
    sp.add_argument("--resolve", action="store_true", help="the same as `pin`")
    add("pin", cmd_fetch_resolve, "pin every hub id the pipeline names (dataset cards, backbones, vision encoders, "
                                  "reader) to the commit the hub serves now; then commit the pins")
    add("prepare-corpus", cmd_prepare_corpus, "stage 1: write the named corpus the dataset reads -> "
                                               "data/corpora/<corpus>/ (wiki_vital, okvqa_gs, ...)")
    add("prepare", cmd_prepare, "stage 1: write the dataset folder data/<dataset.name>/")
    add("train", cmd_train, "stage 2: train one run under the shared protocol -> models/<profile>/<run>/", run=True)
    add("index", cmd_index, "stage 3: encode the corpus and build the index -> indexes/<profile>/<run>/", run=True)
    add("evaluate", cmd_evaluate, "stage 4: search, score, write results/<profile>/runs/<run>/", run=True)
    sp = add("reader-train", cmd_reader_train, "stage 5: train the profile's reader -> models/<profile>/_reader/")
    sp.add_argument("--device", default="auto")
    sp = add("vqa", cmd_vqa, "stage 6: answer the test questions from a run's top-K (or a bound) and score VQA")
    sp.add_argument("--run", help="run id whose trec.run supplies the passages")
    sp.add_argument("--bound", help="none (no passages) or oracle (a passage holding an answer)")
    sp.add_argument("--device", default="auto")
    add("report", cmd_report, "stage 7: tables and plots -> results/<profile>/{tables,plots}/")


def _scoring_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    sp = add("score", cmd_score, "score a TREC run file (JSON on stdout, percentages)")
    sp.add_argument("--run", required=True, help="TREC run file")
    sp.add_argument("--queries", required=True, help="queries.jsonl")
    sp.add_argument("--corpus", required=True, help="corpus.jsonl")
    sp.add_argument("--ks", default="5,10,20,50")
    sp.add_argument("--qrels", help="qrels TSV (default: qrels/*.tsv beside the queries file, if any)")
    sp.add_argument("--split", default="test", help="score this split's queries, a query missing from the run "
                    "counting as a miss (default: test; all: every query)")
    sp.add_argument("--only-present", action="store_true",
                    help="score only the queries present in the run (not comparable with the pipeline's numbers)")
    sp.add_argument("--lenient", action="store_true",
                    help="ignore (and count) query and passage ids the inputs do not hold, instead of stopping")
    sp = add("vqa-score", cmd_vqa_score, "official VQA accuracy and EM of predictions (JSON on stdout, percentages)")
    sp.add_argument("--predictions", required=True, help="JSON {qid: answer} (or a list of {question_id, answer})")
    sp.add_argument("--answers", required=True, help="JSONL of {qid, answers}; a queries.jsonl works too")
    sp.add_argument("--split", default="test", help="score this split's questions where the answers file records "
                    "splits (a queries.jsonl does; default: test; all: every question)")
    sp.add_argument("--lenient", action="store_true",
                    help="ignore (and count) predictions for questions the answers file does not hold")


def _project_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    add("methods", cmd_methods, "list the method folders found under methods/")
    sp = add("validate", cmd_validate, "check a dataset folder, decoding every image")
    sp.add_argument("dataset", help="dataset folder (holding queries.jsonl, corpus.jsonl)")
    sp = add("export-beir", cmd_export_beir, "write a dataset folder in BEIR's layout (queries _id/text, dev split)")
    sp.add_argument("dataset", help="dataset folder (queries.jsonl, corpus.jsonl, qrels/)")
    sp.add_argument("out", help="the folder to write")
    sp = add("study", cmd_study, "write a study's table (studies/<name>.yaml) from the results it reads")
    sp.add_argument("name")
    sp = add("pipelines", cmd_pipelines, "write every pipeline's params.yaml and dvc.yaml (pipelines/<name>/)")
    sp.add_argument("--check", action="store_true", help="only list files that differ from what would be written")
    sp = add("repro-all", cmd_repro_all, "dvc repro every offline pipeline, one table after another, timed")
    sp.add_argument("pipelines", nargs="*", help="names (default: every pipeline that needs no hub and no GPU)")
    sp.add_argument("--dry", action="store_true", help="list the stages that would run (dvc repro --dry)")
    sp = add("site", cmd_site, "write results/index.html from the long tables and refresh the latency tables")
    sp.add_argument("--readme", action="store_true", help="also copy each summary table into README.md")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m harness", description=f"flmr-bench pipeline: {STAGES}; plus scoring tools.")
    p.add_argument("--params", default="params.yaml",
                   help="params file (default: params.yaml, the embedded default; pipelines/<name>/params.yaml)")
    p.add_argument("--allow-dirty", action="store_true",
                   help="let stages write records from a tree with uncommitted changes (the records say so)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add = _adder(sub)
    _stage_commands(add)
    _scoring_commands(add)
    _project_commands(add)
    return p


PIPELINE_STAGES = ("fetch", "prepare-corpus", "prepare", "train", "index", "evaluate", "reader-train", "vqa", "report")


def _check_requirements(params: dict) -> None:
    """A pipeline that needs a GPU stops at once, in one line, where none is visible (never a silent skip)."""
    from harness.paths import params_file

    if "gpu" in params.get("requires", []):
        import torch

        if not torch.cuda.is_available():
            raise InputError(params_file(params), "requires", "this pipeline needs a CUDA GPU and torch sees none "
                             "here; run it on a GPU machine")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in PIPELINE_STAGES:
            import os

            from harness.provenance import ALLOW_DIRTY_ENV, require_clean_tree

            if args.allow_dirty:
                os.environ[ALLOW_DIRTY_ENV] = "1"
            if not getattr(args, "resolve", False):
                _check_requirements(_params(args))
                require_clean_tree()
            from harness.distributed.runtime import init_from_env, launched
            from harness.kernels import pin_threads
            from harness.pipeline.common import pick_device

            if not launched():  # torchrun gives each rank its share of the cores (OMP_NUM_THREADS)
                pin_threads()
            init_from_env(pick_device(getattr(args, "device", None)))  # one process: nothing to join
        return args.fn(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
