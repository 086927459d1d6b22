// Package data turns raw text corpora into PretrainZero training passages:
// it reads, splits, normalises, filters, deduplicates, shards and orders
// them, and samples the baselines' spans. It knows nothing of models:
// token budgets take a TokenCounter from the caller.
//
// # Reading
//
// ExpandInputs turns files, directories and globs into a sorted file list;
// ReadDocuments streams their records (Document) with bounded memory:
// Parquet (parquet-go, row group by row group, page by page, columns named
// by Fields), JSONL (one object per line, Fields names the text/title/id
// keys) and plain text (blank-line separated paragraphs of one document per
// file), each optionally .gz or .zst compressed. A record over
// ReadOptions.MaxDocBytes is skipped without being buffered and counted.
//
// # Passages
//
// Process splits each document's text into blank-line separated
// paragraphs, drops markup/list/table/reference/boilerplate residue,
// normalises (NFC, whitespace collapsed; Normalize) and fits each
// paragraph into the budget (BudgetOptions: characters, or tokens with a
// TokenCounter): longer ones are split at sentence ends, shorter ones are
// dropped (or packed with Pack). It then applies the quality filters
// (FilterOptions), exact dedup (Hash64 of the lower-cased text) and,
// optionally, MinHash/LSH near dedup. Every drop is counted in
// Stats.Drops under one of the Drop* reasons. A passage's ID is
// "<doc id>#<paragraph index>" (+ ".<piece>" when a paragraph was split).
//
// # Sharding, held out, order
//
// All deterministic choices use Hash64, 64-bit FNV-1a:
//
//   - shard of a passage among N: Hash64(id) mod N ("--shard i/N", ShardSpec);
//   - held out: Hash64("heldout:" + document key) / 2^64 < fraction
//     (IsHeldout), so a document is wholly on one side;
//   - epoch e's order: a Fisher-Yates shuffle driven by PCG(seed, e).
//
// Prepare writes the train passages as zstd Parquet shards
// passages-<i>-of-<N>.parquet (columns id, doc_id, title, text, index,
// n_chars, n_tokens), the held-out side as heldout.parquet, and stats.json,
// all atomically (temporary name, rename).
//
// Open reads "a data path" (a prepared directory, a directory with
// heldout.* files such as data/sample, or raw files/globs) for one
// ShardSpec and split, and returns a Stream whose Next yields passages in
// per-epoch shuffled order. Its Cursor (JSON) is saved with checkpoints;
// Resume continues exactly after the last passage returned. A Stream holds
// its shard's passages in memory (about 1.3x their text), so at scale give
// each worker a shard (--shard i/N) that fits; Prepare and the readers
// themselves stream with memory independent of the corpus size, except
// for the dedup sets (11-21 bytes per kept passage, 8 times that more with
// near dedup).
//
// # Spans for the baselines
//
// RandomWordSpan (SpanBERT geometric length, word aligned), RandomTruncation
// (random next-token) and EntropyPosition (top 20% entropy positions, from
// caller-supplied entropies) implement METHOD.md §2.4's baselines with an
// explicit *rand.Rand.
//
// Long operations report to a Progress; the package never prints.
package data
