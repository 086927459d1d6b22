#!/usr/bin/env python3
"""Writes the synthetic fixtures of pz/orchestrator/report (deterministic).

metrics.jsonl: 30 steps of a plausible PretrainZero run on a toy model with
the collapse guards on: validity rises, the predictor gets better, the
stop-word share starts to climb and the guards (dedup, batch cap, repeat
penalty) hold it; held-out eval every 10 steps. random-span.jsonl: the
Random RLPT arm (no generator; almost every group filtered).
comparison.json: a held-out table per arm in the format of the package doc.

Run from this folder: python3 gen_metrics.py
"""
import json
import math
import random


def wilson(k, n):
    z = 1.959963984540054
    p = k / n
    c = p + z * z / (2 * n)
    d = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    return (c - d) / den, (c + d) / den


def kind(k, n):
    lo, hi = wilson(k, n)
    return {"n": n, "correct": k, "accuracy": k / n, "ci95_low": round(lo, 6),
            "ci95_high": round(hi, 6), "normalised_accuracy": k / n, "unparsed": 0}


def step_common(rng, s, mode):
    gen_s = 0 if mode != "pretrainzero" else round(2.1 + rng.random() * 0.3, 3)
    pred_s = round(3.0 + rng.random() * 0.5, 3)
    ver_s = round(0.02 + rng.random() * 0.01, 3)
    learn_s = round(4.0 + rng.random() * 0.6, 3)
    sync_s = round(0.3 + rng.random() * 0.05, 3)
    write_s = round(0.05 + rng.random() * 0.02, 3)
    total = round(gen_s + pred_s + ver_s + learn_s + sync_s + write_s, 3)
    return {"gen_seconds": gen_s, "pred_seconds": pred_s, "verify_seconds": ver_s,
            "learn_seconds": learn_s, "sync_seconds": sync_s, "write_seconds": write_s,
            "step_seconds": total}


def pretrainzero(rng):
    out = []
    spans = ["of", "the", "river", "in 1912", "population", "was born", "and", "city"]
    for s in range(1, 31):
        t = (s - 1) / 29
        proposals = 64
        valid_rate = 0.25 + 0.65 * (1 - math.exp(-4 * t)) + rng.uniform(-0.03, 0.03)
        valid = max(1, round(proposals * valid_rate))
        invalid = proposals - valid
        dup, capped = round(2 + 10 * t), round(12 * t * t)
        rest = max(0, invalid - dup - capped)
        inv = {"missing": round(rest * 0.6), "not_in_paragraph": round(rest * 0.3),
               "duplicate_in_group": dup, "repeated_in_batch": capped}
        inv["too_long"] = max(0, invalid - sum(inv.values()))
        stop_share = min(0.45, 0.1 + 0.5 * t) + rng.uniform(-0.03, 0.03)
        top = round(valid * min(0.3, 0.05 + 0.3 * t))
        distinct = max(3, round(valid * (0.9 - 0.45 * t)))
        acc = 0.15 + 0.35 * t + rng.uniform(-0.03, 0.03)
        gen_filtered = round(4 + 8 * t)
        gen_filtered = min(gen_filtered, 8)
        pred_filtered = round(valid * (0.75 - 0.25 * t))
        filt_rows = 8 * (gen_filtered + pred_filtered)
        learn_rows = 8 * 8 + valid * 8 - filt_rows
        m = {
            "step": s, "time": "2026-11-28T12:%02d:00Z" % s, "mode": "pretrainzero",
            "policy_version": s - 1,
            "rollout": {
                "generator": {"rows": 64, "groups": 8, "filtered_groups": gen_filtered,
                              "filtered_rows": 8 * gen_filtered,
                              "reward_mean": round(0.08 + 0.25 * t + rng.uniform(-0.02, 0.02), 4)},
                "predictor": {"rows": valid * 8, "groups": valid, "filtered_groups": pred_filtered,
                              "filtered_rows": pred_filtered * 8, "reward_mean": round(acc, 4)},
                "proposals": proposals, "valid_masks": valid,
                "invalid_rate": round(invalid / proposals, 4), "invalid_by_reason": inv,
                "accuracy_hist": {"0/8": valid // 3, "8/8": valid // 5},
                "strict_accuracy": round(acc, 4), "normalised_accuracy": round(acc + 0.03, 4),
                "unparsed_answers": 1,
                "stop_word_spans": round(valid * stop_share), "stop_word_share": round(stop_share, 4),
                "distinct_spans": distinct,
                "top_spans": [{"span": spans[i], "count": max(1, top - 2 * i)} for i in range(5)],
                "mask_words_mean": round(1.9 - 0.6 * t + rng.uniform(-0.05, 0.05), 3),
                "mask_tokens_mean": round(3.4 - 1.1 * t + rng.uniform(-0.1, 0.1), 3),
                "guards": {"duplicates_in_group": dup, "batch_capped": capped,
                           "penalised": round(6 * t), "stop_words_only_rejected": 0,
                           "too_long_rejected": 1},
            },
            "gen_response_length": round(5.2 - 1.5 * t + rng.uniform(-0.2, 0.2), 3),
            "pred_response_length": round(4.1 - 0.8 * t + rng.uniform(-0.2, 0.2), 3),
            "learn": {"step": s, "lr": 1e-4, "loss": round(rng.uniform(-0.05, 0.05) + 0.02 * (1 - t), 5),
                      "pg_loss": round(rng.uniform(-0.05, 0.05), 5),
                      "clip_frac": round(0.02 + 0.04 * t + rng.uniform(0, 0.01), 4),
                      "approx_kl": round(0.001 + 0.004 * t, 5),
                      "grad_norm": round(0.8 + 0.6 * math.sin(s / 3) ** 2 + rng.random() * 0.2, 4),
                      "mismatch": round(1.0 + 0.002 + rng.random() * 0.003, 5),
                      "tokens": 3000 + 40 * s, "sequences": learn_rows, "micro_batches": 4,
                      "seconds": 4.2, "tokens_per_s": 750},
            "learn_rows": learn_rows, "filtered_rows": filt_rows,
            "sampled_tokens": 4200, "sampled_tokens_per_s": round(780 + 120 * t + rng.uniform(-30, 30), 1),
            "train_tokens_per_s": round(700 + rng.uniform(-40, 40), 1), "completions": 64 + valid * 8,
        }
        m.update(step_common(rng, s, "pretrainzero"))
        if s % 10 == 0:
            n = 200
            m["eval"] = {"kinds": {"single": kind(round(n * (0.05 + 0.012 * s / 3)), n),
                                   "multi": kind(round(n * (0.015 + 0.003 * s / 3)), n),
                                   "content": kind(round(n * 0.002 * s / 3), n)}}
        out.append(m)
    return out


def random_span(rng):
    out = []
    for s in range(1, 31):
        acc = 0.012 + rng.uniform(0, 0.01)
        groups = 16
        pf = 16 if rng.random() < 0.7 else 15
        m = {
            "step": s, "time": "2026-11-28T13:%02d:00Z" % s, "mode": "random-span", "policy_version": s - 1,
            "rollout": {
                "generator": {"rows": 0, "groups": 0, "filtered_groups": 0, "filtered_rows": 0, "reward_mean": 0},
                "predictor": {"rows": groups * 8, "groups": groups, "filtered_groups": pf,
                              "filtered_rows": pf * 8, "reward_mean": round(acc, 4)},
                "proposals": 0, "valid_masks": groups, "invalid_rate": 0, "invalid_by_reason": {},
                "strict_accuracy": round(acc, 4), "normalised_accuracy": round(acc + 0.005, 4),
                "stop_word_spans": 5, "stop_word_share": round(5 / 16, 4), "distinct_spans": 16,
                "top_spans": [{"span": w, "count": 1} for w in ["the first", "album", "of the", "was", "in"]],
                "mask_words_mean": 2.0, "mask_tokens_mean": 3.6, "guards": {},
            },
            "gen_response_length": 0,
            "pred_response_length": round(6.0 + rng.uniform(-0.3, 0.3), 3),
            "learn": {"step": s, "lr": 1e-4, "loss": 0 if pf == 16 else round(rng.uniform(-0.02, 0.02), 5),
                      "pg_loss": 0, "clip_frac": 0 if pf == 16 else 0.01, "approx_kl": 0,
                      "grad_norm": 0 if pf == 16 else round(0.5 + rng.random() * 0.2, 4),
                      "mismatch": 1.001, "tokens": 0 if pf == 16 else 180, "sequences": 0 if pf == 16 else 8,
                      "micro_batches": 1, "seconds": 0.3, "tokens_per_s": 600},
            "learn_rows": (groups - pf) * 8, "filtered_rows": pf * 8,
            "sampled_tokens": 800, "sampled_tokens_per_s": round(260 + rng.uniform(-20, 20), 1),
            "train_tokens_per_s": 0 if pf == 16 else 600, "completions": groups * 8,
        }
        if pf == 16:
            m["learn"]["skipped"] = "every group filtered"
        m.update(step_common(rng, s, "random-span"))
        if s % 10 == 0:
            m["eval"] = {"kinds": {"single": kind(10 + s // 10 % 2, 200), "multi": kind(3, 200),
                                   "content": kind(0, 200)}}
        out.append(m)
    return out


def main():
    rng = random.Random(7)
    with open("metrics.jsonl", "w") as f:
        for m in pretrainzero(rng):
            f.write(json.dumps(m) + "\n")
    with open("random-span.jsonl", "w") as f:
        for m in random_span(rng):
            f.write(json.dumps(m) + "\n")
    comp = {"title": "held-out exact match after the demo (synthetic)",
            "note": "greedy decoding, 200 questions per kind",
            "arms": [{"name": "base", "kinds": {"single": kind(10, 200), "multi": kind(3, 200), "content": kind(0, 200)}},
                     {"name": "random-span", "kinds": {"single": kind(11, 200), "multi": kind(3, 200), "content": kind(0, 200)}},
                     {"name": "pretrainzero", "kinds": {"single": kind(34, 200), "multi": kind(9, 200), "content": kind(4, 200)}}]}
    with open("comparison.json", "w") as f:
        json.dump(comp, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
