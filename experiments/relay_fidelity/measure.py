"""How much committed text survives the LLaDA <-> Dream text relay, on real tokenizers and text.

The relay (src/tie/ensemble/bridge.py, TIE_SPEC section 4) has only run between the zoo's
one-character-per-token vocabularies. Here it runs between the stand-ins' tokenizers
(`tie.models.standins`: the real Qwen2 BPE for Dream, a byte-level BPE at LLaDA's ids for LLaDA)
on real reasoning text (the real LLaDA-8B-Instruct outputs in ../shared/data/real-outputs),
committed in the orders the paper's decoding produces:

* every output is tokenized by the source member into a 256-token reasoning region (EOS after
  the text, as in the real outputs); positions commit block by block (blocks of 16), inside a
  block by a confidence proxy: the in-corpus bigram probability of the token given the previous
  one under that tokenizer (EOS padding is certain). We have no real weights here, so the proxy
  stands for the model's confidence: frequent continuations first, rare tokens last.
* low_confidence: one token per step; threshold: every token with proxy >= 0.9 and at least
  one per step; topk: two per step.
* relays every `interval` steps: 16 or 32 (block boundaries under one token per step) and 8
  (mid-block; topk's 2 per step makes 8 steps one block, so topk also runs at interval 4).

Per relay snapshot (both directions, every problem) and bridge rule it reports: the share of
committed characters the target canvas still holds (in order, as committed target tokens), the
committed source tokens dropped and target tokens truncated, round-trip text mismatches, and for
rules that keep text after a gap the mean placement error (target tokens between where a kept run
lands and where the target's own tokenization of the full text puts it). The budget column runs
the relay cycle in character space: each round both members decode `interval` steps, the leader
alternates (every relay crosses tokenizers: the worst case), the kept characters are what the
real bridge keeps; a problem leaves the cycle by the engine's budget rule when a member has spent
one forward per generated token (256) before the text is complete.

    .venv/bin/python experiments/relay_fidelity/measure.py --per-file 6   # the README table
    .venv/bin/python experiments/relay_fidelity/measure.py --per-file 3 --rules drop  # quick
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "real-outputs" / "llada-8b-instruct"
REGION = 256
BLOCK = 16
THRESHOLD = 0.9
SETTINGS = [  # name, policy, interval
    ("block boundary, interval 16", "low_confidence", 16),
    ("block boundary, interval 32", "low_confidence", 32),
    ("mid-block, interval 8", "low_confidence", 8),
    ("mid-block, interval 8, threshold", "threshold", 8),
    ("interval 8, topk (k=2: a block)", "topk", 8),
    ("mid-block, interval 4, topk", "topk", 4),
]
STOP = ("<|eot_id|>", "<|endoftext|>")


def load_texts(per_file: int) -> list[str]:
    """The first `per_file` generations of every shard, cut at LLaDA's end tokens."""
    if not DATA.is_dir():
        sys.exit(f"real outputs not found at {DATA} (this script reads ../shared/data)")
    texts = []
    for path in sorted(DATA.glob("*.json")):
        rows = json.loads(path.read_text())["generations"][:per_file]
        for row in rows:
            text = row["generations"]
            for s in STOP:
                text = text.split(s)[0]
            if text.strip():
                texts.append(text)
    return texts


@dataclass
class Member:
    """A stand-in backend plus what the measurement needs of its tokenizer."""

    name: str
    backend: object
    bigram: dict
    unigram: Counter

    @property
    def tok(self):
        return self.backend.tokenizer

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True)
        return enc["input_ids"], enc["offset_mapping"]

    def conf(self, ids: list[int]) -> list[float]:
        out, prev = [], None
        for t in ids:
            c = self.unigram.get(prev, 0)
            out.append(self.bigram.get((prev, t), 0) / c if c else 0.0)
            prev = t
        return out


def make_members(texts: list[str]) -> tuple[Member, Member]:
    from tie.models import load_backend
    from tie.models.standins import write_standins

    root = Path(tempfile.mkdtemp(prefix="relay-standins-"))
    paths = write_standins(root, ["LLaDA-8B-Instruct", "Dream-v0-Instruct-7B"])
    members = []
    for folder, path in paths.items():
        backend = load_backend(str(path))
        m = Member(folder, backend, {}, Counter())
        counts: Counter = Counter()
        for text in texts:
            ids, _ = m.encode(text)
            prev = None
            for t in ids:
                counts[(prev, t)] += 1
                m.unigram[prev] += 1
                prev = t
        m.bigram = dict(counts)
        members.append(m)
    return members[0], members[1]


def commit_steps(conf: list[float], n_text: int, policy: str) -> list[list[int]]:
    """Positions committed at each step (block by block, proxy-confidence order inside)."""
    steps = []
    for b0 in range(0, REGION, BLOCK):
        block = list(range(b0, b0 + BLOCK))
        key = {p: (conf[p] if p < n_text else 1.0) for p in block}
        left = sorted(block, key=lambda p: -key[p])
        while left:
            if policy == "threshold":
                take = [p for p in left if key[p] >= THRESHOLD] or left[:1]
            elif policy == "topk":
                take = left[:2]
            else:
                take = left[:1]
            steps.append(take)
            left = [p for p in left if p not in take]
    return steps


def canvas(ids: list[int], committed: set[int], member: Member) -> list[int]:
    return [ids[p] if p in committed else member.backend.mask_id for p in range(REGION)]


def kept_chars(out: list[int], tgt: Member, text: str, committed_chars: list[bool]) -> int:
    """How many committed source characters the target canvas holds (`kept_mask`)."""
    return sum(kept_mask(out, tgt, text, committed_chars))


def placement_error(out: list[int], tgt: Member, text: str) -> list[int]:
    """Token distance between each kept run after a gap and its place in the target's own
    tokenization of the full text."""
    ids, offs = tgt.encode(text)
    starts = {s: j for j, (s, _) in enumerate(offs)}
    mask, eos = tgt.backend.mask_id, set(tgt.backend.eos_ids)
    errs, j, cursor, seen_gap = [], 0, 0, False
    while j < len(out):
        if out[j] == mask:
            seen_gap = True
            j += 1
            continue
        if out[j] in eos:
            break
        k = j
        while k < len(out) and out[k] != mask and out[k] not in eos:
            k += 1
        piece = tgt.tok.decode(
            out[j:k], skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        at = text.find(piece, cursor) if piece else -1
        if at >= 0:
            cursor = at + len(piece)
            if seen_gap:
                ideal = starts.get(at)
                if ideal is None:  # the run starts inside a target token: nearest start
                    ideal = min(starts.items(), key=lambda kv: abs(kv[0] - at))[1]
                errs.append(abs(j - ideal))
        j = k
    return errs


def measure(texts, members, rules, settings) -> list[dict]:
    from tie.ensemble.bridge import translate_region

    rows = []
    for name, policy, interval in settings:
        for rule in rules:
            acc = defaultdict(float)
            for si, src in enumerate(members):
                tgt = members[1 - si]
                for text in texts:
                    ids, offs = src.encode(text)
                    ids, offs = ids[:REGION], offs[:REGION]
                    n = len(ids)
                    text_n = text[: offs[-1][1]] if offs else ""
                    full = ids + [src.backend.pad_id] * (REGION - n)
                    steps = commit_steps(src.conf(ids), n, policy)
                    committed: set[int] = set()
                    for i, take in enumerate(steps):
                        committed.update(take)
                        if (i + 1) % interval or len(committed) == REGION:
                            continue
                        cc = [False] * len(text_n)
                        for p in committed:
                            if p < n:
                                for c in range(*offs[p]):
                                    cc[c] = True
                        total = sum(cc)
                        out, st = translate_region(
                            canvas(full, committed, src), src.backend, REGION, tgt.backend, rule
                        )
                        acc["snapshots"] += 1
                        acc["chars"] += total
                        acc["kept"] += kept_chars(out, tgt, text_n, cc)
                        acc["dropped"] += st.tokens_dropped
                        acc["truncated"] += st.tokens_truncated
                        acc["mismatch"] += st.roundtrip_mismatch
                        errs = placement_error(out, tgt, text_n) if rule != "drop" else []
                        acc["placed"] += len(errs)
                        acc["place_err"] += sum(errs)
            budget = budget_exits(texts, members, rule, policy, interval)
            rows.append(
                {
                    "setting": name,
                    "rule": rule,
                    "snapshots": int(acc["snapshots"]),
                    "chars_kept": acc["kept"] / max(acc["chars"], 1),
                    "dropped_per_relay": acc["dropped"] / max(acc["snapshots"], 1),
                    "truncated_per_relay": acc["truncated"] / max(acc["snapshots"], 1),
                    "mismatch_rate": acc["mismatch"] / max(acc["snapshots"], 1),
                    "placement_error": acc["place_err"] / acc["placed"] if acc["placed"] else None,
                    "budget_exit_rate": budget,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def segment_canvas(m: Member, text: str, known: list[bool]) -> tuple[list[int], list[bool]]:
    """The member's canvas holding the known characters: the text split into maximal known and
    unknown stretches, each encoded on its own (what re-encoding the relayed text gives; exact
    placement of kept runs, the optimistic case for the gap rules); flags: committed."""
    ids: list[int] = []
    flags: list[bool] = []
    start = 0
    for c in range(1, len(text) + 1):
        if c == len(text) or known[c] != known[start]:
            seg = m.encode(text[start:c])[0]
            ids += seg
            flags += [known[start]] * len(seg)
            start = c
    return ids, flags


def budget_exits(texts, members, rule, policy, interval) -> float:
    """Share of problems the engine's budget rule takes out of an alternating-leader cycle."""
    from tie.ensemble.bridge import translate_region

    exits = 0
    for text in texts:
        # the text both members can hold: the shorter region's worth of characters
        end = min(m.encode(text)[1][:REGION][-1][1] for m in members)
        text_n = text[:end]
        known = [False] * len(text_n)  # characters committed so far
        spent, leader = 0, 0
        while True:
            m = members[leader]
            ids, flags = segment_canvas(m, text_n, known)
            ids, flags = ids[:REGION], flags[:REGION]
            n = len(ids)
            committed = {p for p in range(n) if flags[p]} | set(range(n, REGION))
            taken = 0
            for take in commit_steps(m.conf(ids), n, policy):
                new = [p for p in take if p not in committed]
                if not new:
                    continue
                committed.update(new)
                taken += 1
                if taken == interval:
                    break
            spent += interval
            if len(committed) >= REGION:
                break
            if spent >= REGION:
                exits += 1
                break
            # relay to the other member through the bridge; keep what it keeps
            full = ids + [m.backend.pad_id] * (REGION - n)
            other = members[1 - leader]
            out, _ = translate_region(
                canvas(full, committed, m), m.backend, REGION, other.backend, rule
            )
            known = kept_mask(out, other, text_n, [True] * len(text_n))
            leader = 1 - leader
    return exits / max(len(texts), 1)


def kept_mask(out, tgt: Member, text: str, known: list[bool]) -> list[bool]:
    """The committed source characters the target canvas holds, in order: each run of committed
    target tokens is decoded and found in the text at or after the previous run, on `known`
    (committed) characters only. Runs never overlap (each search starts past the last match)."""
    mask, eos = tgt.backend.mask_id, set(tgt.backend.eos_ids)
    new = [False] * len(text)
    cursor, run = 0, []
    for t in [*out, mask]:
        if t != mask and t not in eos:
            run.append(t)
            continue
        if run:
            piece = tgt.tok.decode(
                run, skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
            at = text.find(piece, cursor)
            while at >= 0 and not all(known[at : at + len(piece)]):
                at = text.find(piece, at + 1)
            if at >= 0 and piece:
                new[at : at + len(piece)] = [True] * len(piece)
                cursor = at + len(piece)
            run = []
    return new


def table(rows: list[dict]) -> str:
    head = (
        "| setting | rule | relays | chars kept | dropped / relay | truncated / relay | "
        "round-trip mismatch | placement error (tokens) | budget exit |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        pe = "-" if r["placement_error"] is None else f"{r['placement_error']:.2f}"
        lines.append(
            f"| {r['setting']} | {r['rule']} | {r['snapshots']} | {r['chars_kept']:.1%} | "
            f"{r['dropped_per_relay']:.2f} | {r['truncated_per_relay']:.2f} | "
            f"{r['mismatch_rate']:.1%} | {pe} | {r['budget_exit_rate']:.1%} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    from tie.ensemble.registry import BRIDGES

    gaps = BRIDGES.names()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--per-file", type=int, default=6, help="generations per shard (9 shards)")
    p.add_argument("--rules", nargs="+", default=gaps, choices=gaps)
    p.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = p.parse_args(argv)
    texts = load_texts(args.per_file)
    members = make_members(texts)
    print(f"{len(texts)} texts; {members[0].name} <-> {members[1].name}", flush=True)
    rows = measure(texts, members, args.rules, SETTINGS)
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
