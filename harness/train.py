"""The shared training loop: one seed, AdamW, linear warm-up and decay, in-batch plus hard negatives,
validation every N steps, best checkpoint and early stopping on validation (never test), and resume from the
last checkpoint after a kill.

Under torchrun (harness/distributed) every rank draws the same global batch, trains on its contiguous share of
the queries against every rank's passages (the methods gather them), and the ranks' gradients are summed: the
one-process step. Every rank validates (sharing the corpus encoding) and rank 0's score decides for all, so all
stop together; rank 0 writes checkpoints, and every rank resumes from the last one."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_file
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from harness.api import Passage, Query
from harness.atomic import atomic_dir
from harness.distributed.in_batch import all_reduce_grads
from harness.distributed.runtime import barrier, broadcast, current, shard_bounds
from harness.progress import note, phase_line


@dataclass
class TrainResult:
    best_step: int
    best_score: float
    steps_run: int
    stopped_early: bool
    resumed_from: int | None
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def _batch(rng: np.random.Generator, queries: list[Query], positives: dict[str, list[str]], size: int
           ) -> tuple[list[Query], list[str]]:
    """Queries with distinct positives, so no in-batch 'negative' is another query's positive."""
    chosen, pos, used = [], [], set()
    for i in rng.permutation(len(queries)):
        q = queries[int(i)]
        options = [p for p in positives[q.qid] if p not in used]
        if not options:
            continue
        p = options[int(rng.integers(len(options)))]
        chosen.append(q)
        pos.append(p)
        used.update(positives[q.qid])
        if len(chosen) == size:
            break
    return chosen, pos


def save_checkpoint(model: torch.nn.Module, path: Path) -> None:
    """What training changes: the trainable parameters and every buffer (running statistics move in frozen
    layers too). A frozen base (BLIP-2 under LoRA, a frozen vision encoder) is not copied at each evaluation."""
    state = {name: p.detach().contiguous() for name, p in model.named_parameters() if p.requires_grad}
    persistent = set(model.state_dict())
    state.update((name, b.detach().contiguous()) for name, b in model.named_buffers() if name in persistent)
    save_file(state, str(path), metadata={"format": "pt"})


def load_checkpoint(model: torch.nn.Module, path: Path) -> None:
    """The checkpoint's tensors into the model; what it lacks must be frozen (and so unchanged since the start)."""
    missing, unexpected = load_model(model, str(path), strict=False)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    if unexpected or trainable & set(missing):
        raise RuntimeError(f"checkpoint {path} does not fit the model: unexpected {sorted(unexpected)[:3]}, "
                           f"trainable missing {sorted(trainable & set(missing))[:3]}")


class _Checkpoints:
    """Validation, the best and last checkpoints and the early-stopping count, resumed from `last` when its
    settings match (a kill loses at most `eval_every` steps)."""

    def __init__(self, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any, ckpt_dir: Path,
                 settings_hash: str, steps: int, validate: Callable[[], float], patience: int) -> None:
        self.model, self.opt, self.sched, self.ckpt_dir = model, opt, sched, ckpt_dir
        self.last, self.steps, self.validate, self.patience = ckpt_dir / "last", steps, validate, patience
        self.group = current()
        self.state: dict[str, Any] = {"step": 0, "best_score": float("-inf"), "best_step": 0, "bad_evals": 0,
                                      "history": [], "settings_hash": settings_hash}
        self.resumed_from: int | None = None

    def resume(self) -> None:
        if (self.last / "state.json").is_file():
            saved = json.loads((self.last / "state.json").read_text())
            if saved.get("settings_hash") == self.state["settings_hash"]:
                load_checkpoint(self.model, self.last / "model.safetensors")
                extra = torch.load(self.last / "optimizer.pt", weights_only=True)
                self.opt.load_state_dict(extra["optimizer"])
                self.sched.load_state_dict(extra["scheduler"])
                self.state = saved
                self.resumed_from = saved["step"]
                note(f"resuming from the checkpoint at step {self.resumed_from}/{self.steps} in {self.last} "
                     "(same settings)")
            elif self.group.main:
                note(f"a checkpoint in {self.ckpt_dir} was made with other settings: starting afresh")
                shutil.rmtree(self.ckpt_dir)
        barrier(self.group)  # every rank has read the checkpoint before rank 0 writes the next one

    def evaluate(self, step: int) -> bool:
        """Validate at `step`, write the checkpoints; whether patience has run out."""
        t0 = time.perf_counter()
        # every rank validates (the corpus encoding is sharded across them); rank 0's score decides for all
        score = float(broadcast(float(self.validate()), self.group))
        phase_line(f"validation at step {step}/{self.steps}: {score:.2f}", time.perf_counter() - t0)
        state = self.state
        state["history"].append({"step": step, "val": score})
        improved = score > state["best_score"]
        if improved:
            state.update(best_score=score, best_step=step, bad_evals=0)
        else:
            state["bad_evals"] += 1
        state["step"] = step
        if self.group.main:  # the ranks hold the same weights: one writes
            if improved:
                with atomic_dir(self.ckpt_dir / "best") as tmp:
                    save_checkpoint(self.model, tmp / "model.safetensors")
            with atomic_dir(self.last) as tmp:
                save_checkpoint(self.model, tmp / "model.safetensors")
                torch.save({"optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict()},
                           tmp / "optimizer.pt")
                (tmp / "state.json").write_text(json.dumps(state))
        barrier(self.group)
        return state["bad_evals"] >= self.patience


def _negatives(rng: np.random.Generator, batch: list[Query], positives: dict[str, list[str]],
               hard_negatives: dict[str, list[str]], by_id: dict[str, Passage], n_hard: int) -> list[list[Passage]]:
    """Up to `n_hard` mined negatives per query, none of them a positive of any query in the batch."""
    taken = set().union(*(positives[q.qid] for q in batch))
    negs: list[list[Passage]] = []
    for q in batch:
        pool = [p for p in hard_negatives.get(q.qid, []) if p not in taken]
        negs.append([by_id[pool[int(j)]] for j in rng.permutation(len(pool))[:n_hard]])
    return negs


def train(model: torch.nn.Module, *, train_queries: list[Query], corpus: list[Passage],
          positives: dict[str, list[str]], hard_negatives: dict[str, list[str]], protocol: dict[str, Any],
          seed: int, ckpt_dir: Path, validate: Callable[[], float], settings_hash: str) -> TrainResult:
    start = time.perf_counter()
    group = current()
    by_id = {p.pid: p for p in corpus}
    train_queries = [q for q in train_queries if positives.get(q.qid)]
    if not train_queries:
        raise ValueError("no training query has a positive passage")
    steps, eval_every = int(protocol["steps"]), int(protocol["eval_every"])
    n_hard = int(protocol.get("hard_negatives", 0))
    torch.manual_seed(seed)
    trainable = [p for p in model.parameters() if p.requires_grad]
    # the fused kernel (CPU and CUDA) is the same AdamW update in one pass: a quarter of a toy step's time here
    opt = torch.optim.AdamW(trainable, lr=float(protocol["lr"]), weight_decay=float(protocol.get("weight_decay", 0.0)),
                            fused=all(p.device.type in ("cpu", "cuda") for p in trainable))
    sched = get_linear_schedule_with_warmup(opt, int(protocol.get("warmup_steps", 0)), steps)
    ckpt = _Checkpoints(model, opt, sched, ckpt_dir, settings_hash, steps, validate, int(protocol["patience"]))
    ckpt.resume()
    stopped = False
    if ckpt.resumed_from is None:
        model.eval()
        stopped = ckpt.evaluate(0)  # the untrained model is a candidate too
    model.train()
    first = ckpt.state["step"] + 1
    for step in tqdm(range(first, steps + 1), desc="train", initial=first - 1, total=steps, disable=None):
        if stopped:
            break
        rng = np.random.default_rng([seed, step])
        torch.manual_seed(seed * 1_000_003 + step)  # dropout masks repeat exactly after a resume
        batch, pos_ids = _batch(rng, train_queries, positives, int(protocol["batch_size"]))
        negs = _negatives(rng, batch, positives, hard_negatives, by_id, n_hard)
        lo, hi = shard_bounds(len(batch), group.rank, group.world)  # this rank's share of the global batch
        loss = model.loss(batch[lo:hi], [by_id[p] for p in pos_ids[lo:hi]], [p for ps in negs[lo:hi] for p in ps])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        all_reduce_grads(trainable, group)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % eval_every == 0 or step == steps:
            model.eval()
            stopped = ckpt.evaluate(step)
            model.train()
    load_checkpoint(model, ckpt_dir / "best" / "model.safetensors")
    model.eval()
    state = ckpt.state
    return TrainResult(best_step=state["best_step"], best_score=state["best_score"], steps_run=state["step"],
                       stopped_early=stopped and state["step"] < steps, resumed_from=ckpt.resumed_from,
                       seconds=time.perf_counter() - start, history=state["history"])


def result_dict(r: TrainResult) -> dict[str, Any]:
    return asdict(r)
