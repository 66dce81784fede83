"""NLU evaluation on the held-out sets: utterances written separately from the training data.

tests/nlu/heldout_zh.yml was written by someone who had not read data/nlu (see its header), so it
measures how well the assistant understands borrowers the first time. Trains an NLU-only model on
data/ with the project's config.yml, tests it on each held-out set, and prints intent accuracy,
macro F1, per-intent precision/recall/F1 and the most frequent confusions; writes Rasa's reports
to var/reports/nlu/<set>/ and a summary to var/reports/nlu_evaluation.md.
Exit code 1 when a set is below the targets.  Usage: python -m bench.evaluate [--config FILE]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from kuanxin.core.settings import PROJECT_ROOT

ACCURACY_TARGET, MACRO_F1_TARGET = 0.97, 0.95
HELD_OUT = sorted((PROJECT_ROOT / "tests" / "nlu").glob("heldout_*.yml"))
REPORTS = PROJECT_ROOT / "var" / "reports"


def rasa(*args: str) -> None:
    command = [str(Path(sys.executable).parent / "rasa"), *args]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)


def confusions(results: Path, top: int = 12) -> list[tuple[tuple[str, str], int]]:
    errors = json.loads((results / "intent_errors.json").read_text(encoding="utf-8"))
    pairs = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    return pairs.most_common(top)


def summarize(name: str, results: Path) -> tuple[list[str], bool]:
    report = json.loads((results / "intent_report.json").read_text(encoding="utf-8"))
    accuracy, macro = report["accuracy"], report["macro avg"]["f1-score"]
    rows = sorted((intent, r) for intent, r in report.items() if isinstance(r, dict) and "support" in r
                  and intent not in ("macro avg", "weighted avg", "micro avg"))
    lines = [
        f"## {name}: {report['weighted avg']['support']} utterances",
        "",
        f"- intent accuracy: **{accuracy:.3f}** (target {ACCURACY_TARGET})",
        f"- macro F1: **{macro:.3f}** (target {MACRO_F1_TARGET})",
        "",
        "| intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|",
        *(f"| {intent} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1-score']:.3f} | {r['support']} |"
          for intent, r in rows),
        "",
        "Most frequent confusions (true → predicted: count):",
        "",
        *(f"- {true} → {predicted}: {count}" for (true, predicted), count in confusions(results)),
        "",
    ]
    return lines, accuracy >= ACCURACY_TARGET and macro >= MACRO_F1_TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yml", help="the pipeline to evaluate")
    parser.add_argument("--nlu", default="data/nlu", help="the training data")
    parser.add_argument("--out", default=str(REPORTS), help="where the reports go")
    args = parser.parse_args()
    reports = Path(args.out)
    work = reports / "nlu-eval"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rasa("train", "nlu", "--config", args.config, "--nlu", args.nlu, "--out", str(work),
         "--fixed-model-name", "nlu-eval")
    lines, passed = [f"# NLU evaluation on held-out sets ({args.config})", ""], True
    for held_out in HELD_OUT:
        name = held_out.stem
        results = reports / "nlu" / name
        rasa("test", "nlu", "--model", str(work / "nlu-eval.tar.gz"), "--nlu", str(held_out),
             "--config", args.config, "--out", str(results))
        section, ok = summarize(name, results)
        lines += section
        passed = passed and ok
    (reports / "nlu_evaluation.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"report: {reports / 'nlu_evaluation.md'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
