"""How far can this encoder go on UMSAB sentiment at all? A ceiling probe; it ships nothing.

    python bench/sentiment_ceiling.py                    # full fine-tune on UMSAB train, 1 epoch (~15 min)
    python bench/sentiment_ceiling.py --epochs 2
    python bench/sentiment_ceiling.py --frozen --epochs 20   # a linear head on the frozen encoder

The product may not train on ``../shared/data`` (its figures there must stay honest), and it does not:
this script is a measurement. It fine-tunes the project's encoder (the fp32 transformers model that
``listening models prepare`` rebuilt or found: mean pooling, ``query:`` prefix, a linear 3-way head) on
UMSAB's *train* split, in memory, and prints macro-F1 on the *test* split per language and their mean:
the figure the issue's target (0.66, English 0.72) is set on. Training on the benchmark's own
distribution is the most any training data could give this encoder, so the result bounds what the
shipped heads, trained on the project's own posts, can reach. Nothing is written to disk.

Needs the shared data (``LISTENING_SHARED_DATA`` or ``../shared/data``) and torch; CPU only
(2 cores: about 15 minutes an epoch for the 14,712 training tweets at 64 pieces).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_umsab(train_posts: int | None, test_posts: int | None, seed: int):
    import pandas as pd

    from nlp.evaluate import UMSAB_FILE, default_shared_dir

    path = default_shared_dir() / UMSAB_FILE
    if not path.is_file():
        raise SystemExit(f"UMSAB not found at {path} (set LISTENING_SHARED_DATA)")
    frame = pd.read_csv(path)
    train = frame[frame["split"] == "train"]
    if train_posts and train_posts < len(train):
        train = train.sample(n=train_posts, random_state=seed)
    test = frame[frame["split"] == "test"]
    if test_posts and test_posts < len(test):  # a quick check only: the target is on the whole split
        test = test.sample(n=test_posts, random_state=seed)
    return train, test


def encoder_path() -> Path:
    from nlp.models import resolve_encoder
    from pipelines.project import open_project

    project = open_project(None)
    return resolve_encoder(project.config, project.base_dir).path


class Model:
    """The encoder with mean pooling (as the product pools) and a linear head."""

    def __init__(self, path: Path, max_length: int):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path)
        # The 250k-piece embedding table is most of the weights; leaving it fixed keeps the optimiser small.
        self.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 3)
        self.max_length = max_length

    def embed(self, texts: list[str]):
        batch = self.tokenizer([f"query: {t}" for t in texts], padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")  # fmt: skip
        states = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(1) / mask.sum(1)
        # Unit vectors scaled up: the head sees the normalised embedding the product uses.
        return self.torch.nn.functional.normalize(pooled, dim=-1) * 10.0

    def logits(self, texts: list[str]):
        return self.head(self.embed(texts))


def fine_tune(model: Model, texts: list[str], labels, epochs: float, batch_size: int, seed: int,
              frozen: bool) -> None:  # fmt: skip
    """Full fine-tune (embedding table fixed) or, when ``frozen``, the head alone on cached vectors."""
    torch = model.torch
    groups = [{"params": list(model.head.parameters()), "lr": 2e-3}]
    if frozen:
        with torch.no_grad():
            model.encoder.eval()
            cached = torch.cat([model.embed(texts[s : s + 64]) for s in range(0, len(texts), 64)])
        features = lambda idx: cached[idx]  # noqa: E731
    else:
        groups.append({"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": 4e-5})
        model.encoder.train()
        features = lambda idx: model.embed([texts[i] for i in idx])  # noqa: E731
    optimiser = torch.optim.AdamW(groups, weight_decay=0.01)
    total = int(math.ceil(len(texts) / batch_size) * epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # 30 warm-up steps, then linear decay
        optimiser, lambda s: min(1.0, (s + 1) / 30) * max(0.0, 1 - s / total)
    )
    rng = random.Random(seed)
    started, step = time.time(), 0
    while step < total:
        order = list(range(len(texts)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            if step >= total:
                break
            idx = order[start : start + batch_size]
            loss = torch.nn.functional.cross_entropy(model.head(features(idx)), torch.tensor(labels[idx]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 50 == 0 or step == total:
                print(
                    f"  step {step}/{total}  loss {loss.item():.3f}  {time.time() - started:.0f} s",
                    flush=True,
                )
    model.encoder.eval()


def predict(model: Model, texts: list[str], batch_size: int = 64):
    import numpy as np

    out = np.zeros(len(texts), dtype=np.int64)
    order = np.argsort([len(t) for t in texts])  # length-sorted batches pad less
    with model.torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = model.logits([texts[i] for i in idx]).argmax(-1).numpy()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--train-posts", type=int, default=0, help="subsample UMSAB train (0: all)")
    parser.add_argument("--test-posts", type=int, default=0, help="subsample UMSAB test (0: all)")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--frozen", action="store_true", help="train the linear head only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import torch
    from sklearn.metrics import f1_score

    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    train, test = load_umsab(args.train_posts or None, args.test_posts or None, args.seed)
    path = encoder_path()
    model = Model(path, args.max_length)
    what = "linear head on the frozen encoder" if args.frozen else "full fine-tune (embedding table fixed)"
    print(f"encoder {path}\n{what}: {len(train)} UMSAB train tweets, {args.epochs:g} epoch(s)")
    started = time.time()
    fine_tune(model, train["text"].astype(str).tolist(), train["label"].to_numpy(), args.epochs,
              args.batch_size, args.seed, args.frozen)  # fmt: skip
    trained = time.time() - started
    test = test.assign(pred=predict(model, test["text"].astype(str).tolist()))
    per_language = {
        lang: f1_score(group["label"], group["pred"], average="macro")
        for lang, group in test.groupby("language")
    }
    print(f"UMSAB test ({len(test)} tweets), macro-F1 per language:")
    for lang, score in per_language.items():
        print(f"  {lang:<11} {score:.3f}")
    print(f"mean over languages {np.mean(list(per_language.values())):.3f}  "
          f"(training {trained:.0f} s, {len(train) * args.epochs / trained:.1f} tweets/s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
