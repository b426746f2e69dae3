"""Answer labels and predictions for VQA scoring, in the shapes people have them."""

from __future__ import annotations

import json
from pathlib import Path

from harness.data.schema import _iter_jsonl, canonical_split
from harness.errors import InputError
from harness.metrics.vqa import answers_from_scores


def read_answers(path: str | Path) -> dict[str, list[str]]:
    """JSONL, one question per line: `qid` (or `question_id`) and `answers` as a list of human answers, or as
    {answer: score} labels (LXMERT style; expanded to ten answers). A queries.jsonl is such a file."""
    path = Path(path)
    out: dict[str, list[str]] = {}
    for n, row in _iter_jsonl(path):
        qid = row.get("qid", row.get("question_id"))
        if qid is None or str(qid).strip() == "":
            raise InputError(path, "qid", "missing", line=n)
        qid = str(qid)
        if qid in out:
            raise InputError(path, "qid", f"duplicate id {qid!r}", line=n)
        answers = row.get("answers", row.get("label"))
        if isinstance(answers, dict):
            try:
                out[qid] = answers_from_scores({str(a): float(s) for a, s in answers.items()})
            except (TypeError, ValueError):
                raise InputError(path, "answers", "label scores must be numbers", line=n) from None
        elif isinstance(answers, list) and all(isinstance(a, str) for a in answers):
            out[qid] = answers
        else:
            raise InputError(path, "answers", "must be a list of strings or an {answer: score} mapping", line=n)
    return out


def read_answer_splits(path: str | Path) -> dict[str, str | None]:
    """{qid: split} of an answers file that records one per line (a queries.jsonl does); None where it does not."""
    out: dict[str, str | None] = {}
    for _, row in _iter_jsonl(Path(path)):
        out[str(row.get("qid", row.get("question_id")))] = canonical_split(str(row["split"])) if row.get("split") else None
    return out


def read_predictions(path: str | Path) -> dict[str, str]:
    """`{qid: answer}`, or a list of `{question_id, answer}` (the VQA results format)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "-", "file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, "-", f"not valid JSON ({exc})") from None
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        try:
            items = [(row["question_id"], row["answer"]) for row in data]
        except (KeyError, TypeError):
            raise InputError(path, "question_id", "a list must hold {question_id, answer} objects") from None
    else:
        raise InputError(path, "-", "must be an object or a list")
    out: dict[str, str] = {}
    for qid, ans in items:
        if not isinstance(ans, str):
            raise InputError(path, str(qid), f"answer must be a string, got {type(ans).__name__}")
        out[str(qid)] = ans
    return out
