"""The official VQA v2 / OK-VQA accuracy, quirks included, and exact match.

As in the official evaluation script:
- the prediction is always normalised (punctuation, then number words -> digits, articles dropped,
  contractions restored, lower-cased);
- the human answers get only the punctuation step, and only when they are not all identical;
- accuracy = mean over the leave-one-out subsets (each drops one human answer) of min(1, matches / 3);
- the punctuation rule deletes a mark where it touches a space (or the text has a digit,digit comma) and
  replaces it by a space otherwise; the period rule is applied at most 32 times (the script passes
  re.UNICODE where `count` goes).
Labels given as {answer: score} (LXMERT style) are expanded to ten answers by `answers_from_scores`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've",
    "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll", "let's": "let's",
    "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
    "mightve": "might've", "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at",
    "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's", "thered": "there'd",
    "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're", "theres": "there's",
    "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're",
    "theyve": "they've", "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're", "whats": "what's",
    "whatve": "what've", "whens": "when's", "whered": "where'd", "wheres": "where's", "whereve": "where've",
    "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've", "wholl": "who'll", "whos": "who's",
    "whove": "who've", "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've",
    "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
    "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", "youd": "you'd", "youd've": "you'd've",
    "you'dve": "you'd've", "youll": "you'll", "youre": "you're", "youve": "you've",
}
NUMBER_WORDS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
ARTICLES = {"a", "an", "the"}
PUNCT = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")  # sic: the official pattern (a look-ahead, not look-behind)
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
_PERIOD_MAX_SUBS = int(re.UNICODE)  # the official call passes re.UNICODE as the count argument


def process_punctuation(text: str) -> str:
    out = text
    for p in PUNCT:
        if (p + " " in text or " " + p in text) or _COMMA_STRIP.search(text) is not None:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, count=_PERIOD_MAX_SUBS)


def process_digit_article(text: str) -> str:
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def _clean(text: str) -> str:
    return text.replace("\n", " ").replace("\t", " ").strip()


def normalize_prediction(pred: str) -> str:
    return process_digit_article(process_punctuation(_clean(pred)))


def vqa_accuracy(pred: str, gt_answers: Sequence[str]) -> float:
    """Per-question accuracy in [0, 1]; `gt_answers` are the (usually ten) human answers."""
    if not gt_answers:
        return 0.0
    res = normalize_prediction(pred)
    gts = [_clean(a) for a in gt_answers]
    if len(set(gts)) > 1:
        gts = [process_punctuation(a) for a in gts]
    accs = []
    for i in range(len(gts)):
        others = gts[:i] + gts[i + 1 :]
        accs.append(min(1.0, sum(1 for a in others if a == res) / 3.0))
    return sum(accs) / len(accs)


def exact_match(pred: str, gt_answers: Sequence[str]) -> float:
    """1 if the normalised prediction equals any fully normalised human answer."""
    res = normalize_prediction(pred)
    return float(any(res == normalize_prediction(a) for a in gt_answers if a.strip()))


UNLABELLED = "\x00unlabelled"  # stands for human answers the labels do not list; never matches a prediction


def answers_from_scores(scores: Mapping[str, float], n: int = 10) -> list[str]:
    """Expand LXMERT-style {answer: score} labels to `n` human answers.

    The score is min(1, votes / 3) (0.333, 0.667, 1) or the VQA soft score min(1, 0.3 * votes) (0.3, 0.6, 0.9, 1).
    Votes are recovered from either form; a score of 1 gets 4 votes, the least it proves (any count >= 4 scores
    the same). The rest of the `n` answers are unlisted: padded with a value no prediction matches, so the
    leave-one-out average has the official denominator. Raw, unstemmed answer keys stay as they are: a
    prediction that matches the official stemmed answer can still miss, so scores differ a little.
    """
    out: list[str] = []
    for answer, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        if score >= 0.999:
            votes = 4
        elif abs(score / 0.3 - round(score / 0.3)) < 0.02:
            votes = max(1, round(score / 0.3))
        else:
            votes = max(1, round(score * 3))
        out.extend([answer] * votes)
    return out + [UNLABELLED] * max(0, n - len(out))


def score_predictions(predictions: Mapping[str, str], answers: Mapping[str, Sequence[str]]
                      ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """VQA and EM in percent over the questions in `answers`; a missing prediction scores 0."""
    per_q = {"VQA": {}, "EM": {}}
    for qid, gts in answers.items():
        pred = predictions.get(qid, "")
        per_q["VQA"][qid] = vqa_accuracy(pred, gts)
        per_q["EM"][qid] = exact_match(pred, gts)
    n = max(1, len(answers))
    return {k: 100.0 * sum(v.values()) / n for k, v in per_q.items()}, per_q
