"""NLU evaluation on a held-out split: intent accuracy and F1 on examples the model never saw.

Splits data/nlu with a fixed seed (80% train, 20% test), trains an NLU-only model on the
training part with the project's config.yml, tests it on the held-out part, and writes
var/reports/nlu/ (Rasa's reports) plus var/reports/nlu_evaluation.md. Exit code 1 when intent
accuracy is below the 0.95 target.  Usage: python -m bench.evaluate
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from kuanxin.settings import PROJECT_ROOT

TARGET = 0.95
REPORTS = PROJECT_ROOT / "var" / "reports"


def rasa(*args: str) -> None:
    command = [str(Path(sys.executable).parent / "rasa"), *args]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)


def share_below_fallback_threshold(results: Path) -> float:
    """Of the correct predictions, the share whose confidence the FallbackClassifier would overrule."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    threshold = next(c["threshold"] for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    successes = json.loads((results / "intent_successes.json").read_text(encoding="utf-8"))
    low = sum(1 for s in successes if s["intent_prediction"]["confidence"] < threshold)
    return low / max(len(successes), 1)


def main() -> int:
    work = REPORTS / "nlu-split"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # Regexes and lookup entries are not examples: keep them out of the split and in both halves' config.
    rasa("data", "split", "nlu", "--nlu", "data/nlu", "--training-fraction", "0.8", "--random-seed", "7",
         "--out", str(work))
    train, test = work / "training_data.yml", work / "test_data.yml"
    rasa("train", "nlu", "--config", "config.yml", "--nlu", str(train), "--out", str(work / "model"),
         "--fixed-model-name", "nlu-eval")
    rasa("test", "nlu", "--model", str(work / "model" / "nlu-eval.tar.gz"), "--nlu", str(test),
         "--config", "config.yml", "--out", str(REPORTS / "nlu"), "--successes")
    report = json.loads((REPORTS / "nlu" / "intent_report.json").read_text(encoding="utf-8"))
    accuracy = report["accuracy"]
    fallback_rate = share_below_fallback_threshold(REPORTS / "nlu")
    macro, weighted = report["macro avg"], report["weighted avg"]
    rows = sorted((name, r) for name, r in report.items() if isinstance(r, dict) and "support" in r
                  and name not in ("macro avg", "weighted avg", "micro avg"))
    lines = [
        "# NLU evaluation (held-out 20% split, seed 7)",
        "",
        f"- intent accuracy: **{accuracy:.3f}** (target {TARGET})",
        f"- macro F1: {macro['f1-score']:.3f}, weighted F1: {weighted['f1-score']:.3f}",
        f"- test examples: {weighted['support']}",
        f"- correctly classified but under the fallback threshold (the assistant would ask to rephrase): "
        f"{fallback_rate:.1%}",
        "",
        "| intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|",
        *(f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1-score']:.3f} | {r['support']} |"
          for name, r in rows),
    ]
    (REPORTS / "nlu_evaluation.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[:6]))
    print(f"report: {REPORTS / 'nlu_evaluation.md'}")
    return 0 if accuracy >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
