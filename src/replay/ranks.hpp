#pragma once
// A replay spread over ranks (replay-internal; format_spec/dump_layout.md, "Replay on MPI"): the
// learners in contiguous blocks, the layout rank 0 reads shared with the others, each rank's
// learners' streams and figures sent to every rank, and the per-rank figures gathered.
#include <cstdint>
#include <vector>

#include "adacomp/collective.hpp"
#include "adacomp/replay.hpp"
#include "replay/dump.hpp"
#include "replay/exchange.hpp"

namespace adacomp::replay_detail {

struct LearnerBlock {
  std::size_t first = 0, last = 0;  // learners [first, last)
};

// Every rank's part of the dump (discover with local_part) made into the whole: each step's
// learner files are those all ranks have together, learners 0..n-1 without gaps, n the same in
// every step, every learner's file of one name on every rank that has it; init, final and
// meta.json on every rank or none. `local` keeps which learner files this rank itself has.
// Throws Error(invalid_input) naming what is missing or differs (the same on every rank).
void merge_learner_files(Collective& world, Dump& dump, std::vector<std::vector<bool>>& local);

// Throws Error(invalid_input) naming the first file of this rank's block it does not have.
void check_own_files(const Dump& dump, const std::vector<std::vector<bool>>& local, const LearnerBlock& own,
                     std::size_t rank);

// Rank r's learners of `learners`: a contiguous block, the blocks in rank order.
LearnerBlock learner_block(std::size_t learners, std::size_t ranks, std::size_t rank);

// The layout (names, dtypes, shapes) as bytes, and back; rank 0 sends it to the others.
std::vector<std::byte> layout_bytes(const std::vector<Tensor>& layout);
std::vector<Tensor> layout_from_bytes(std::span<const std::byte> bytes);

// Each rank's learners' streams and figures to every rank: after it, outputs[l] of every learner
// holds its decoded tensors, frames, stream size, residue norms and times (a learner of another
// rank has no gradients). The own learners' streams are released. Decoding errors are thrown.
void share_learners(Collective& world, const std::vector<LearnerBlock>& blocks, const ReplayOptions& options,
                    std::uint64_t step, std::vector<LearnerOutput>& outputs, double& exchange_seconds,
                    double& decode_seconds);

// Every rank's figures, in rank order.
std::vector<RankFigures> gather_rank_figures(Collective& world, const RankFigures& mine);

// The weights' 64-bit hash per tensor; Error(internal) naming the first tensor on which any two
// ranks differ (they compute the same updates, so a difference is a bug), after `when`.
void check_weights_agree(Collective& world, const std::vector<Tensor>& weights, const std::string& when);

// This process's peak resident set so far, in bytes.
std::uint64_t peak_rss_bytes();

}  // namespace adacomp::replay_detail
